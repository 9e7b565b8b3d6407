//! Who a service is for: an age range, genders, and the facets a filter can rely on.

use serde::{Deserialize, Serialize};

use super::{FieldError, path};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    Nonbinary,
}

impl Gender {
    pub const ALL: [Gender; 3] = [Gender::Female, Gender::Male, Gender::Nonbinary];

    pub fn code(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Nonbinary => "nonbinary",
        }
    }

    pub fn from_code(code: &str) -> Option<Gender> {
        Gender::ALL.into_iter().find(|g| g.code() == code)
    }
}

/// A yes/no property of a service that a search can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Facet {
    AcceptsUnaccompaniedMinors,
    TraffickingSpecialized,
    DvSpecialized,
    LgbtqAffirming,
    NoIdRequired,
    NoImmigrationStatusRequired,
    NoLawEnforcementRequired,
    AcceptsChildren,
    AcceptsPets,
    WheelchairAccessible,
}

/// The codes a search's `require` takes, from [`Facet::ALL`].
impl utoipa::PartialSchema for Facet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(Facet::ALL.map(Facet::code)))
            .into()
    }
}

impl utoipa::ToSchema for Facet {}

impl Facet {
    pub const ALL: [Facet; 10] = [
        Facet::AcceptsUnaccompaniedMinors,
        Facet::TraffickingSpecialized,
        Facet::DvSpecialized,
        Facet::LgbtqAffirming,
        Facet::NoIdRequired,
        Facet::NoImmigrationStatusRequired,
        Facet::NoLawEnforcementRequired,
        Facet::AcceptsChildren,
        Facet::AcceptsPets,
        Facet::WheelchairAccessible,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Facet::AcceptsUnaccompaniedMinors => "accepts_unaccompanied_minors",
            Facet::TraffickingSpecialized => "trafficking_specialized",
            Facet::DvSpecialized => "dv_specialized",
            Facet::LgbtqAffirming => "lgbtq_affirming",
            Facet::NoIdRequired => "no_id_required",
            Facet::NoImmigrationStatusRequired => "no_immigration_status_required",
            Facet::NoLawEnforcementRequired => "no_law_enforcement_required",
            Facet::AcceptsChildren => "accepts_children",
            Facet::AcceptsPets => "accepts_pets",
            Facet::WheelchairAccessible => "wheelchair_accessible",
        }
    }

    /// The facet in plain words, "no ID required" for `no_id_required`: how reasons and the
    /// console name it.
    pub fn words(self) -> &'static str {
        match self {
            Facet::AcceptsUnaccompaniedMinors => "accepts unaccompanied minors",
            Facet::TraffickingSpecialized => "specializes in trafficking",
            Facet::DvSpecialized => "specializes in domestic violence",
            Facet::LgbtqAffirming => "LGBTQ+ affirming",
            Facet::NoIdRequired => "no ID required",
            Facet::NoImmigrationStatusRequired => "no immigration status required",
            Facet::NoLawEnforcementRequired => "no police involvement required",
            Facet::AcceptsChildren => "accepts children",
            Facet::AcceptsPets => "accepts pets",
            Facet::WheelchairAccessible => "wheelchair accessible",
        }
    }

    pub fn from_code(code: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// The `eligibility` object as clients send it. Facets left out mean "not offered".
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityInput {
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    #[serde(default)]
    pub genders: Vec<String>,
    #[serde(default)]
    pub accepts_unaccompanied_minors: bool,
    #[serde(default)]
    pub trafficking_specialized: bool,
    #[serde(default)]
    pub dv_specialized: bool,
    #[serde(default)]
    pub lgbtq_affirming: bool,
    #[serde(default)]
    pub no_id_required: bool,
    #[serde(default)]
    pub no_immigration_status_required: bool,
    #[serde(default)]
    pub no_law_enforcement_required: bool,
    #[serde(default)]
    pub accepts_children: bool,
    #[serde(default)]
    pub accepts_pets: bool,
    #[serde(default)]
    pub wheelchair_accessible: bool,
}

/// Parsed eligibility; also the shape of `eligibility` in responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Eligibility {
    pub min_age: Option<u8>,
    pub max_age: Option<u8>,
    /// Empty means every gender.
    pub genders: Vec<Gender>,
    pub accepts_unaccompanied_minors: bool,
    pub trafficking_specialized: bool,
    pub dv_specialized: bool,
    pub lgbtq_affirming: bool,
    pub no_id_required: bool,
    pub no_immigration_status_required: bool,
    pub no_law_enforcement_required: bool,
    pub accepts_children: bool,
    pub accepts_pets: bool,
    pub wheelchair_accessible: bool,
}

/// Oldest age a record may name; beyond it an age is a typo.
const MAX_AGE: i64 = 130;

impl Eligibility {
    pub fn parse(input: EligibilityInput, field: &str) -> Result<Self, FieldError> {
        let age = |value: Option<i64>, name: &str| -> Result<Option<u8>, FieldError> {
            match value {
                None => Ok(None),
                Some(a) if (0..=MAX_AGE).contains(&a) => Ok(u8::try_from(a).ok()),
                Some(_) => Err(FieldError::invalid(
                    path(field, name),
                    format!("must be an age between 0 and {MAX_AGE}"),
                )),
            }
        };
        let min_age = age(input.min_age, "min_age")?;
        let max_age = age(input.max_age, "max_age")?;
        if let (Some(min), Some(max)) = (min_age, max_age)
            && min > max
        {
            return Err(FieldError::invalid(
                path(field, "max_age"),
                "must not be below min_age",
            ));
        }
        let mut genders = Vec::new();
        for (i, code) in input.genders.iter().enumerate() {
            let gender = Gender::from_code(code).ok_or_else(|| {
                FieldError::invalid(
                    format!("{}[{i}]", path(field, "genders")),
                    "unknown gender; use female, male or nonbinary (or leave genders empty for everyone)",
                )
            })?;
            if !genders.contains(&gender) {
                genders.push(gender);
            }
        }
        genders.sort();
        Ok(Eligibility {
            min_age,
            max_age,
            genders,
            accepts_unaccompanied_minors: input.accepts_unaccompanied_minors,
            trafficking_specialized: input.trafficking_specialized,
            dv_specialized: input.dv_specialized,
            lgbtq_affirming: input.lgbtq_affirming,
            no_id_required: input.no_id_required,
            no_immigration_status_required: input.no_immigration_status_required,
            no_law_enforcement_required: input.no_law_enforcement_required,
            accepts_children: input.accepts_children,
            accepts_pets: input.accepts_pets,
            wheelchair_accessible: input.wheelchair_accessible,
        })
    }

    pub fn has(&self, facet: Facet) -> bool {
        match facet {
            Facet::AcceptsUnaccompaniedMinors => self.accepts_unaccompanied_minors,
            Facet::TraffickingSpecialized => self.trafficking_specialized,
            Facet::DvSpecialized => self.dv_specialized,
            Facet::LgbtqAffirming => self.lgbtq_affirming,
            Facet::NoIdRequired => self.no_id_required,
            Facet::NoImmigrationStatusRequired => self.no_immigration_status_required,
            Facet::NoLawEnforcementRequired => self.no_law_enforcement_required,
            Facet::AcceptsChildren => self.accepts_children,
            Facet::AcceptsPets => self.accepts_pets,
            Facet::WheelchairAccessible => self.wheelchair_accessible,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_facet_has_its_own_words() {
        let mut words = std::collections::HashSet::new();
        for (i, facet) in Facet::ALL.into_iter().enumerate() {
            assert_eq!(facet as usize, i, "{facet:?} is out of order in ALL");
            assert!(words.insert(facet.words()), "{facet:?}");
            assert!(!facet.words().contains('_'), "{facet:?}");
        }
        assert_eq!(Facet::NoIdRequired.words(), "no ID required");
    }

    #[test]
    fn age_range_is_checked() {
        let input = EligibilityInput {
            min_age: Some(18),
            max_age: Some(12),
            ..Default::default()
        };
        assert_eq!(
            Eligibility::parse(input, "eligibility").unwrap_err().field,
            "eligibility.max_age"
        );
        let input = EligibilityInput {
            min_age: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            Eligibility::parse(input, "eligibility").unwrap_err().field,
            "eligibility.min_age"
        );
    }

    #[test]
    fn facet_codes_round_trip() {
        for facet in Facet::ALL {
            assert_eq!(Facet::from_code(facet.code()), Some(facet));
        }
    }
}

//! Services: what an organization offers, to whom, where, when and how to reach it.

use std::fmt;

use chrono::{DateTime, Utc};
use geo::Centroid;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::coordinates::{CoordinatesInput, haversine_km};
use super::coverage::{AreaGeometry, Coverage};
use super::eligibility::{Eligibility, EligibilityInput};
use super::language::{LanguageCode, parse_languages};
use super::need::parse_needs;
use super::phone::{Phone, PhoneInput};
use super::schedule::{Schedule, ScheduleInput};
use super::{Coordinates, FieldError, Need, optional_line, optional_text, required_text};
use crate::boundaries::{Boundaries, RegionKind};
use crate::json::Strict;
use crate::zips::five_digits;

const MAX_COVERAGE_ENTRIES: usize = 50;
const MAX_PHONES: usize = 20;
const MAX_SCHEDULES: usize = 50;
const MAX_CAPACITY: i64 = 100_000;

/// The body of `POST /api/v1/services` and `PUT /api/v1/services/{id}`, and one line of an
/// import file.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Vec<crate::domain::Need>, min_items = 1)]
    pub needs: Vec<String>,
    #[serde(default)]
    pub eligibility: EligibilityInput,
    #[serde(default)]
    #[schema(value_type = Vec<crate::domain::language::LanguageCode>)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    pub location: Option<LocationInput>,
    #[schema(schema_with = crate::openapi::coverage_list)]
    pub coverage: Vec<Strict>,
    #[serde(default)]
    pub schedules: Vec<ScheduleInput>,
    pub capacity: Option<CapacityInput>,
    #[serde(default, deserialize_with = "rfc3339")]
    pub verified_at: Option<DateTime<Utc>>,
    /// Left out or null: a new service is active; a replacement keeps the stored status, so
    /// that a writer that does not know it cannot open a closed place again by accident.
    pub status: Option<ServiceStatus>,
}

/// Whether a service is offered now (HSDS 3.0 `service.status`; its "defunct" is a deletion
/// here). Only an active service is matched: the others stay in the directory, for their
/// staff and the maintainers, until they are opened again or deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    #[default]
    Active,
    /// Closed for now (a flood, repairs, a season) and expected to open again. HSDS spells
    /// it "temporarily closed", which is taken too.
    #[serde(alias = "temporarily closed")]
    TemporarilyClosed,
    /// No longer offered, kept on record.
    Inactive,
}

impl ServiceStatus {
    pub const ALL: [ServiceStatus; 3] = [
        ServiceStatus::Active,
        ServiceStatus::TemporarilyClosed,
        ServiceStatus::Inactive,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ServiceStatus::Active => "active",
            ServiceStatus::TemporarilyClosed => "temporarily_closed",
            ServiceStatus::Inactive => "inactive",
        }
    }

    pub fn from_code(code: &str) -> Option<ServiceStatus> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// A stored status: the column's CHECK allows only the codes a status has.
    pub fn from_stored(code: &str) -> ServiceStatus {
        Self::from_code(code).unwrap_or_default()
    }

    /// Whether searches may send people to it.
    pub fn is_offered(self) -> bool {
        self == ServiceStatus::Active
    }

    /// How the console names it.
    pub fn label(self) -> &'static str {
        match self {
            ServiceStatus::Active => "Open",
            ServiceStatus::TemporarilyClosed => "Temporarily closed",
            ServiceStatus::Inactive => "No longer offered",
        }
    }
}

/// A `PUT` body that may be a service as read (`GET`), changed and sent back: the members
/// only a read has (`id`, which must be this service's, `demo`, `created_at`, `updated_at`,
/// `capacity.reported_at`) are set aside, and a confidential location as read (no
/// coordinates: a read never shows them) means the stored one, kept. What is left is read as
/// a [`ServiceInput`]. Returns it and, when the location was such a stored one, the front
/// door it showed, which must still be the stored one's.
pub fn input_from_read(
    mut body: Value,
    id: Uuid,
) -> Result<(ServiceInput, Option<FrontDoor>), FieldError> {
    if let Value::Object(members) = &mut body
        && let Some(given) = members.remove("id")
        && given.as_str().and_then(|s| Uuid::parse_str(s).ok()) != Some(id)
    {
        return Err(FieldError::invalid(
            "id",
            "is the id of the service in the path, if given: a service's id cannot change",
        ));
    }
    let as_read = set_aside_what_a_read_adds(&mut body)?;
    Ok((super::coverage::from_value(body, "")?, as_read))
}

/// Takes from a service as read (its `id` aside) the members only a read has (`demo`,
/// `created_at`, `updated_at`, `capacity.reported_at`) and a confidential location as read,
/// whose front door it returns: what a replacement by `PUT` or by an import line with an id
/// sets aside.
pub fn set_aside_what_a_read_adds(body: &mut Value) -> Result<Option<FrontDoor>, FieldError> {
    let Value::Object(members) = body else {
        return Ok(None);
    };
    for read_only in ["demo", "created_at", "updated_at"] {
        members.remove(read_only);
    }
    if let Some(Value::Object(capacity)) = members.get_mut("capacity") {
        capacity.remove("reported_at");
    }
    let as_read = members
        .get("location")
        .filter(|l| {
            l.get("confidential") == Some(&Value::Bool(true))
                && l.get("lat").is_none()
                && l.get("lon").is_none()
        })
        .map(FrontDoor::as_read)
        .transpose()?;
    if as_read.is_some() {
        members.remove("location");
    }
    Ok(as_read)
}

/// The parts of a confidential location's address that are not sealed, which reads show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrontDoor {
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
}

/// What a confidential location sent as read may not do: change its address without its
/// coordinates (which a read never shows), so that the change would be thrown away.
const SEALED_ADDRESS_MOVES_WITH_ITS_COORDINATES: &str = "is required to change a confidential location: its address changes only with its coordinates (a read never shows them, so a location sent as read stands for the one stored, unchanged)";

impl FrontDoor {
    /// The front door a location sent as read shows; refused if it names a street or postal
    /// code, which only the sealed part holds.
    fn as_read(location: &Value) -> Result<FrontDoor, FieldError> {
        let address = location.get("address");
        let part = |name: &str| {
            address
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if part("street").is_some() || part("postal_code").is_some() {
            return Err(FieldError::invalid(
                "location.lat",
                SEALED_ADDRESS_MOVES_WITH_ITS_COORDINATES,
            ));
        }
        Ok(FrontDoor {
            city: part("city"),
            region: part("region"),
            country: part("country"),
        })
    }

    /// Refuses a front door sent as read that is not the stored one's (`stored`).
    pub fn is_unchanged(&self, stored: &FrontDoor) -> Result<(), FieldError> {
        if self == stored {
            return Ok(());
        }
        Err(FieldError::invalid(
            "location.lat",
            SEALED_ADDRESS_MOVES_WITH_ITS_COORDINATES,
        ))
    }
}

/// A date and time as RFC 3339 requires, with a message that says so (chrono's own, such as
/// "premature end of input", does not say what was expected).
fn rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            serde::de::Error::custom(
                "must be a date and time in RFC 3339 form, with its offset: 2026-10-01T12:00:00Z",
            )
        })
}

#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    pub lat: f64,
    pub lon: f64,
    pub address: Option<AddressInput>,
    /// Required: a location whose confidentiality was left out must not default to public.
    #[schema(value_type = bool)]
    pub confidential: Option<bool>,
}

#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityInput {
    pub available: i64,
    pub total: i64,
}

/// A validated service, ready to be written.
#[derive(Debug, Clone)]
pub struct NewService {
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub needs: Vec<Need>,
    pub eligibility: Eligibility,
    pub languages: Vec<LanguageCode>,
    pub phones: Vec<Phone>,
    pub location: Option<Location>,
    pub coverage: Vec<Coverage>,
    pub schedules: Vec<Schedule>,
    pub capacity: Option<Capacity>,
    pub verified_at: Option<DateTime<Utc>>,
    /// None: active when new, as stored when replacing.
    pub status: Option<ServiceStatus>,
}

impl NewService {
    /// Whether writing it seals an address (a confidential location sent).
    pub fn seals(&self) -> bool {
        self.location.as_ref().is_some_and(|l| l.confidential)
    }
}

/// Where a service is. A confidential location's street, postal code and coordinates are
/// sealed before they are stored and never shown in lists or matches; `Debug` hides them.
#[derive(Clone, PartialEq)]
pub struct Location {
    pub coordinates: Coordinates,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    /// City, region and country: the public "front door" even for confidential sites.
    pub city: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub confidential: bool,
}

// A site as sent: coordinates and street may be a confidential address (SAFETY.md rule 14).
impl fmt::Debug for LocationInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocationInput")
            .field("confidential", &self.confidential)
            .field("address", &"[redacted]")
            .finish()
    }
}

impl fmt::Debug for AddressInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AddressInput([redacted])")
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Location")
            .field("confidential", &self.confidential)
            .field("address", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub available: i32,
    pub total: i32,
}

fn limited<T>(items: Vec<T>, max: usize, field: &str) -> Result<Vec<T>, FieldError> {
    if items.len() > max {
        Err(FieldError::invalid(field, format!("at most {max} entries")))
    } else {
        Ok(items)
    }
}

impl Location {
    fn parse(input: LocationInput, boundaries: &Boundaries) -> Result<Self, FieldError> {
        let coordinates = Coordinates::parse(
            CoordinatesInput {
                lat: input.lat,
                lon: input.lon,
            },
            "location",
        )?;
        // Failing closed would hide a public address, failing open would show a shelter's:
        // neither is a default to guess, so the sender says which.
        let confidential = input.confidential.ok_or_else(|| {
            FieldError::invalid(
                "location.confidential",
                "say whether this location is confidential (true: its address and coordinates stay sealed, as a shelter's must) or public (false)",
            )
        })?;
        let address = input.address.unwrap_or_default();
        let text = |v: Option<String>, name: &str, max: usize| {
            optional_line(v, &format!("location.address.{name}"), max)
        };
        Ok(Location {
            coordinates,
            street: text(address.street, "street", 200)?,
            postal_code: us_zip(text(address.postal_code, "postal_code", 20)?)?,
            city: text(address.city, "city", 100)?,
            region: us_state(text(address.region, "region", 100)?, boundaries)?,
            country: us_only(text(address.country, "country", 100)?, boundaries)?,
            confidential,
        })
    }
}

// Haven's places (ZIP codes, states, counties, national coverage) are US ones, and so are
// the addresses it keeps: each member is checked as such, as coverage and searches are.

fn us_zip(zip: Option<String>) -> Result<Option<String>, FieldError> {
    if zip.as_deref().is_some_and(|zip| five_digits(zip).is_none()) {
        return Err(FieldError::invalid(
            "location.address.postal_code",
            "a US ZIP code is five digits (or ZIP+4: five digits, a dash and four)",
        ));
    }
    Ok(zip)
}

fn us_state(region: Option<String>, boundaries: &Boundaries) -> Result<Option<String>, FieldError> {
    let Some(region) = region else {
        return Ok(None);
    };
    let code = region.to_ascii_uppercase();
    match boundaries.get(&format!("US-{code}")) {
        Some(state) if code.len() == 2 && state.kind == RegionKind::State => Ok(Some(code)),
        _ => Err(FieldError::new(
            "unknown_region",
            "location.address.region",
            "give the state as its two-letter USPS code, such as TX",
        )),
    }
}

fn us_only(country: Option<String>, boundaries: &Boundaries) -> Result<Option<String>, FieldError> {
    let Some(country) = country else {
        return Ok(None);
    };
    let code = country.to_ascii_uppercase();
    match boundaries.nation(&code) {
        Some(_) => Ok(Some(code)),
        None => Err(FieldError::new(
            "unknown_country",
            "location.address.country",
            "only US addresses are kept: give US, or leave it out",
        )),
    }
}

impl Capacity {
    /// `prefix` names where the members sit in the body: `"capacity."` or `""`.
    pub fn parse(input: CapacityInput, prefix: &str) -> Result<Self, FieldError> {
        if !(0..=MAX_CAPACITY).contains(&input.total) {
            return Err(FieldError::invalid(
                format!("{prefix}total"),
                format!("must be between 0 and {MAX_CAPACITY}"),
            ));
        }
        if !(0..=input.total).contains(&input.available) {
            return Err(FieldError::invalid(
                format!("{prefix}available"),
                format!("must be between 0 and {prefix}total"),
            ));
        }
        Ok(Capacity {
            available: i32::try_from(input.available).unwrap_or(0),
            total: i32::try_from(input.total).unwrap_or(0),
        })
    }
}

impl NewService {
    /// Checks every member; the first problem found is returned with where it is.
    pub fn parse(
        input: ServiceInput,
        boundaries: &Boundaries,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        let name = required_text(input.name, "name", 200)?;
        let description = optional_text(input.description, "description", 4000)?;
        let needs = parse_needs(&input.needs, "needs")?;
        let eligibility = Eligibility::parse(input.eligibility, "eligibility")?;
        let languages = parse_languages(&input.languages, "languages")?;
        let phones = parse_phones(input.phones)?;
        let location = input
            .location
            .map(|location| Location::parse(location, boundaries))
            .transpose()?;
        if input.coverage.is_empty() {
            return Err(FieldError::invalid(
                "coverage",
                "give at least one coverage entry (radius, area, region or national): it says whom the service serves",
            ));
        }
        let coverage = limited(input.coverage, MAX_COVERAGE_ENTRIES, "coverage")?
            .into_iter()
            .enumerate()
            .map(|(i, c)| Coverage::parse(c.0, &format!("coverage[{i}]"), boundaries))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(site) = location.as_ref().filter(|l| l.confidential) {
            keeps_site_hidden(&coverage, site.coordinates)?;
            has_front_door(&phones)?;
        }
        let schedules = parse_schedules(input.schedules)?;
        let capacity = input
            .capacity
            .map(|c| Capacity::parse(c, "capacity."))
            .transpose()?;
        if let Some(verified_at) = input.verified_at
            && verified_at > now + chrono::Duration::minutes(5)
        {
            return Err(FieldError::invalid(
                "verified_at",
                "must not be in the future",
            ));
        }
        // A listing checked before there were such directories is a mistyped date (0000-01-01,
        // 1970-01-01 from a zero timestamp), and pages would show it as checked long ago.
        if let Some(verified_at) = input.verified_at
            && chrono::Datelike::year(&verified_at) < 2000
        {
            return Err(FieldError::invalid(
                "verified_at",
                "must be in 2000 or later: the date the listing was last checked",
            ));
        }
        Ok(NewService {
            organization_id: input.organization_id,
            name,
            description,
            needs,
            eligibility,
            languages,
            phones,
            location,
            coverage,
            schedules,
            capacity,
            verified_at: input.verified_at,
            status: input.status,
        })
    }
}

/// A service at a confidential location is reached through its front door, an intake phone
/// or text line (SAFETY.md rule 2): without one, a survivor who finds it cannot reach it.
pub fn has_front_door<T>(phones: &[T]) -> Result<(), FieldError> {
    if phones.is_empty() {
        return Err(FieldError::invalid(
            "phones",
            "a service at a confidential location needs at least one intake phone or text line: it is how people reach it",
        ));
    }
    Ok(())
}

/// What only directory maintainers write, in a provider's `POST` or `PUT`: national coverage,
/// which lists a service with the crisis lines beside every search in the country, and
/// `verified_at`, the maintainers' word that a listing was checked. A provider's write may
/// keep what is stored (`stored`, `stored_verified_at`) or leave it out.
pub fn keeps_maintainers_part(
    new: &NewService,
    stored: &[Coverage],
    stored_verified_at: Option<DateTime<Utc>>,
) -> Result<(), FieldError> {
    const MAINTAINERS_ONLY: &str = "maintainers_only";
    let national = new
        .coverage
        .iter()
        .position(|entry| matches!(entry, Coverage::National { .. }) && !stored.contains(entry));
    if let Some(i) = national {
        return Err(FieldError::new(
            MAINTAINERS_ONLY,
            format!("coverage[{i}]"),
            "only directory maintainers give a service national coverage, since a national service is listed beside every search in the country: use region, radius or area coverage, or ask them",
        ));
    }
    if new.verified_at.is_some() && new.verified_at != stored_verified_at {
        return Err(FieldError::new(
            MAINTAINERS_ONLY,
            "verified_at",
            "only directory maintainers verify a listing: leave verified_at out, or send it as stored",
        ));
    }
    Ok(())
}

/// A sealed site kept by a write that does not send it stays with the organization whose
/// staff may reveal it (SAFETY.md rule 3): moved to another organization without a word, it
/// would be opened to that organization's staff.
pub fn stays_with_its_staff(stored: Uuid, new: Uuid) -> Result<(), FieldError> {
    if stored == new {
        return Ok(());
    }
    Err(FieldError::invalid(
        "organization_id",
        "this service is at a confidential location, which only its own organization's staff may reveal: to move it to another organization, send its location too (the new organization's staff will then be able to reveal it)",
    ))
}

/// How far from a confidential site the middle of its radius or area coverage must be.
/// Whether a service comes back for a point shows where its circle or area is, to within a
/// grid cell, and so its middle (SAFETY.md rules 2 and 3): coverage drawn around the site
/// would show the site.
pub const CONFIDENTIAL_CENTRE_KM: f64 = 5.0;
/// The refusal of coverage that would show where a confidential site is.
pub const REVEALS_CONFIDENTIAL_LOCATION: &str = "reveals_confidential_location";

/// Refuses radius coverage centred on or near a confidential site, and area coverage (each
/// part of a MultiPolygon on its own) whose centroid is.
pub fn keeps_site_hidden(coverage: &[Coverage], site: Coordinates) -> Result<(), FieldError> {
    let near = |point: Coordinates| haversine_km(point, site) < CONFIDENTIAL_CENTRE_KM;
    for (i, entry) in coverage.iter().enumerate() {
        let revealing = match entry {
            Coverage::Radius { center, .. } => near(*center).then(|| {
                (
                    format!("coverage[{i}].center"),
                    "is",
                    "centre the radius on the area served (a town or county centre at least that far away) or use region coverage",
                )
            }),
            Coverage::Area { geometry } => geometry
                .parts()
                .iter()
                .position(|part| {
                    part.centroid()
                        .and_then(Coordinates::from_point)
                        .is_some_and(near)
                })
                .map(|k| {
                    let part = match geometry {
                        AreaGeometry::Polygon(_) => String::new(),
                        AreaGeometry::MultiPolygon(_) => format!(".coordinates[{k}]"),
                    };
                    (
                        format!("coverage[{i}].geometry{part}"),
                        "has its centroid",
                        "draw the area served so that its middle is at least that far away, or use region coverage",
                    )
                }),
            Coverage::Region { .. } | Coverage::National { .. } => None,
        };
        if let Some((field, what, advice)) = revealing {
            return Err(FieldError::new(
                REVEALS_CONFIDENTIAL_LOCATION,
                field,
                format!(
                    "{what} within {CONFIDENTIAL_CENTRE_KM} km of the confidential location, so the coverage would show where it is: {advice}"
                ),
            ));
        }
    }
    Ok(())
}

/// For a sealed site the writer did not send (the console editor keeps it without showing
/// it): no radius or area entry that `stored` lacks. Checked against the site, each save
/// would tell a bit of where it is, a passing one at no cost, and an area of thousands of
/// small squares would tell more; this refusal is the same near the site or far from it.
/// Region and national entries are never judged by the site, and taking entries away adds
/// none.
pub fn draws_nothing_new(new: &[Coverage], stored: &[Coverage]) -> Result<(), FieldError> {
    let drawn = |e: &&Coverage| matches!(e, Coverage::Radius { .. } | Coverage::Area { .. });
    if new.iter().filter(drawn).all(|entry| stored.contains(entry)) {
        return Ok(());
    }
    Err(FieldError::invalid(
        "coverage",
        "this service is at a confidential location that this change does not send (no read shows it), so no new radius or area coverage can be drawn: send the location with the coverage (its own organization's staff know it), or change region coverage, which needs no location",
    ))
}

/// [`keeps_site_hidden`] for a sealed site the writer did not send, which only coverage
/// stored before the rule can fail (see [`draws_nothing_new`]): the refusal names no entry or
/// part, since which of them failed would say where the site is.
pub fn keeps_kept_site_hidden(coverage: &[Coverage], site: Coordinates) -> Result<(), FieldError> {
    keeps_site_hidden(coverage, site).map_err(|_| {
        FieldError::new(
            REVEALS_CONFIDENTIAL_LOCATION,
            "coverage",
            format!(
                "a radius centre or an area's middle is within {CONFIDENTIAL_CENTRE_KM} km of the confidential location, so the coverage would show where it is: centre each radius, and draw each area, on the area served (a town or county at least that far away), or use region coverage"
            ),
        )
    })
}

fn parse_phones(input: Vec<PhoneInput>) -> Result<Vec<Phone>, FieldError> {
    limited(input, MAX_PHONES, "phones")?
        .into_iter()
        .enumerate()
        .map(|(i, p)| Phone::parse(p, &format!("phones[{i}]")))
        .collect()
}

fn parse_schedules(input: Vec<ScheduleInput>) -> Result<Vec<Schedule>, FieldError> {
    limited(input, MAX_SCHEDULES, "schedules")?
        .into_iter()
        .enumerate()
        .map(|(i, s)| Schedule::parse(s, &format!("schedules[{i}]")))
        .collect()
}

/// The body of `PATCH /api/v1/services/{id}`: what a provider keeps true from day to day.
/// Members left out stay as they are; a list given replaces the old one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct ServicePatchInput {
    pub phones: Option<Vec<PhoneInput>>,
    pub schedules: Option<Vec<ScheduleInput>>,
    pub capacity: Option<CapacityInput>,
    pub status: Option<ServiceStatus>,
}

#[derive(Debug, Clone, Default)]
pub struct ServicePatch {
    pub phones: Option<Vec<Phone>>,
    pub schedules: Option<Vec<Schedule>>,
    pub capacity: Option<Capacity>,
    pub status: Option<ServiceStatus>,
}

impl ServicePatch {
    pub fn parse(input: ServicePatchInput) -> Result<Self, FieldError> {
        if input.phones.is_none()
            && input.schedules.is_none()
            && input.capacity.is_none()
            && input.status.is_none()
        {
            return Err(FieldError::invalid(
                "",
                "give at least one of phones, schedules, capacity or status",
            ));
        }
        Ok(ServicePatch {
            phones: input.phones.map(parse_phones).transpose()?,
            schedules: input.schedules.map(parse_schedules).transpose()?,
            capacity: input
                .capacity
                .map(|c| Capacity::parse(c, "capacity."))
                .transpose()?,
            status: input.status,
        })
    }

    /// Whether it reports beds and nothing else.
    pub fn is_beds_alone(&self) -> bool {
        self.phones.is_none() && self.schedules.is_none() && self.status.is_none()
    }

    /// The body of `PATCH /api/v1/services/{id}/capacity`.
    pub fn capacity(input: CapacityInput) -> Result<Self, FieldError> {
        Ok(ServicePatch {
            capacity: Some(Capacity::parse(input, "")?),
            ..ServicePatch::default()
        })
    }
}

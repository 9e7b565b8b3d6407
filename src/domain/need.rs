//! The needs taxonomy: stable codes a search asks for, with plain-language labels.

use std::sync::LazyLock;

use serde::Serialize;

use super::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    Shelter,
    TransitionalHousing,
    Hotline,
    LegalAid,
    ImmigrationLegal,
    Counseling,
    Medical,
    CaseManagement,
    BasicNeeds,
    YouthServices,
    SubstanceUse,
    EmploymentEducation,
}

/// One entry of `GET /api/v1/needs`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NeedLabel {
    pub code: &'static str,
    pub label: Labels,
    pub description: Labels,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Labels {
    pub en: &'static str,
    pub es: &'static str,
}

impl Need {
    pub const ALL: [Need; 12] = [
        Need::Shelter,
        Need::TransitionalHousing,
        Need::Hotline,
        Need::LegalAid,
        Need::ImmigrationLegal,
        Need::Counseling,
        Need::Medical,
        Need::CaseManagement,
        Need::BasicNeeds,
        Need::YouthServices,
        Need::SubstanceUse,
        Need::EmploymentEducation,
    ];

    pub fn code(self) -> &'static str {
        self.describe().code
    }

    /// The code as words, "legal aid" for `legal_aid`: how reasons name a need.
    pub fn words(self) -> &'static str {
        static WORDS: LazyLock<[String; Need::ALL.len()]> =
            LazyLock::new(|| Need::ALL.map(|n| n.code().replace('_', " ")));
        // `ALL` lists the needs in declaration order (a test holds it).
        &WORDS[self as usize]
    }

    pub fn from_code(code: &str) -> Option<Need> {
        Need::ALL.into_iter().find(|n| n.code() == code)
    }

    pub fn parse(code: &str, field: &str) -> Result<Need, FieldError> {
        Need::from_code(code).ok_or_else(|| {
            FieldError::new(
                "unknown_need",
                field,
                "unknown need code; GET /api/v1/needs lists the codes",
            )
        })
    }

    pub fn describe(self) -> NeedLabel {
        let (code, en, es, den, des) = match self {
            Need::Shelter => (
                "shelter",
                "A safe place to stay tonight",
                "Un lugar seguro para quedarse esta noche",
                "Emergency shelter, including confidential domestic violence shelters.",
                "Refugio de emergencia, incluidos refugios confidenciales para víctimas de violencia doméstica.",
            ),
            Need::TransitionalHousing => (
                "transitional_housing",
                "Housing for the next months",
                "Vivienda para los próximos meses",
                "Longer-term or transitional housing programs.",
                "Programas de vivienda transitoria o a más largo plazo.",
            ),
            Need::Hotline => (
                "hotline",
                "Someone to talk to now, by phone or text",
                "Alguien con quien hablar ahora, por teléfono o texto",
                "Crisis lines answered by trained staff.",
                "Líneas de crisis atendidas por personal capacitado.",
            ),
            Need::LegalAid => (
                "legal_aid",
                "Legal help",
                "Ayuda legal",
                "Protective orders, custody, housing and other civil legal help.",
                "Órdenes de protección, custodia, vivienda y otra ayuda legal civil.",
            ),
            Need::ImmigrationLegal => (
                "immigration_legal",
                "Immigration legal help",
                "Ayuda legal de inmigración",
                "T and U visas, VAWA self-petitions and other immigration help.",
                "Visas T y U, autopeticiones VAWA y otra ayuda de inmigración.",
            ),
            Need::Counseling => (
                "counseling",
                "Counseling and emotional support",
                "Consejería y apoyo emocional",
                "Counseling, support groups and trauma therapy.",
                "Consejería, grupos de apoyo y terapia de trauma.",
            ),
            Need::Medical => (
                "medical",
                "Medical care",
                "Atención médica",
                "Medical care, forensic exams and sexual health.",
                "Atención médica, exámenes forenses y salud sexual.",
            ),
            Need::CaseManagement => (
                "case_management",
                "Someone to help with next steps",
                "Alguien que ayude con los próximos pasos",
                "Advocates and case managers who coordinate help.",
                "Defensores y administradores de casos que coordinan la ayuda.",
            ),
            Need::BasicNeeds => (
                "basic_needs",
                "Food, clothing and other basics",
                "Comida, ropa y otras necesidades básicas",
                "Food, clothing, hygiene items, phones and transportation.",
                "Comida, ropa, artículos de higiene, teléfonos y transporte.",
            ),
            Need::YouthServices => (
                "youth_services",
                "Help for young people",
                "Ayuda para jóvenes",
                "Services for minors and young adults, including drop-in centers.",
                "Servicios para menores y adultos jóvenes, incluidos centros de acogida.",
            ),
            Need::SubstanceUse => (
                "substance_use",
                "Help with drugs or alcohol",
                "Ayuda con drogas o alcohol",
                "Substance use treatment and harm reduction.",
                "Tratamiento por consumo de sustancias y reducción de daños.",
            ),
            Need::EmploymentEducation => (
                "employment_education",
                "Work and school",
                "Trabajo y estudios",
                "Job training, employment and education support.",
                "Capacitación laboral, empleo y apoyo educativo.",
            ),
        };
        NeedLabel {
            code,
            label: Labels { en, es },
            description: Labels { en: den, es: des },
        }
    }
}

/// Parses a list of need codes, in order, without duplicates; at least one.
pub fn parse_needs(codes: &[String], field: &str) -> Result<Vec<Need>, FieldError> {
    if codes.is_empty() {
        return Err(FieldError::invalid(field, "give at least one need code"));
    }
    let mut needs = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let need = Need::parse(code, &format!("{field}[{i}]"))?;
        if !needs.contains(&need) {
            needs.push(need);
        }
    }
    Ok(needs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for need in Need::ALL {
            assert_eq!(Need::from_code(need.code()), Some(need));
        }
        let mut codes: Vec<_> = Need::ALL.iter().map(|n| n.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), Need::ALL.len());
    }

    #[test]
    fn each_need_has_its_own_words() {
        for (i, need) in Need::ALL.into_iter().enumerate() {
            assert_eq!(need as usize, i, "{need:?} is out of order in ALL");
            assert_eq!(need.words(), need.code().replace('_', " "));
        }
        assert_eq!(Need::LegalAid.words(), "legal aid");
    }

    #[test]
    fn unknown_code_names_the_field() {
        let err = parse_needs(&["shelter".into(), "spa".into()], "needs").unwrap_err();
        assert_eq!(err.code, "unknown_need");
        assert_eq!(err.field, "needs[1]");
    }
}

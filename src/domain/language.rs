//! Languages as ISO 639-1 two-letter codes.

use serde::Serialize;

use super::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LanguageCode(String);

impl LanguageCode {
    pub fn parse(code: &str, field: &str) -> Result<Self, FieldError> {
        let code = code.trim().to_ascii_lowercase();
        if code.len() == 2 && isolang::Language::from_639_1(&code).is_some() {
            Ok(LanguageCode(code))
        } else {
            Err(FieldError::new(
                "unknown_language",
                field,
                format!("{code:?} is not an ISO 639-1 language code (such as \"en\" or \"es\")"),
            ))
        }
    }

    /// For values read back from the database, which only ever holds parsed codes.
    pub fn from_trusted(code: String) -> Self {
        LanguageCode(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a list of codes, dropping duplicates and keeping the given order.
pub fn parse_languages(codes: &[String], field: &str) -> Result<Vec<LanguageCode>, FieldError> {
    let mut out: Vec<LanguageCode> = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let parsed = LanguageCode::parse(code, &format!("{field}[{i}]"))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iso_639_1_only() {
        assert_eq!(LanguageCode::parse("ES", "x").unwrap().as_str(), "es");
        assert!(LanguageCode::parse("zz", "x").is_err());
        assert!(LanguageCode::parse("spa", "x").is_err());
        assert_eq!(
            parse_languages(&["en".into(), "xx".into()], "languages")
                .unwrap_err()
                .field,
            "languages[1]"
        );
    }
}

//! Languages as ISO 639-1 two-letter codes.

use serde::{Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use super::FieldError;

/// Two lowercase ASCII letters, kept inline: the matching index holds millions of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageCode([u8; 2]);

impl Serialize for LanguageCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialSchema for LanguageCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[a-z]{2}$"))
            .description(Some("ISO 639-1 language code"))
            .examples(["es"])
            .into()
    }
}

impl ToSchema for LanguageCode {}

impl LanguageCode {
    pub fn parse(code: &str, field: &str) -> Result<Self, FieldError> {
        let code = code.trim().to_ascii_lowercase();
        if let (Ok(bytes), Some(_)) = (
            <[u8; 2]>::try_from(code.as_bytes()),
            isolang::Language::from_639_1(&code),
        ) {
            Ok(LanguageCode(bytes))
        } else {
            Err(FieldError::new(
                "unknown_language",
                field,
                "is not an ISO 639-1 language code (such as \"en\" or \"es\")",
            ))
        }
    }

    /// For values read back from the database, which only ever holds parsed codes; anything
    /// else is not a language code and is dropped.
    pub fn from_trusted(code: &str) -> Option<Self> {
        <[u8; 2]>::try_from(code.as_bytes())
            .ok()
            .filter(|b| b.iter().all(u8::is_ascii_lowercase))
            .map(LanguageCode)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The language's English name ("Spanish" for `es`), or the code when it has none.
    pub fn english_name(&self) -> &str {
        isolang::Language::from_639_1(self.as_str()).map_or(self.as_str(), |l| l.to_name())
    }

    /// Two lowercase ASCII letters.
    pub fn as_bytes(&self) -> &[u8; 2] {
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

//! Phone lines: voice, text (SMS) or TTY, with whether they are answered around the clock.

use serde::{Deserialize, Serialize};

use super::language::{LanguageCode, parse_languages};
use super::{FieldError, optional_text, path};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    Voice,
    Text,
    Tty,
}

impl PhoneKind {
    pub fn code(self) -> &'static str {
        match self {
            PhoneKind::Voice => "voice",
            PhoneKind::Text => "text",
            PhoneKind::Tty => "tty",
        }
    }

    pub fn from_code(code: &str) -> Option<PhoneKind> {
        [PhoneKind::Voice, PhoneKind::Text, PhoneKind::Tty]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneInput {
    pub number: String,
    #[serde(rename = "type")]
    pub kind: PhoneKind,
    pub label: Option<String>,
    #[serde(default)]
    pub available_24_7: bool,
    #[serde(default)]
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phone {
    pub number: String,
    #[serde(rename = "type")]
    pub kind: PhoneKind,
    pub label: Option<String>,
    pub available_24_7: bool,
    pub languages: Vec<LanguageCode>,
}

impl Phone {
    /// Accepts what people dial: digits with spaces, dashes, dots, brackets and a leading +,
    /// 3 to 15 digits (short codes such as 988 and 233733 included).
    pub fn parse(input: PhoneInput, field: &str) -> Result<Phone, FieldError> {
        let number = input.number.trim().to_string();
        let digits = number.chars().filter(char::is_ascii_digit).count();
        let allowed = number
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || " -.()".contains(c) || (c == '+' && i == 0));
        if !allowed || !(3..=15).contains(&digits) {
            return Err(FieldError::invalid(
                path(field, "number"),
                "must be a phone number or short code: 3 to 15 digits, optionally with + - . ( ) and spaces",
            ));
        }
        Ok(Phone {
            number,
            kind: input.kind,
            label: optional_text(input.label, &path(field, "label"), 100)?,
            available_24_7: input.available_24_7,
            languages: parse_languages(&input.languages, &path(field, "languages"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(number: &str) -> PhoneInput {
        PhoneInput {
            number: number.into(),
            kind: PhoneKind::Voice,
            label: None,
            available_24_7: false,
            languages: vec![],
        }
    }

    #[test]
    fn numbers_and_short_codes() {
        assert!(Phone::parse(input("1-888-373-7888"), "p").is_ok());
        assert!(Phone::parse(input("988"), "p").is_ok());
        assert!(Phone::parse(input("+1 (415) 555-0100"), "p").is_ok());
        assert_eq!(
            Phone::parse(input("call us"), "phones[0]")
                .unwrap_err()
                .field,
            "phones[0].number"
        );
        assert!(Phone::parse(input("12"), "p").is_err());
        assert!(Phone::parse(input("1+2345"), "p").is_err());
    }
}

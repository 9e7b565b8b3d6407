//! Phone lines: voice, text (SMS) or TTY, with whether they are answered around the clock.

use serde::{Deserialize, Serialize};

use super::language::{LanguageCode, parse_languages};
use super::{FieldError, optional_line, optional_text, path};

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
    /// The word a text line asks for first ("START" for "Text START to 88788"): pages put it
    /// in the message they open, so a person in a hurry need not know it.
    pub keyword: Option<String>,
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
    pub keyword: Option<String>,
    pub available_24_7: bool,
    pub languages: Vec<LanguageCode>,
}

/// The opt-out keywords US carriers act on (CTIA's messaging principles).
const OPT_OUT_WORDS: [&str; 8] = [
    "STOP",
    "STOPALL",
    "END",
    "CANCEL",
    "QUIT",
    "UNSUBSCRIBE",
    "REVOKE",
    "OPTOUT",
];

/// The longest keyword a text line may ask for; the lines we know ask for one short word.
const KEYWORD_MAX_CHARS: usize = 20;

/// A text line's keyword: one word of letters and digits, as people type it into a message.
fn parse_keyword(
    keyword: Option<String>,
    kind: PhoneKind,
    field: &str,
) -> Result<Option<String>, FieldError> {
    let Some(keyword) = optional_text(keyword, field, KEYWORD_MAX_CHARS)? else {
        return Ok(None);
    };
    if kind != PhoneKind::Text {
        return Err(FieldError::invalid(
            field,
            "only a text line (type \"text\") has a keyword",
        ));
    }
    if !keyword.chars().all(char::is_alphanumeric) {
        return Err(FieldError::invalid(
            field,
            "must be one word of letters and digits, as it is typed into a message (such as START)",
        ));
    }
    // The words carriers keep for ending messages: a link that writes one would unsubscribe
    // the person from the line instead of reaching it.
    if OPT_OUT_WORDS
        .iter()
        .any(|word| word.eq_ignore_ascii_case(&keyword))
    {
        return Err(FieldError::invalid(
            field,
            "is one of the words that stop messages from a number (STOP, END, CANCEL, QUIT, UNSUBSCRIBE, STOPALL, REVOKE, OPTOUT): a link that writes it would unsubscribe the person",
        ));
    }
    Ok(Some(keyword))
}

/// Written as people write numbers to dial: digits, single separators (space, dash, dot)
/// between them, at most one pair of brackets around digits (an area code), a leading +, and
/// a digit at the end. "((((555))))" and "...911..." are not numbers anyone could read out.
fn is_dialable(number: &str) -> bool {
    let mut previous: Option<char> = None;
    let mut brackets = 0;
    let mut in_brackets = false;
    for (i, c) in number.chars().enumerate() {
        let fits = match c {
            '0'..='9' => true,
            '+' => i == 0,
            '(' => {
                brackets += 1;
                in_brackets = true;
                brackets == 1 && !previous.is_some_and(|p| p.is_ascii_digit())
            }
            ')' => {
                let closes = in_brackets && previous.is_some_and(|p| p.is_ascii_digit());
                in_brackets = false;
                closes
            }
            ' ' | '-' | '.' => {
                !in_brackets && previous.is_some_and(|p| p.is_ascii_digit() || p == ')' || p == '+')
            }
            _ => false,
        };
        if !fits {
            return false;
        }
        previous = Some(c);
    }
    !in_brackets && previous.is_some_and(|p| p.is_ascii_digit())
}

impl Phone {
    /// Accepts what people dial ([`is_dialable`]): 3 to 15 digits (short codes such as 988
    /// and 233733 included).
    pub fn parse(input: PhoneInput, field: &str) -> Result<Phone, FieldError> {
        let number = input.number.trim().to_string();
        let digits = number.chars().filter(char::is_ascii_digit).count();
        if !is_dialable(&number) || !(3..=15).contains(&digits) {
            return Err(FieldError::invalid(
                path(field, "number"),
                "must be a phone number or short code as people dial it: 3 to 15 digits, a space, dash or dot between groups, brackets around an area code, a leading + (such as 1-800-799-7233 or (415) 555-0100)",
            ));
        }
        Ok(Phone {
            number,
            kind: input.kind,
            label: optional_line(input.label, &path(field, "label"), 100)?,
            keyword: parse_keyword(input.keyword, input.kind, &path(field, "keyword"))?,
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
            keyword: None,
            available_24_7: false,
            languages: vec![],
        }
    }

    fn text_line(keyword: &str) -> PhoneInput {
        PhoneInput {
            kind: PhoneKind::Text,
            keyword: Some(keyword.into()),
            ..input("88788")
        }
    }

    #[test]
    fn keywords_are_one_word_on_a_text_line() {
        let line = Phone::parse(text_line(" START "), "p").unwrap();
        assert_eq!(line.keyword.as_deref(), Some("START"));
        assert_eq!(
            Phone::parse(text_line("AYUDA2"), "p").unwrap().keyword,
            Some("AYUDA2".into())
        );
        assert_eq!(Phone::parse(text_line("  "), "p").unwrap().keyword, None);
        for refused in ["START NOW", "START!", "<b>", "ABCDEFGHIJKLMNOPQRSTU"] {
            let error = Phone::parse(text_line(refused), "phones[1]").unwrap_err();
            assert_eq!(error.field, "phones[1].keyword", "{refused}");
            assert!(!error.message.contains(refused), "{refused}");
        }
        // A link that wrote an opt-out word would unsubscribe the person from the line.
        for opt_out in ["stop", "Cancel", "UNSUBSCRIBE"] {
            let error = Phone::parse(text_line(opt_out), "phones[1]").unwrap_err();
            assert_eq!(error.field, "phones[1].keyword", "{opt_out}");
            assert!(error.message.contains("unsubscribe"), "{}", error.message);
        }
        let voice = PhoneInput {
            kind: PhoneKind::Voice,
            ..text_line("START")
        };
        let error = Phone::parse(voice, "phones[0]").unwrap_err();
        assert_eq!(error.field, "phones[0].keyword");
        assert!(error.message.contains("only a text line"));
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
        for written in [
            "(415) 555-0100",
            "(415)555-0100",
            "415.555.0100",
            "+44 20 7946 0958",
        ] {
            assert!(Phone::parse(input(written), "p").is_ok(), "{written}");
        }
        for unreadable in [
            "((((555))))",
            "...911...",
            "415--555-0100",
            "(415 555-0100",
            "415) 555-0100",
            "(4(1)5) 555",
            "415-555-",
            "( 415) 555-0100",
        ] {
            assert!(
                Phone::parse(input(unreadable), "p").is_err(),
                "{unreadable}"
            );
        }
    }
}

//! Types that turn untrusted input into values that hold Haven's rules. Nothing here knows
//! about HTTP or SQL: the same parsers serve the API, the CLI seeders and the importers.

mod area_validity;
pub mod coordinates;
pub mod coverage;
pub mod eligibility;
pub mod language;
pub mod need;
pub mod organization;
pub mod phone;
pub mod schedule;
pub mod service;

pub use coordinates::Coordinates;
pub use coverage::Coverage;
pub use need::Need;

/// Why a field of a request was refused: a stable machine code, a message a person can act
/// on, and where the field is (`coverage[0].geometry`), as the API's error envelope carries it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The generic "this value is not acceptable" error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError::new("invalid_field", field, message)
    }

    /// A shape error serde found at `parent` (a path such as `coverage[0]`; empty for the
    /// body). serde reports a missing or repeated member at its parent: this names the member
    /// itself, and drops where in the text it was (`field` says where).
    pub fn from_serde(parent: &str, message: String) -> Self {
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        let member = ["missing field `", "duplicate field `"]
            .iter()
            .find_map(|start| message.strip_prefix(start))
            .and_then(|rest| rest.split('`').next());
        let field = match member {
            Some(member) => path(parent, member),
            None => parent.to_string(),
        };
        let message = match message.strip_prefix("duplicate field") {
            Some(_) => "appears more than once; send each member once".to_string(),
            None => without_value(&message),
        };
        FieldError::invalid(field, message)
    }
}

/// What a member that takes one of a list of codes expects.
const EXPECTED_CODE: &str = "expected a string: one of the codes docs/API.md lists for this member";

/// A parse error without the value it quotes: "invalid type: string \"29.75\", expected f64"
/// becomes "invalid type: string, expected f64". Error answers and import reports land in
/// proxies' and clients' logs, terminals and cron mail, and the value may be a sealed site's
/// coordinates or street, or a password.
pub(crate) fn without_value(message: &str) -> String {
    // A code member (`status`, a phone's `type`) given as something other than a string:
    // serde_json says "expected value" reading text, and "expected string or map" reading a
    // value, neither of which tells what to send.
    if message == "expected value" {
        return format!("invalid type, {EXPECTED_CODE}");
    }
    if let Some(found) = message.strip_suffix(", expected string or map") {
        // "invalid type: integer `7`": the kind of value, without it.
        let kind = found
            .split(['"', '`'])
            .next()
            .unwrap_or_default()
            .trim_end();
        return format!("{kind}, {EXPECTED_CODE}");
    }
    // "unknown variant `whatever was sent`, expected one of `voice`, `text`, `tty`".
    if let Some((_, expected)) = message
        .strip_prefix("unknown variant `")
        // The last one: the value sent may hold the same words.
        .and_then(|rest| rest.rsplit_once("`, expected"))
    {
        return format!("unknown variant, expected{expected}");
    }
    // The uuid crate quotes a character of what was sent ("invalid character: found `n` at
    // 0"), which with enough tries spells it out.
    if let Some(at) = message.find("UUID parsing failed") {
        return format!(
            "{}must be a UUID, such as 3f2b6c1e-8a4d-4f0e-9b7a-1c2d3e4f5a6b",
            &message[..at]
        );
    }
    for start in ["invalid type: ", "invalid value: "] {
        let Some(rest) = message.strip_prefix(start) else {
            continue;
        };
        let Some(expected) = rest.rfind(", expected") else {
            continue;
        };
        // The kind of value ("string", "integer", "floating point") comes before the quote.
        let kind = rest[..expected]
            .split(['"', '`'])
            .next()
            .unwrap_or_default()
            .trim_end();
        return format!("{start}{kind}{}", &rest[expected..]);
    }
    message.to_string()
}

/// Joins a field path and a member name: `path("coverage[0]", "radius_km")`.
pub(crate) fn path(parent: &str, member: &str) -> String {
    if parent.is_empty() {
        member.to_string()
    } else {
        format!("{parent}.{member}")
    }
}

/// Trims a free-text field and checks its length in characters; empty means absent. Blank
/// characters at either end go with the spaces (a name that starts with a zero-width space
/// looks like another), and text made only of characters that show nothing is empty.
pub(crate) fn optional_text(
    value: Option<String>,
    field: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(|v| v.trim_matches(blank).to_string()) {
        None => Ok(None),
        Some(v) if v.chars().all(shows_nothing) => Ok(None),
        Some(v) if v.chars().any(turns_text) => Err(FieldError::invalid(field, TURNS_TEXT)),
        Some(v) if v.chars().count() > max_chars => Err(FieldError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        )),
        Some(v) => Ok(Some(v)),
    }
}

/// A character that takes no room, draws nothing and means nothing at either end of a text:
/// a space, a control character, the zero-width space, word joiner, byte-order mark and soft
/// hyphen, and the fillers and blanks that are letters or symbols only in name (Hangul
/// fillers, the blank Braille pattern, the combining grapheme joiner). Direction marks and
/// isolates are not among them: at the start of Hebrew or Arabic text they mean something.
fn blank(c: char) -> bool {
    use unicode_general_category::{GeneralCategory, get_general_category};
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}'
                | '\u{2060}'
                | '\u{FEFF}'
                | '\u{00AD}'
                | '\u{180E}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{3164}'
                | '\u{FFA0}'
                | '\u{2800}'
                | '\u{034F}'
        )
        || get_general_category(c) == GeneralCategory::Control
}

/// Whether a character shows nothing of its own: a [`blank`], a format character (joiners,
/// direction marks), or a mark that only changes the character before it (an accent, a
/// variation selector). Text made only of them is empty, whatever its length, and they do
/// not count where text must say something.
pub(crate) fn shows_nothing(c: char) -> bool {
    use unicode_general_category::{GeneralCategory, get_general_category};
    blank(c)
        || matches!(
            get_general_category(c),
            GeneralCategory::Format
                | GeneralCategory::NonspacingMark
                | GeneralCategory::EnclosingMark
        )
}

/// The overrides of the bidirectional algorithm: "\u{202E}gpj.exe" reads "exe.jpg".
/// Embeddings and isolates, which mixed Arabic or Hebrew and Latin text uses, are kept.
fn turns_text(c: char) -> bool {
    matches!(c, '\u{202D}' | '\u{202E}')
}

pub(crate) const TURNS_TEXT: &str = "must not hold the marks that override the direction of the text after them (U+202D, U+202E): they make a name read as another";

/// Whether text holds a mark that overrides the direction of what follows.
pub(crate) fn turns_any(text: &str) -> bool {
    text.chars().any(turns_text)
}

/// Like [`optional_line`] for a field that must be present and non-empty (a name).
pub(crate) fn required_text(
    value: String,
    field: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    optional_line(Some(value), field, max_chars)?
        .ok_or_else(|| FieldError::invalid(field, "must not be empty"))
}

/// Like [`optional_text`] for text shown as one line (a name, a phone's label, a part of an
/// address): a line break or tab inside would be read as two lines by every form and slip
/// that shows one item a line, and saved from such a form it would become two items.
pub(crate) fn optional_line(
    value: Option<String>,
    field: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    let text = optional_text(value, field, max_chars)?;
    if text.as_deref().is_some_and(|t| t.chars().any(breaks_line)) {
        return Err(FieldError::invalid(
            field,
            "must be one line: no line breaks, tabs or other control characters",
        ));
    }
    Ok(text)
}

/// A control character (line feed, carriage return, tab, next line, ...) or a line or
/// paragraph separator.
fn breaks_line(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::without_value;

    #[test]
    fn unknown_variants_and_uuids_are_named_without_what_was_sent() {
        assert_eq!(
            without_value("unknown variant `Zq-secret`, expected one of `voice`, `text`, `tty`"),
            "unknown variant, expected one of `voice`, `text`, `tty`"
        );
        // A value holding serde's own words does not come through either.
        assert_eq!(
            without_value(
                "unknown variant `x`, expected 4417-QUIETWATER-LANE`, expected one of `active`, `inactive`"
            ),
            "unknown variant, expected one of `active`, `inactive`"
        );
        assert_eq!(
            without_value("invalid value: string \"a, expected 4417 QUIETWATER\", expected f64"),
            "invalid value: string, expected f64"
        );
        // A code given as something else says what to send, without the value.
        assert_eq!(
            without_value("expected value"),
            "invalid type, expected a string: one of the codes docs/API.md lists for this member"
        );
        assert_eq!(
            without_value("invalid type: integer `7`, expected string or map"),
            "invalid type: integer, expected a string: one of the codes docs/API.md lists for this member"
        );
        let uuid = without_value(
            "Query deserialize error: UUID parsing failed: invalid character: found `n` at 0",
        );
        assert!(!uuid.contains("`n`"), "{uuid}");
        assert!(
            uuid.starts_with("Query deserialize error: must be a UUID"),
            "{uuid}"
        );
    }

    #[test]
    fn reported_parse_errors_do_not_quote_the_value() {
        assert_eq!(
            without_value(r#"invalid type: string "29.751234", expected f64"#),
            "invalid type: string, expected f64"
        );
        assert_eq!(
            without_value("invalid type: integer `77019`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_value("invalid value: floating point `-95.401234`, expected a number"),
            "invalid value: floating point, expected a number"
        );
        assert_eq!(without_value("must not be empty"), "must not be empty");
    }
}

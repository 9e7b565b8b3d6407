//! Why a service is in an answer: short reasons ("offers shelter", "serves Alameda, CA",
//! "accepts unaccompanied minors"). They are kept as data and written out only where they
//! are shown, so an answer of some forty entries does not format and allocate a string for
//! each of its reasons, and the words live in one place.

use std::fmt;

use serde::{Serialize, Serializer};

use super::query::NeedSet;
use crate::boundaries::Region;
use crate::domain::Need;
use crate::domain::eligibility::Facet;
use crate::domain::language::LanguageCode;

#[derive(Debug, Clone)]
pub enum Reason<'a> {
    /// A fixed phrase ("open now", "serves the whole country").
    Says(&'static str),
    /// The requested needs it offers: "offers legal aid, substance use".
    Offers(NeedSet),
    /// "serves within 40 km of its base".
    WithinKm(f64),
    /// The region it serves: "serves Alameda, CA".
    Serves(&'a Region),
    /// A confidential service's coverage misses the point; how far, in a band only.
    OutsideBand(&'static str),
    /// "serves an area about 12 km away, not this location".
    OutsideKm(f64),
    /// "serves ages 12-17", or "serves ages 18 and up" without an upper limit.
    Ages { min: u8, max: Option<u8> },
    /// An eligibility facet the caller required, as words: "no ID required".
    Has(Facet),
    /// The languages asked for that it speaks: "speaks Spanish, French".
    Speaks(Vec<LanguageCode>),
}

impl Reason<'_> {
    /// Gives the reason's text to `piece` in pieces, when it is made of words and whole
    /// numbers only, as the common reasons are; false, giving nothing, for the others. The
    /// pieces are its `Display`, and the JSON writer copies them straight into an answer:
    /// going through `fmt` was about a third of writing one, in a profile under load.
    pub fn pieces(&self, mut piece: impl FnMut(&str)) -> bool {
        let mut list = |head: &str, items: &mut dyn Iterator<Item = &str>| {
            piece(head);
            for (i, item) in items.enumerate() {
                piece(if i == 0 { " " } else { ", " });
                piece(item);
            }
        };
        match self {
            Reason::Says(phrase) => piece(phrase),
            Reason::Offers(needs) => list("offers", &mut needs.iter().map(Need::words)),
            Reason::Speaks(languages) => list(
                "speaks",
                &mut languages.iter().map(LanguageCode::english_name),
            ),
            Reason::Has(facet) => piece(facet.words()),
            Reason::WithinKm(km) => {
                // `{km}` writes a whole number without a fraction (and -0 with its sign).
                if !(km.fract() == 0.0 && km.is_sign_positive() && *km < 9.0e15) {
                    return false;
                }
                piece("serves within ");
                piece(itoa::Buffer::new().format(*km as u64));
                piece(" km of its base");
            }
            Reason::Ages { min, max } => {
                piece("serves ages ");
                piece(itoa::Buffer::new().format(*min));
                match max {
                    Some(max) => {
                        piece("-");
                        piece(itoa::Buffer::new().format(*max));
                    }
                    None => piece(" and up"),
                }
            }
            Reason::Serves(_) | Reason::OutsideBand(_) | Reason::OutsideKm(_) => return false,
        }
        true
    }
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = Ok(());
        if self.pieces(|piece| written = written.and_then(|()| f.write_str(piece))) {
            return written;
        }
        match self {
            Reason::WithinKm(km) => write!(f, "serves within {km} km of its base"),
            Reason::Serves(region) => write!(f, "serves {region}"),
            Reason::OutsideBand(band) => {
                write!(f, "serves an area {band} of here, not this location")
            }
            Reason::OutsideKm(km) if *km < 1.0 => {
                f.write_str("serves an area less than 1 km away, not this location")
            }
            Reason::OutsideKm(km) => {
                write!(f, "serves an area about {km:.0} km away, not this location")
            }
            // Written as pieces above.
            _ => Ok(()),
        }
    }
}

impl Serialize for Reason<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Reason::Says(phrase) => serializer.serialize_str(phrase),
            other => serializer.collect_str(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boundaries::Boundaries;
    use crate::domain::Need;

    #[test]
    fn reasons_read_as_words() {
        let needs = NeedSet::of(&[Need::LegalAid, Need::Shelter]);
        let first = needs
            .iter()
            .next()
            .map_or("", |n| n.code())
            .replace('_', " ");
        let offers = Reason::Offers(needs).to_string();
        assert!(offers.starts_with(&format!("offers {first}, ")), "{offers}");
        assert!(!offers.contains('_'), "{offers}");
        assert_eq!(
            Reason::WithinKm(40.0).to_string(),
            "serves within 40 km of its base"
        );
        assert_eq!(
            Reason::WithinKm(2.5).to_string(),
            "serves within 2.5 km of its base"
        );
        assert_eq!(
            Reason::OutsideKm(12.4).to_string(),
            "serves an area about 12 km away, not this location"
        );
        assert_eq!(
            Reason::Ages {
                min: 12,
                max: Some(17)
            }
            .to_string(),
            "serves ages 12-17"
        );
        assert_eq!(
            Reason::Ages { min: 18, max: None }.to_string(),
            "serves ages 18 and up"
        );
        assert_eq!(
            Reason::Has(Facet::NoIdRequired).to_string(),
            "no ID required"
        );
        assert_eq!(
            Reason::OutsideKm(0.0004).to_string(),
            "serves an area less than 1 km away, not this location"
        );
        let speaks = ["es", "fr"].map(|code| LanguageCode::from_trusted(code).expect("a code"));
        assert_eq!(
            Reason::Speaks(speaks.to_vec()).to_string(),
            "speaks Spanish, French"
        );
        let boundaries = Boundaries::bundled();
        let alameda = boundaries
            .index_of("US-06001")
            .and_then(|i| boundaries.regions().get(i))
            .map(|r| Reason::Serves(r).to_string());
        assert_eq!(alameda.as_deref(), Some("serves Alameda, CA"));
    }
}

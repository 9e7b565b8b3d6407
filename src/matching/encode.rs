//! Writes a match answer as JSON, by hand. An answer is some 20 KB (20 results and the
//! hotlines), and writing it was the largest part of a match request: serde_json escapes every
//! key and value byte by byte and formats dates through `fmt`. Here keys are static bytes and a
//! string with nothing to escape is copied in one go. The serde derives on the answer types
//! stay the definition of the format: a test holds this writer to serde_json's output, byte for
//! byte.

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::index::{AddressView, PhoneView};
use super::query::LocationSource;
use super::reason::Reason;
use super::{CapacityView, MatchOutcome, OrganizationRef, ServiceMatch};
use crate::domain::Need;
use crate::domain::language::LanguageCode;
use crate::domain::phone::PhoneKind;

/// The whole `POST /api/v1/match` answer.
pub fn answer(
    outcome: &MatchOutcome<'_>,
    source: LocationSource,
    precision_km: f64,
    index_version: i64,
    out: &mut Vec<u8>,
) {
    let mut o = Object::open(out);
    o.field("results", outcome.results.as_slice());
    o.field("hotlines", outcome.hotlines.as_slice());
    o.field(
        "nearby_outside_coverage",
        outcome.nearby_outside_coverage.as_slice(),
    );
    let mut location = o.object("location");
    location.field("source", &source);
    location.field("precision_km", &precision_km);
    location.close();
    o.field("index_version", &index_version);
    o.close();
}

/// A value that writes itself as JSON.
trait Json {
    fn write(&self, out: &mut Vec<u8>);
}

/// An object being written; keys are static ASCII, so they need no escaping.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    empty: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, empty: true }
    }

    fn key(&mut self, key: &'static str) {
        debug_assert!(key.bytes().all(|b| !needs_escape(b)));
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn field<T: Json + ?Sized>(&mut self, key: &'static str, value: &T) {
        self.key(key);
        value.write(self.out);
    }

    /// A field that serde would skip when it is `None`.
    fn field_unless_none<T: Json>(&mut self, key: &'static str, value: &Option<T>) {
        if let Some(value) = value {
            self.field(key, value);
        }
    }

    fn object(&mut self, key: &'static str) -> Object<'_> {
        self.key(key);
        Object::open(self.out)
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// How many leading bytes need no escape, found eight at a time: most strings have none to
/// escape, and this is the hot loop of writing an answer.
fn clean_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether any byte of `w` is zero (exact for the word as a whole).
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS != 0;
    let mut chunks = bytes.chunks_exact(8);
    let mut clean = 0;
    for chunk in &mut chunks {
        let w = u64::from_ne_bytes(chunk.try_into().unwrap_or_default());
        // A byte below 0x20, a quote, or a backslash. (A false alarm would only cost the
        // byte-by-byte path; a byte that needs escaping is never missed.)
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
        if control
            || has_zero(w ^ (ONES * u64::from(b'"')))
            || has_zero(w ^ (ONES * u64::from(b'\\')))
        {
            break;
        }
        clean += 8;
    }
    clean
        + bytes[clean..]
            .iter()
            .take_while(|b| !needs_escape(**b))
            .count()
}

/// A JSON string, escaped exactly as serde_json escapes it.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

/// The inside of a JSON string: `s`, escaped exactly as serde_json escapes it.
fn escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(clean_prefix(bytes)) {
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes formatted text into a JSON string, escaped as it goes: a reason is written
/// straight into the answer, never into a `String` of its own first.
struct Escaping<'o>(&'o mut Vec<u8>);

impl std::fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        escaped(self.0, s);
        Ok(())
    }
}

/// A string that has nothing to escape by construction (codes, UUIDs, dates).
fn plain(out: &mut Vec<u8>, s: &str) {
    debug_assert!(s.bytes().all(|b| !needs_escape(b)));
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

impl Json for str {
    fn write(&self, out: &mut Vec<u8>) {
        string(out, self);
    }
}

impl Json for Reason<'_> {
    /// As its `Serialize`: its `Display`, escaped, piece by piece where it has pieces.
    fn write(&self, out: &mut Vec<u8>) {
        use std::fmt::Write;
        out.push(b'"');
        if !self.pieces(|piece| escaped(out, piece)) {
            // Writing into a vector cannot fail.
            let _ = write!(Escaping(out), "{self}");
        }
        out.push(b'"');
    }
}

impl Json for bool {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl Json for i32 {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
    }
}

impl Json for i64 {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
    }
}

impl Json for f64 {
    /// As serde_json: the shortest round-tripping form, and `null` for NaN and infinities.
    fn write(&self, out: &mut Vec<u8>) {
        if let Some(tenths) = whole_tenths(*self) {
            // Distances are rounded to tenths, and for those the shortest form is the tenths
            // themselves: two integers to write, no float formatting.
            out.extend_from_slice(itoa::Buffer::new().format(tenths / 10).as_bytes());
            out.push(b'.');
            out.push(b'0' + (tenths % 10) as u8);
        } else if self.is_finite() {
            out.extend_from_slice(ryu::Buffer::new().format_finite(*self).as_bytes());
        } else {
            out.extend_from_slice(b"null");
        }
    }
}

/// `v` in tenths, when it is a whole number of tenths (as near as an f64 comes) from 0 to
/// 10^14. Doubles that small are less than a tenth apart, so no shorter decimal than the
/// tenths reads back as `v`.
fn whole_tenths(v: f64) -> Option<u64> {
    let tenths = (v * 10.0).round();
    (v.is_sign_positive() && tenths < 1e15 && tenths / 10.0 == v).then_some(tenths as u64)
}

impl Json for Uuid {
    fn write(&self, out: &mut Vec<u8>) {
        plain(
            out,
            self.hyphenated().encode_lower(&mut Uuid::encode_buffer()),
        );
    }
}

impl Json for DateTime<Utc> {
    /// As chrono's `Serialize`: RFC 3339 with `Z` and as many fraction digits as it needs.
    fn write(&self, out: &mut Vec<u8>) {
        plain(out, &self.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    }
}

impl<T: Json> Json for Option<T> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Some(value) => value.write(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: Json + ?Sized> Json for &T {
    fn write(&self, out: &mut Vec<u8>) {
        (**self).write(out);
    }
}

impl<T: Json> Json for [T] {
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, value) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            value.write(out);
        }
        out.push(b']');
    }
}

impl<T: Json> Json for Vec<T> {
    fn write(&self, out: &mut Vec<u8>) {
        self.as_slice().write(out);
    }
}

impl<T: Json> Json for Box<[T]> {
    fn write(&self, out: &mut Vec<u8>) {
        (**self).write(out);
    }
}

impl Json for Need {
    fn write(&self, out: &mut Vec<u8>) {
        plain(out, self.code());
    }
}

impl Json for PhoneKind {
    fn write(&self, out: &mut Vec<u8>) {
        plain(out, self.code());
    }
}

impl Json for LanguageCode {
    /// Two lowercase ASCII letters: nothing to escape, and no UTF-8 check needed.
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        out.extend_from_slice(self.as_bytes());
        out.push(b'"');
    }
}

impl Json for LocationSource {
    fn write(&self, out: &mut Vec<u8>) {
        plain(
            out,
            match self {
                LocationSource::Coordinates => "coordinates",
                LocationSource::PostalCode => "postal_code",
                LocationSource::Region => "region",
            },
        );
    }
}

impl Json for OrganizationRef<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        let mut o = Object::open(out);
        o.field("id", &self.id);
        o.field("name", self.name);
        o.close();
    }
}

impl Json for AddressView {
    fn write(&self, out: &mut Vec<u8>) {
        let parts = self.parts();
        let mut o = Object::open(out);
        o.field_unless_none("street", &parts.street);
        o.field("city", &parts.city);
        o.field("region", &parts.region);
        o.field_unless_none("postal_code", &parts.postal_code);
        o.field("country", &parts.country);
        o.close();
    }
}

impl Json for PhoneView {
    fn write(&self, out: &mut Vec<u8>) {
        let words = self.words();
        let mut o = Object::open(out);
        o.field("number", words.number);
        o.field("type", &self.kind);
        o.field("label", &words.label);
        o.field("keyword", &words.keyword);
        o.field("available_24_7", &self.available_24_7);
        o.field("languages", &self.languages);
        o.close();
    }
}

impl Json for CapacityView {
    fn write(&self, out: &mut Vec<u8>) {
        let mut o = Object::open(out);
        o.field("available", &self.available);
        o.field("total", &self.total);
        o.field("reported_at", &self.reported_at);
        o.field("stale", &self.stale);
        o.close();
    }
}

/// A service's entry, in runs: fixed fields (the same in every answer for a national
/// service), each followed by fields that vary with the query. Both writers below go through
/// it, so they write the same fields in the same order.
const RUNS: usize = 4;

fn fixed_run(o: &mut Object<'_>, m: &ServiceMatch<'_>, run: usize) {
    match run {
        0 => {
            o.field("service_id", &m.service_id);
            o.field("name", m.name);
            o.field("organization", &m.organization);
        }
        1 => o.field("coverage_type", m.coverage_type),
        2 => {
            o.field("distance_band", &m.distance_band);
            o.field("confidential_location", &m.confidential_location);
            o.field("address", &m.address);
            o.field_unless_none("front_door", &m.front_door);
            o.field("phones", m.phones);
            o.field("languages", m.languages);
        }
        _ => {
            o.field("verified_at", &m.verified_at);
            o.field("demo", &m.demo);
        }
    }
}

fn varying_run(o: &mut Object<'_>, m: &ServiceMatch<'_>, run: usize) {
    match run {
        0 => o.field("needs_met", &m.needs_met),
        1 => o.field("distance_km", &m.distance_km),
        2 => {
            o.field("open_now", &m.open_now);
            o.field("capacity", &m.capacity);
        }
        _ => o.field("why", &m.why),
    }
}

/// The fixed runs of a national service's entry, written once per index and copied into
/// each answer, where the 20 hotlines written afresh cost a sixth of a match.
#[derive(Debug)]
pub struct FixedParts {
    bytes: Box<[u8]>,
    /// Where each fixed run ends in `bytes`.
    ends: [usize; RUNS],
}

impl FixedParts {
    /// The fixed runs of `m`'s entry.
    pub fn of(m: &ServiceMatch<'_>) -> FixedParts {
        let mut out = Vec::new();
        let mut o = Object::open(&mut out);
        let mut ends = [0; RUNS];
        for (run, end) in ends.iter_mut().enumerate() {
            fixed_run(&mut o, m, run);
            *end = o.out.len();
        }
        FixedParts {
            bytes: out.into_boxed_slice(),
            ends,
        }
    }
}

impl Json for ServiceMatch<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        let mut o = match self.fixed {
            Some(_) => Object { out, empty: false },
            None => Object::open(out),
        };
        let mut start = 0;
        for run in 0..RUNS {
            match self.fixed {
                Some(fixed) => {
                    o.out
                        .extend_from_slice(&fixed.bytes[start..fixed.ends[run]]);
                    start = fixed.ends[run];
                }
                None => fixed_run(&mut o, self, run),
            }
            varying_run(&mut o, self, run);
        }
        o.close();
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde::Serialize;

    use crate::boundaries::Boundaries;
    use crate::domain::eligibility::Facet;
    use crate::matching::index::PhoneWords;
    use crate::matching::query::NeedSet;

    use super::*;

    #[derive(Serialize)]
    struct Location {
        source: LocationSource,
        precision_km: f64,
    }

    /// The answer as the API defined it with serde, before this writer.
    #[derive(Serialize)]
    struct Answer<'a> {
        #[serde(flatten)]
        outcome: &'a MatchOutcome<'a>,
        location: Location,
        index_version: i64,
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z ]{0,12}",
            any::<String>(),
            "[\"\\\\\\x00-\\x1f\\x7f é☎𝄞]{0,12}",
        ]
    }

    fn optional_text() -> impl Strategy<Value = Option<String>> {
        prop::option::of(text())
    }

    fn address() -> impl Strategy<Value = AddressView> {
        (
            optional_text(),
            optional_text(),
            optional_text(),
            optional_text(),
            optional_text(),
        )
            .prop_map(|(street, city, region, postal_code, country)| {
                AddressView::new(
                    street.as_deref(),
                    city.as_deref(),
                    region.as_deref(),
                    postal_code.as_deref(),
                    country.as_deref(),
                )
            })
    }

    fn language() -> impl Strategy<Value = LanguageCode> {
        prop::sample::select(vec!["en", "es", "zh", "vi", "ar"])
            .prop_map(|code| LanguageCode::from_trusted(code).expect("a known code"))
    }

    fn reason() -> impl Strategy<Value = Reason<'static>> {
        let regions = Boundaries::bundled().regions();
        prop_oneof![
            prop::sample::select(vec!["open now", "serves the whole country"])
                .prop_map(Reason::Says),
            any::<u16>().prop_map(|bits| Reason::Offers(NeedSet(bits))),
            prop_oneof![
                0.0..500.0f64,
                (0u16..500).prop_map(f64::from),
                Just(-0.0),
                Just(1e-7),
                Just(1e300),
            ]
            .prop_map(Reason::WithinKm),
            (1.0..100.0f64).prop_map(Reason::OutsideKm),
            prop::sample::select(vec!["within 5 km", "more than 100 km"])
                .prop_map(Reason::OutsideBand),
            (any::<u8>(), prop::option::of(any::<u8>()))
                .prop_map(|(min, max)| Reason::Ages { min, max }),
            prop::sample::select(Facet::ALL.to_vec()).prop_map(Reason::Has),
            prop::collection::vec(language(), 1..3).prop_map(Reason::Speaks),
            (0..regions.len()).prop_map(move |i| Reason::Serves(&regions[i])),
        ]
    }

    fn phone() -> impl Strategy<Value = PhoneView> {
        (
            text(),
            prop::sample::select(vec![PhoneKind::Voice, PhoneKind::Text]),
            optional_text(),
            optional_text(),
            any::<bool>(),
            prop::collection::vec(language(), 0..3),
        )
            .prop_map(
                |(number, kind, label, keyword, available_24_7, languages)| {
                    PhoneView::new(
                        PhoneWords {
                            number: &number,
                            label: label.as_deref(),
                            keyword: keyword.as_deref(),
                        },
                        kind,
                        available_24_7,
                        languages.into_boxed_slice(),
                    )
                },
            )
    }

    /// Whole seconds, milliseconds, microseconds and nanoseconds: chrono writes each
    /// differently.
    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        (
            0i64..4_000_000_000,
            prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|m| m * 1_000_000),
                (0u32..1_000_000).prop_map(|u| u * 1000),
                0u32..1_000_000_000
            ],
        )
            .prop_map(|(secs, nanos)| Utc.timestamp_opt(secs, nanos).unwrap())
    }

    /// What a `ServiceMatch` borrows, owned.
    #[derive(Debug, Clone)]
    struct Owned {
        id: u128,
        name: String,
        organization: String,
        needs: Vec<Need>,
        distance_km: Option<f64>,
        distance_band: Option<&'static str>,
        address: Option<AddressView>,
        front_door: Option<AddressView>,
        phones: Vec<PhoneView>,
        languages: Vec<LanguageCode>,
        open_now: Option<bool>,
        capacity: Option<(i32, i32, DateTime<Utc>, bool)>,
        verified_at: Option<DateTime<Utc>>,
        flags: (bool, bool),
        why: Vec<Reason<'static>>,
    }

    fn owned() -> impl Strategy<Value = Owned> {
        (
            (
                any::<u128>(),
                text(),
                text(),
                prop::sample::subsequence(Need::ALL.to_vec(), 0..4),
                prop::option::of(prop_oneof![
                    0.0..500.0f64,
                    (0u32..200_000).prop_map(|tenths| f64::from(tenths) / 10.0),
                    Just(f64::NAN),
                    Just(-0.0),
                    Just(12.0),
                    Just(0.30000000000000004),
                ]),
                prop::option::of(prop::sample::select(vec!["within 5 km", "nationwide"])),
                prop::option::of(address()),
                prop::option::of(address()),
            ),
            (
                prop::collection::vec(phone(), 0..3),
                prop::collection::vec(language(), 0..3),
                prop::option::of(any::<bool>()),
                prop::option::of((any::<i32>(), any::<i32>(), time(), any::<bool>())),
                prop::option::of(time()),
                any::<(bool, bool)>(),
                prop::collection::vec(reason(), 0..4),
            ),
        )
            .prop_map(
                |(
                    (
                        id,
                        name,
                        organization,
                        needs,
                        distance_km,
                        distance_band,
                        address,
                        front_door,
                    ),
                    (phones, languages, open_now, capacity, verified_at, flags, why),
                )| Owned {
                    id,
                    name,
                    organization,
                    needs,
                    distance_km,
                    distance_band,
                    address,
                    front_door,
                    phones,
                    languages,
                    open_now,
                    capacity,
                    verified_at,
                    flags,
                    why,
                },
            )
    }

    fn view(o: &Owned) -> ServiceMatch<'_> {
        ServiceMatch {
            service_id: Uuid::from_u128(o.id),
            name: &o.name,
            organization: OrganizationRef {
                id: Uuid::from_u128(!o.id),
                name: &o.organization,
            },
            needs_met: o.needs.clone(),
            coverage_type: "radius",
            distance_km: o.distance_km,
            distance_band: o.distance_band,
            confidential_location: o.flags.0,
            address: o.address.as_ref(),
            front_door: o.front_door.as_ref(),
            phones: &o.phones,
            languages: &o.languages,
            open_now: o.open_now,
            hours: &[],
            traits: Default::default(),
            capacity: o
                .capacity
                .map(|(available, total, reported_at, stale)| CapacityView {
                    available,
                    total,
                    reported_at,
                    stale,
                }),
            verified_at: o.verified_at,
            demo: o.flags.1,
            why: o.why.clone(),
            fixed: None,
        }
    }

    fn render(list: &[Owned]) -> Vec<ServiceMatch<'_>> {
        list.iter().map(view).collect()
    }

    proptest! {
        /// Long runs of clean text with one byte to escape anywhere in them: the eight-at-a-
        /// time scan must hand over at the right byte.
        #[test]
        fn strings_escape_like_serde_json(
            s in prop_oneof![
                "[a-z ]{0,30}[\"\\\\\\x00-\\x1f]?[a-zé ]{0,30}",
                "[a-z\\x7f-\\u{ff}]{0,40}",
                any::<String>(),
            ]
        ) {
            let mut out = Vec::new();
            string(&mut out, &s);
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }

    proptest! {
        /// An entry written from its fixed parts is the entry written whole.
        #[test]
        fn fixed_parts_write_what_the_whole_entry_writes(o in owned()) {
            let whole = view(&o);
            let fixed = FixedParts::of(&whole);
            let from_parts = ServiceMatch { fixed: Some(&fixed), ..view(&o) };
            let (mut expected, mut written) = (Vec::new(), Vec::new());
            whole.write(&mut expected);
            from_parts.write(&mut written);
            prop_assert_eq!(String::from_utf8(written).unwrap(), String::from_utf8(expected).unwrap());
        }
    }

    proptest! {
        #[test]
        fn writes_exactly_what_serde_json_writes(
            lists in prop::collection::vec(prop::collection::vec(owned(), 0..4), 3),
            source in prop::sample::select(vec![
                LocationSource::Coordinates, LocationSource::PostalCode, LocationSource::Region,
            ]),
            precision_km in prop_oneof![Just(1.0f64), 0.0..10.0f64],
            index_version in any::<i64>(),
        ) {
            let outcome = MatchOutcome {
                results: render(&lists[0]),
                hotlines: render(&lists[1]),
                nearby_outside_coverage: render(&lists[2]),
                unmet_needs: super::super::query::NeedSet::default(),
            };
            let expected = serde_json::to_vec(&Answer {
                outcome: &outcome,
                location: Location { source, precision_km },
                index_version,
            })
            .unwrap();
            let mut written = Vec::new();
            answer(&outcome, source, precision_km, index_version, &mut written);
            prop_assert_eq!(String::from_utf8(written).unwrap(), String::from_utf8(expected).unwrap());
        }
    }
}

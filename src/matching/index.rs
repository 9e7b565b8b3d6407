//! An immutable in-memory index of services for matching: R-trees of radius centres (see
//! `centres`) and of area boxes, services by region, and the compact fields filters and
//! results need.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use rstar::{AABB, Envelope as _, RTree, RTreeNode, RTreeObject};
use serde::Serialize;
use utoipa::openapi::{RefOr, Schema};
use uuid::Uuid;

use super::centres::{
    self, CentreBox, CentreEntry, CentreTree, NearestVisitor, NeedSetTrees, NeedSetTreesBuilder,
    RIM,
};
use super::encode::FixedParts;
use super::query::{MatchQuery, NeedSet, facet_bit, gender_bit, need_bit};
use super::regions::{envelope_around, wrapped};
use super::shape::Shape;
use crate::boundaries::Boundaries;
use crate::domain::coordinates::{chord2, chord2_km, haversine_km, km_chord2, unit_vector};
use crate::domain::coverage::{BoundingBox, Coverage};
use crate::domain::eligibility::{Eligibility, Facet};
use crate::domain::language::LanguageCode;
use crate::domain::phone::PhoneKind;
use crate::domain::schedule::Schedule;
use crate::domain::{Coordinates, Need};
use crate::routes::services::{AddressResponse, PhoneResponse};

/// Optional text parts packed into one string: a million services' addresses and phone
/// lines as separately boxed strings cost some 100 MB more. Each part is a char holding its
/// byte length plus one (0 when absent), then its text, so every slice taken falls on a char
/// boundary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PackedParts(Box<str>);

impl PackedParts {
    /// The longest part kept, in bytes: the largest length a char can carry (validation
    /// allows far less).
    const MAX_PART: usize = 0xD7FE;

    fn new(parts: &[Option<&str>]) -> PackedParts {
        let mut packed = String::with_capacity(parts.iter().flatten().map(|p| p.len() + 3).sum());
        for part in parts {
            match part {
                None => packed.push('\0'),
                Some(text) => {
                    let text = &text[..text.floor_char_boundary(Self::MAX_PART)];
                    let length = u32::try_from(text.len() + 1)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\0');
                    packed.push(length);
                    packed.push_str(text);
                }
            }
        }
        PackedParts(packed.into_boxed_str())
    }

    /// The first `N` parts, read in one pass.
    fn parts<const N: usize>(&self) -> [Option<&str>; N] {
        let mut parts = [None; N];
        let mut rest = &*self.0;
        for part in &mut parts {
            let Some(length) = rest.chars().next() else {
                break;
            };
            rest = &rest[length.len_utf8()..];
            if let Some(len) = (length as usize).checked_sub(1) {
                let Some((text, after)) = rest.split_at_checked(len) else {
                    break;
                };
                *part = Some(text);
                rest = after;
            }
        }
        parts
    }
}

/// Reasons a national line gives when it comes back although it does not meet the languages
/// or open-now asked for (only when no line does: see `Snapshot::find`).
pub const LACKS_LANGUAGE: &str = "does not list the language asked for: ask for an interpreter";
pub const NOT_OPEN_NOW: &str = "not open now";
pub const LACKS_REQUIREMENT: &str = "does not list everything required: ask";
pub const OTHER_AGES: &str = "does not list the age given: ask";
pub const OTHER_GENDERS: &str = "does not list the gender given: ask";

/// A phone line as results show it; number, label and keyword packed in one string.
#[derive(Debug, Clone)]
pub struct PhoneView {
    text: PackedParts,
    pub kind: PhoneKind,
    pub available_24_7: bool,
    pub languages: Box<[LanguageCode]>,
}

/// A phone line's words, borrowed from its [`PhoneView`].
#[derive(Debug, Clone, Copy)]
pub struct PhoneWords<'a> {
    pub number: &'a str,
    pub label: Option<&'a str>,
    pub keyword: Option<&'a str>,
}

impl PhoneView {
    pub fn new(
        words: PhoneWords<'_>,
        kind: PhoneKind,
        available_24_7: bool,
        languages: Box<[LanguageCode]>,
    ) -> PhoneView {
        PhoneView {
            text: PackedParts::new(&[Some(words.number), words.label, words.keyword]),
            kind,
            available_24_7,
            languages,
        }
    }

    pub fn number(&self) -> &str {
        self.words().number
    }

    pub fn label(&self) -> Option<&str> {
        self.words().label
    }

    pub fn keyword(&self) -> Option<&str> {
        self.words().keyword
    }

    pub fn words(&self) -> PhoneWords<'_> {
        let [number, label, keyword] = self.text.parts();
        PhoneWords {
            number: number.unwrap_or_default(),
            label,
            keyword,
        }
    }
}

/// As the API has always shown a phone line.
impl Serialize for PhoneView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(6))?;
        let words = self.words();
        map.serialize_entry("number", words.number)?;
        map.serialize_entry("type", &self.kind)?;
        map.serialize_entry("label", &words.label)?;
        map.serialize_entry("keyword", &words.keyword)?;
        map.serialize_entry("available_24_7", &self.available_24_7)?;
        map.serialize_entry("languages", &self.languages)?;
        map.end()
    }
}

/// A view that a match answer writes exactly as the directory API writes `$api`, so that the
/// API document gives it `$api`'s schema (a test checks real answers against it).
macro_rules! schema_as {
    ($view:ty => $api:ty) => {
        impl utoipa::PartialSchema for $view {
            fn schema() -> RefOr<Schema> {
                <$api as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $view {
            fn name() -> Cow<'static, str> {
                <$api as utoipa::ToSchema>::name()
            }

            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                <$api as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

schema_as!(PhoneView => PhoneResponse);

/// An address's parts (street, city, region, postal code, country), each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressView(PackedParts);

impl AddressView {
    pub fn new(
        street: Option<&str>,
        city: Option<&str>,
        region: Option<&str>,
        postal_code: Option<&str>,
        country: Option<&str>,
    ) -> AddressView {
        AddressView(PackedParts::new(&[
            street,
            city,
            region,
            postal_code,
            country,
        ]))
    }

    pub fn street(&self) -> Option<&str> {
        self.parts().street
    }

    pub fn city(&self) -> Option<&str> {
        self.parts().city
    }

    pub fn region(&self) -> Option<&str> {
        self.parts().region
    }

    pub fn postal_code(&self) -> Option<&str> {
        self.parts().postal_code
    }

    pub fn country(&self) -> Option<&str> {
        self.parts().country
    }

    /// Every part, read in one pass.
    pub fn parts(&self) -> AddressParts<'_> {
        let [street, city, region, postal_code, country] = self.0.parts();
        AddressParts {
            street,
            city,
            region,
            postal_code,
            country,
        }
    }
}

pub struct AddressParts<'a> {
    pub street: Option<&'a str>,
    pub city: Option<&'a str>,
    pub region: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub country: Option<&'a str>,
}

/// As the API has always shown an address: street and postal code left out when absent.
impl Serialize for AddressView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let parts = self.parts();
        if let Some(street) = parts.street {
            map.serialize_entry("street", street)?;
        }
        map.serialize_entry("city", &parts.city)?;
        map.serialize_entry("region", &parts.region)?;
        if let Some(postal_code) = parts.postal_code {
            map.serialize_entry("postal_code", postal_code)?;
        }
        map.serialize_entry("country", &parts.country)?;
        map.end()
    }
}

schema_as!(AddressView => AddressResponse);

/// An organization as results show it; its services share one.
#[derive(Debug)]
pub struct OrganizationView {
    pub id: Uuid,
    pub name: Box<str>,
}

/// Where a service is, as matching may use and show it.
#[derive(Debug, Clone)]
pub enum Site {
    None,
    Public {
        at: Coordinates,
        address: AddressView,
    },
    /// Only the front door (city, region, country); the real site is never in the index.
    Confidential {
        front_door: AddressView,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct CompactSchedule {
    /// Bit 0 = Monday .. bit 6 = Sunday.
    weekdays: u8,
    opens: u16,
    closes: u16,
    timezone: chrono_tz::Tz,
}

/// A time zone as people in the US say it ("Eastern time"); other zones by their name.
pub fn zone_words(zone: chrono_tz::Tz, spanish: bool) -> String {
    use chrono_tz::Tz;
    let (en, es) = match zone {
        Tz::America__New_York
        | Tz::America__Detroit
        | Tz::America__Indiana__Indianapolis
        | Tz::America__Kentucky__Louisville => ("Eastern time", "hora del Este"),
        Tz::America__Chicago | Tz::America__Indiana__Knox | Tz::America__Menominee => {
            ("Central time", "hora del Centro")
        }
        Tz::America__Denver | Tz::America__Boise => ("Mountain time", "hora de la Montaña"),
        Tz::America__Phoenix => ("Arizona time", "hora de Arizona"),
        Tz::America__Los_Angeles => ("Pacific time", "hora del Pacífico"),
        Tz::America__Anchorage | Tz::America__Juneau => ("Alaska time", "hora de Alaska"),
        Tz::Pacific__Honolulu => ("Hawaii time", "hora de Hawái"),
        Tz::America__Puerto_Rico => ("Puerto Rico time", "hora de Puerto Rico"),
        other => {
            let name = other.name().replace('_', " ");
            return if spanish {
                format!("hora de {name}")
            } else {
                format!("{name} time")
            };
        }
    };
    (if spanish { es } else { en }).to_string()
}

/// A weekday's short name (0 is Monday): "Mon", or "lun" in Spanish.
pub fn day_name(day: u32, spanish: bool) -> &'static str {
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const ES: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];
    let names = if spanish { ES } else { EN };
    names[day as usize % 7]
}

/// A time of day on a US clock: "9:00 AM", or "9:00 a. m." in Spanish; minutes past
/// midnight.
pub fn clock(minutes: u16, spanish: bool) -> String {
    let (hour, minute) = (minutes / 60 % 24, minutes % 60);
    let twelve = if hour % 12 == 0 { 12 } else { hour % 12 };
    let half = match (hour < 12, spanish) {
        (true, false) => "AM",
        (false, false) => "PM",
        (true, true) => "a. m.",
        (false, true) => "p. m.",
    };
    format!("{twelve}:{minute:02} {half}")
}

impl CompactSchedule {
    pub fn from_schedule(s: &Schedule) -> Self {
        let minutes = |t: chrono::NaiveTime| u16::try_from(t.hour() * 60 + t.minute()).unwrap_or(0);
        CompactSchedule {
            weekdays: s
                .weekdays
                .iter()
                .fold(0u8, |acc, d| acc | (1u8 << ((d - 1).clamp(0, 6)))),
            opens: minutes(s.opens_at),
            closes: minutes(s.closes_at),
            timezone: s.timezone,
        }
    }

    /// "Mon Tue 9:00 AM–5:00 PM (Central time)" (or "Every day, 24 hours"); "lun mar
    /// 9:00 a. m.–5:00 p. m. (hora del Centro)" when `spanish`.
    pub fn describe(&self, spanish: bool) -> String {
        let days = if self.weekdays == 0x7f {
            (if spanish {
                "todos los días"
            } else {
                "Every day"
            })
            .to_string()
        } else {
            (0..7)
                .filter(|d| self.weekdays & (1 << d) != 0)
                .map(|d| day_name(d, spanish))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let time = |m: u16| clock(m, spanish);
        if self.opens == 0 && self.closes == 0 {
            format!("{days}, {}", if spanish { "24 horas" } else { "24 hours" })
        } else if self.opens == self.closes {
            let zone = zone_words(self.timezone, spanish);
            let hours = if spanish {
                "24 horas desde las"
            } else {
                "24 hours from"
            };
            format!("{days}, {hours} {} ({zone})", time(self.opens))
        } else {
            let zone = zone_words(self.timezone, spanish);
            format!("{days} {}–{} ({zone})", time(self.opens), time(self.closes))
        }
    }

    /// When this schedule next opens after `now`, in its own time zone: within a week, or
    /// never for a schedule without days.
    pub fn next_opening(&self, now: DateTime<Utc>) -> Option<DateTime<chrono_tz::Tz>> {
        let local = now.with_timezone(&self.timezone);
        (0..=7).find_map(|ahead| {
            let date = local
                .date_naive()
                .checked_add_days(chrono::Days::new(ahead))?;
            let day = date.weekday().num_days_from_monday();
            if self.weekdays & (1 << day) == 0 {
                return None;
            }
            let at = self.moment(date, self.opens)?;
            (at > local).then_some(at)
        })
    }

    /// `minutes` past midnight on `date` in this schedule's time zone. A time in a clock
    /// change's gap (02:30 the night clocks go from 02:00 to 03:00) is when the gap ends, as
    /// `is_open` has it: the next hour's start.
    fn moment(&self, date: chrono::NaiveDate, minutes: u16) -> Option<DateTime<chrono_tz::Tz>> {
        let time =
            chrono::NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)?;
        let local_time = date.and_time(time);
        self.timezone
            .from_local_datetime(&local_time)
            .earliest()
            .or_else(|| {
                let after = (local_time + chrono::Duration::hours(1)).with_minute(0)?;
                self.timezone.from_local_datetime(&after).earliest()
            })
    }

    /// When these hours, open at `now`, end, in their own time zone; None when they are not
    /// open or never end (24 hours every day).
    pub fn closing_after(&self, now: DateTime<Utc>) -> Option<DateTime<chrono_tz::Tz>> {
        if !self.is_open(now) || (self.opens == self.closes && self.weekdays == 0b111_1111) {
            return None;
        }
        let local = now.with_timezone(&self.timezone);
        // Hours that run past midnight (or for a whole day) end on the day after they began.
        (0..=1).find_map(|ahead| {
            let date = local
                .date_naive()
                .checked_add_days(chrono::Days::new(ahead))?;
            let at = self.moment(date, self.closes)?;
            (at > local).then_some(at)
        })
    }

    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let local = now.with_timezone(&self.timezone);
        let day = local.weekday().num_days_from_monday();
        let yesterday = (day + 6) % 7;
        let t = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        let on = |d: u32| self.weekdays & (1 << d) != 0;
        if self.opens < self.closes {
            on(day) && (self.opens..self.closes).contains(&t)
        } else {
            // Closing at or before opening runs past midnight; at the same time, for a whole
            // day from the opening (from 00:00, the listed days themselves).
            (on(day) && t >= self.opens) || (on(yesterday) && t < self.closes)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum IndexedCoverage {
    Radius {
        center: Coordinates,
        radius_km: f64,
    },
    Area {
        shape: u32,
    },
    /// A bundled region; national coverage is the nation's region.
    Region {
        region: u32,
        national: bool,
    },
}

#[derive(Debug, Clone)]
pub struct IndexedService {
    pub id: Uuid,
    pub name: Box<str>,
    pub organization: std::sync::Arc<OrganizationView>,
    pub traits: Traits,
    pub languages: Box<[LanguageCode]>,
    pub site: Site,
    pub phones: Box<[PhoneView]>,
    pub schedules: Box<[CompactSchedule]>,
    pub capacity: Option<(i32, i32, DateTime<Utc>)>,
    pub verified_at: Option<DateTime<Utc>>,
    pub demo: bool,
    pub coverage: Box<[IndexedCoverage]>,
}

/// A service as the index builder takes it: parsed domain values plus display fields.
#[derive(Clone)]
pub struct ServiceInput {
    pub id: Uuid,
    pub name: String,
    pub organization: std::sync::Arc<OrganizationView>,
    pub needs: NeedSet,
    pub eligibility: Eligibility,
    pub languages: Vec<LanguageCode>,
    pub site: Site,
    pub phones: Vec<PhoneView>,
    pub schedules: Vec<CompactSchedule>,
    pub capacity: Option<(i32, i32, DateTime<Utc>)>,
    pub verified_at: Option<DateTime<Utc>>,
    pub demo: bool,
    pub coverage: Vec<Coverage>,
}

impl IndexedService {
    pub fn is_confidential(&self) -> bool {
        matches!(self.site, Site::Confidential { .. })
    }

    /// The rank key of a service ranked by its public site: the squared unit chord from
    /// `unit` (the query point) to the site; infinite without one. Matching ranks by it and
    /// the area walk rules areas out by it, so both must read it from here.
    pub fn site_key(&self, unit: [f64; 3]) -> f64 {
        match &self.site {
            Site::Public { at, .. } => chord2(unit, unit_vector(*at)),
            _ => f64::INFINITY,
        }
    }

    /// Open now: a 24/7 line always is, whatever the office hours; otherwise by its
    /// schedules, and unknown without any.
    pub fn open_now(&self, now: DateTime<Utc>) -> Option<bool> {
        if self.phones.iter().any(|p| p.available_24_7) {
            Some(true)
        } else if !self.schedules.is_empty() {
            Some(self.schedules.iter().any(|s| s.is_open(now)))
        } else {
            None
        }
    }

    /// Whether the service offers a requested need and passes every filter given.
    pub fn fits(&self, q: &MatchQuery) -> bool {
        self.traits.needs.count_common(q.needs) > 0
            && self.traits.passes(q)
            && self.passes_record_filters(q)
    }

    /// What of the languages and open-now asked for this service does not meet, in words
    /// ([`LACKS_LANGUAGE`], [`NOT_OPEN_NOW`]).
    pub fn lacks(&self, q: &MatchQuery) -> impl Iterator<Item = &'static str> {
        let speaks = |l: &LanguageCode| {
            self.languages.contains(l) || self.phones.iter().any(|p| p.languages.contains(l))
        };
        let silent = !q.languages.is_empty() && !q.languages.iter().any(speaks);
        let closed = q.open_now && self.open_now(q.now) != Some(true);
        [
            silent.then_some(LACKS_LANGUAGE),
            closed.then_some(NOT_OPEN_NOW),
        ]
        .into_iter()
        .flatten()
    }

    /// Everything asked for that this service does not meet, in words: what a crisis line
    /// that comes back although it does not fit says ([`LACKS_REQUIREMENT`], [`OTHER_AGES`],
    /// [`OTHER_GENDERS`], and what [`Self::lacks`] says).
    pub fn misses(&self, q: &MatchQuery) -> impl Iterator<Item = &'static str> {
        let t = self.traits;
        [
            (!t.has_required(q)).then_some(LACKS_REQUIREMENT),
            (!t.takes_age(q)).then_some(OTHER_AGES),
            (!t.takes_gender(q)).then_some(OTHER_GENDERS),
        ]
        .into_iter()
        .flatten()
        .chain(self.lacks(q))
    }

    /// The filters [`Traits`] cannot answer: languages and open now.
    pub fn passes_record_filters(&self, q: &MatchQuery) -> bool {
        self.lacks(q).next().is_none()
    }

    /// A byte or word from the record itself and from each part it points to, and from what
    /// those point to: see `matching::warm`, which reads them for every chosen result
    /// before any is rendered. A part added to the record should be read here too, or the
    /// renderer meets its cache miss on its own again.
    pub fn touch(&self, depth: u8) -> u64 {
        let first = |b: &[u8]| b.first().copied().map_or(0, u64::from);
        match depth {
            0 => self.id.as_u64_pair().0 ^ u64::from(self.demo) ^ u64::from(self.traits.flags),
            1 => {
                let address = match &self.site {
                    Site::Public { address, .. }
                    | Site::Confidential {
                        front_door: address,
                    } => first((address.0).0.as_bytes()),
                    Site::None => 0,
                };
                first(self.name.as_bytes())
                    ^ self.organization.id.as_u64_pair().0
                    ^ self
                        .languages
                        .first()
                        .map_or(0, |l| u64::from(l.as_bytes()[0]))
                    ^ address
                    ^ self
                        .phones
                        .first()
                        .map_or(0, |p| u64::from(p.available_24_7))
                    ^ self.schedules.len() as u64
                    ^ self
                        .coverage
                        .first()
                        .map_or(0, |c| matches!(c, IndexedCoverage::Area { .. }) as u64)
            }
            _ => {
                first(self.organization.name.as_bytes())
                    ^ self
                        .phones
                        .iter()
                        .map(|p| first(p.text.0.as_bytes()) ^ p.languages.len() as u64)
                        .fold(0, |a, b| a ^ b)
            }
        }
    }

    /// Whether the public site is the centre of the radius entry in `slot`.
    pub fn site_is_centre(&self, slot: u8) -> bool {
        match (&self.site, self.radius(slot)) {
            (Site::Public { at, .. }, Some((center, _))) => *at == center,
            _ => false,
        }
    }

    /// The centre and radius of a radius coverage entry.
    pub fn radius(&self, slot: u8) -> Option<(Coordinates, f64)> {
        match self.coverage.get(usize::from(slot)) {
            Some(IndexedCoverage::Radius { center, radius_km }) => Some((*center, *radius_km)),
            _ => None,
        }
    }
}

/// How a service's coverage reached the query point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reach {
    /// Inside a radius; `center_chord2` is the squared unit chord to its centre, `slot` the
    /// entry's place in the service's coverage list.
    Radius {
        center_chord2: f64,
        slot: u8,
        /// The service's public site is the radius centre, so `center_chord2` is also the
        /// distance to the site.
        site_at_centre: bool,
    },
    Area,
    Region {
        region: u32,
    },
    National,
    /// A national service, for a point outside its country: it comes back with the
    /// hotlines all the same (DESIGN.md: nothing found is never a dead end), saying so.
    OutsideNation,
}

impl Reach {
    pub fn is_local(self) -> bool {
        !matches!(self, Reach::National | Reach::OutsideNation)
    }

    /// Lower is more specific: radius and area, then region, then national.
    pub fn specificity(self) -> u8 {
        match self {
            Reach::Radius { .. } | Reach::Area => 0,
            Reach::Region { .. } => 1,
            Reach::National | Reach::OutsideNation => 2,
        }
    }

    /// Among reaches of one service as specific as each other and as near, lower is shown:
    /// radius entries in the order given (their slot), then the rest.
    pub fn listed_order(self) -> u16 {
        match self {
            Reach::Radius { slot, .. } => u16::from(slot),
            _ => u16::MAX,
        }
    }
}

/// What the filters need of a service, copied into each of its index entries so that most
/// entries are kept or refused without reading the service record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traits {
    pub needs: NeedSet,
    pub facets: u16,
    pub genders: u8,
    /// 0 when the service sets no minimum.
    pub min_age: u8,
    /// `u8::MAX` when the service sets no maximum.
    pub max_age: u8,
    flags: u8,
}

impl Traits {
    const CONFIDENTIAL: u8 = 1;
    const PUBLIC_SITE: u8 = 2;
    /// More than one index entry: the service can be reached more than once.
    const SEVERAL_ENTRIES: u8 = 4;

    fn of(input: &ServiceInput) -> Traits {
        let e = &input.eligibility;
        let mut flags = 0;
        match input.site {
            Site::Confidential { .. } => flags |= Traits::CONFIDENTIAL,
            Site::Public { .. } => flags |= Traits::PUBLIC_SITE,
            Site::None => {}
        }
        if input.coverage.len() > 1 {
            flags |= Traits::SEVERAL_ENTRIES;
        }
        Traits {
            needs: input.needs,
            facets: eligibility_facets(e),
            genders: e.genders.iter().fold(0, |acc, g| acc | gender_bit(*g)),
            min_age: e.min_age.unwrap_or(0),
            max_age: e.max_age.unwrap_or(u8::MAX),
            flags,
        }
    }

    pub fn is_confidential(self) -> bool {
        self.flags & Traits::CONFIDENTIAL != 0
    }

    pub fn has_public_site(self) -> bool {
        self.flags & Traits::PUBLIC_SITE != 0
    }

    pub fn has_several_entries(self) -> bool {
        self.flags & Traits::SEVERAL_ENTRIES != 0
    }

    /// A crisis line can help whatever the need: national ones always come back.
    pub fn is_hotline(self) -> bool {
        self.needs.0 & need_bit(Need::Hotline) != 0
    }

    /// Required facets, age and gender: the filters that need nothing but these fields.
    #[inline]
    pub fn passes(self, q: &MatchQuery) -> bool {
        self.has_required(q) && self.takes_age(q) && self.takes_gender(q)
    }

    #[inline]
    fn has_required(self, q: &MatchQuery) -> bool {
        q.require & !self.facets == 0
    }

    #[inline]
    fn takes_age(self, q: &MatchQuery) -> bool {
        q.age
            .is_none_or(|age| (self.min_age..=self.max_age).contains(&age))
    }

    #[inline]
    fn takes_gender(self, q: &MatchQuery) -> bool {
        q.gender
            .is_none_or(|g| self.genders == 0 || self.genders & gender_bit(g) != 0)
    }
}

/// A lon/lat box in f32, rounded outwards so it always holds the f64 box it stands for. Half
/// the size of an f64 box, which matters in trees of a few million entries.
type Envelope = AABB<[f32; 2]>;

fn f32_down(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) > v { f.next_down() } else { f }
}

fn f32_up(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) < v { f.next_up() } else { f }
}

/// The f32 envelope holding the f64 box from `lower` to `upper` (each `[lon, lat]`).
fn outward(lower: [f64; 2], upper: [f64; 2]) -> Envelope {
    AABB::from_corners(
        [f32_down(lower[0]), f32_down(lower[1])],
        [f32_up(upper[0]), f32_up(upper[1])],
    )
}

/// The envelope of `points` (a query looks at one or two nearby points).
pub fn points_envelope(points: &[Coordinates]) -> Envelope {
    let mut lower = [f64::INFINITY; 2];
    let mut upper = [f64::NEG_INFINITY; 2];
    for p in points {
        lower = [lower[0].min(p.lon()), lower[1].min(p.lat())];
        upper = [upper[0].max(p.lon()), upper[1].max(p.lat())];
    }
    outward(lower, upper)
}

struct AreaEntry {
    envelope: Envelope,
    shape: u32,
    service: u32,
    traits: Traits,
}

impl RTreeObject for AreaEntry {
    type Envelope = Envelope;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// Boxes as R-tree envelopes; a box across the antimeridian becomes two.
fn envelopes(b: BoundingBox) -> Vec<Envelope> {
    let make = |min_lon: f64, max_lon: f64| outward([min_lon, b.min_lat], [max_lon, b.max_lat]);
    if b.min_lon > b.max_lon {
        vec![make(b.min_lon, 180.0), make(-180.0, b.max_lon)]
    } else {
        vec![make(b.min_lon, b.max_lon)]
    }
}

/// Wider nodes than rstar's default (6): the trees are bulk-loaded once and only read, and a
/// query over heavily overlapping coverage is bound by chasing node pointers.
pub struct WideNodes;

impl rstar::RTreeParams for WideNodes {
    const MIN_SIZE: usize = 8;
    const MAX_SIZE: usize = 24;
    const REINSERTION_COUNT: usize = 6;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

/// One tree per need code: a query walks only the trees of the needs it asks for.
const NEED_TREES: usize = Need::ALL.len();

/// Services ordered by id, so that within one index a service's position ranks like its id.
#[derive(Default)]
pub struct Index {
    services: Vec<IndexedService>,
    /// Radius entries ranked by the distance to their centre (a public site there, or no
    /// site at all, and the service's only entry): walked nearest first.
    radius_nearest: NeedSetTrees,
    /// Confidential radius entries, each its service's only one: judged at the cell, and
    /// ranked by the band of the distance from there to their centre. Walked nearest first
    /// from the cell.
    radius_confidential: NeedSetTrees,
    /// The other radius entries: sited away from their centre, or one of a service's
    /// several. Walked in full.
    radius_rest: NeedSetTrees,
    areas: Vec<RTree<AreaEntry, WideNodes>>,
    shapes: Vec<Shape>,
    by_region: HashMap<u32, Vec<(u32, Traits)>>,
    /// The national services' fixed answer parts by position, written when first asked.
    national_parts: OnceLock<HashMap<u32, FixedParts>>,
}

/// Builds an [`Index`] one service at a time, so a full load never holds every input at once.
pub struct IndexBuilder<'b> {
    index: Index,
    radius_nearest: NeedSetTreesBuilder,
    radius_confidential: NeedSetTreesBuilder,
    radius_rest: NeedSetTreesBuilder,
    areas: Vec<Vec<AreaEntry>>,
    boundaries: &'b Boundaries,
}

fn need_trees(needs: u16) -> impl Iterator<Item = usize> {
    (0..NEED_TREES).filter(move |i| needs & (1 << i) != 0)
}

/// Visits the area entries whose boxes meet `envelope` in the trees of the requested
/// `needs`; a service in several of those trees is visited from the first only.
///
/// The trees are walked level by level, all of them together, and each node the next level
/// will read is prefetched as soon as it is found. In a large index nearly every node is a
/// cache miss; rstar's own iterator goes depth first and waits for each miss in turn, where
/// here the misses of a whole level are in flight at once.
fn for_each_area<'a>(
    trees: &'a [RTree<AreaEntry, WideNodes>],
    envelope: &Envelope,
    needs: u16,
    mut visit: impl FnMut(&'a AreaEntry),
) {
    // Each node to read, with the needs of the trees walked before its own.
    let mut level: Vec<(&'a [RTreeNode<AreaEntry>], u16)> = Vec::with_capacity(64);
    let mut next = Vec::with_capacity(64);
    for tree in need_trees(needs) {
        let Some(root) = trees.get(tree).map(RTree::root) else {
            continue;
        };
        if root.envelope().intersects(envelope) {
            level.push((root.children(), needs & ((1u16 << tree) - 1)));
        }
    }
    while !level.is_empty() {
        for &(children, earlier) in &level {
            for child in children {
                match child {
                    RTreeNode::Leaf(entry) => {
                        if entry.envelope.intersects(envelope)
                            && entry.traits.needs.0 & earlier == 0
                        {
                            visit(entry);
                        }
                    }
                    RTreeNode::Parent(node) => {
                        if node.envelope().intersects(envelope) {
                            for grandchild in node.children() {
                                super::prefetch(grandchild);
                            }
                            next.push((node.children(), earlier));
                        }
                    }
                }
            }
        }
        std::mem::swap(&mut level, &mut next);
        next.clear();
    }
}

/// Where a query looks: its point, and the coarse cell centre confidential services are
/// judged at, each with the bundled regions covering it.
pub struct Probe<'a> {
    pub point: Coordinates,
    pub point_regions: &'a [u32],
    pub cell: Coordinates,
    pub cell_regions: &'a [u32],
    pub nation: Option<u32>,
    pub needs: NeedSet,
}

/// One way a service's coverage reaches a probe.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub service: u32,
    pub traits: Traits,
    pub reach: Reach,
}

/// Where [`Index::covering`] sends its hits, and asks whether to go on.
pub trait CoverSink {
    fn found(&mut self, hit: Hit);

    /// Whether enough local services are found, all ranking above any that meets at most
    /// `needs_met` needs at a rank key of `key` or more. Never, unless said otherwise.
    fn settled(&mut self, _needs_met: u32, _key: f64) -> bool {
        false
    }
}

impl<F: FnMut(Hit)> CoverSink for F {
    fn found(&mut self, hit: Hit) {
        self(hit)
    }
}

/// The nearest-first walk's visitor: exact radius tests into the sink. An entry in these
/// trees ranks by a key no smaller than the squared chord from its source's point to its
/// centre (the chord itself to a public site there, else its band's upper bound), so the
/// walk's bounds are bounds on rank keys too.
struct NearestHits<'i, K, S> {
    index: &'i Index,
    /// Each source's point: the query's, and its cell's for confidential entries.
    points: [Coordinates; 2],
    units: [[f64; 3]; 2],
    local: K,
    sink: &'i mut S,
}

impl<'a, K: Fn(Traits) -> bool, S: CoverSink> NearestVisitor<'a> for NearestHits<'_, K, S> {
    fn visit(&mut self, e: &'a CentreEntry, source: usize) {
        // A public site is at the centre here: entries sited elsewhere are in the rest.
        let site_at_centre = || e.traits.has_public_site();
        let (point, unit) = (self.points[source], self.units[source]);
        if (self.local)(e.traits)
            && let Some(hit) = self.index.radius_hit(e, point, unit, site_at_centre)
        {
            self.sink.found(hit);
        }
    }

    fn settled(&mut self, needs_met: u32, chord2: f64) -> bool {
        self.sink.settled(needs_met, chord2)
    }
}

pub fn eligibility_facets(e: &Eligibility) -> u16 {
    Facet::ALL
        .into_iter()
        .filter(|f| e.has(*f))
        .fold(0, |acc, f| acc | facet_bit(f))
}

impl Index {
    pub fn build(mut inputs: Vec<ServiceInput>, boundaries: &Boundaries) -> Index {
        inputs.sort_unstable_by_key(|s| s.id);
        let mut builder = IndexBuilder::new(boundaries);
        for input in inputs {
            builder.add(input);
        }
        builder.finish()
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    pub fn service(&self, i: u32) -> Option<&IndexedService> {
        self.services.get(i as usize)
    }

    /// The services covering this region as a whole (by position), with their traits.
    pub fn in_region(&self, region: u32) -> &[(u32, Traits)] {
        self.by_region.get(&region).map_or(&[], Vec::as_slice)
    }

    /// Whether the service at `position` covers this region as a whole.
    pub fn covers_region(&self, region: u32, position: u32) -> bool {
        self.in_region(region).iter().any(|&(p, _)| p == position)
    }

    /// Whether any service here has coverage by this region.
    pub fn has_region(&self, region: u32) -> bool {
        self.by_region.contains_key(&region)
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.position(id).is_some()
    }

    /// Where the service with this id sits (services are in id order).
    pub fn position(&self, id: &Uuid) -> Option<u32> {
        let i = self.services.binary_search_by_key(id, |s| s.id).ok()?;
        u32::try_from(i).ok()
    }

    pub fn services(&self) -> &[IndexedService] {
        &self.services
    }

    /// The national services' fixed answer parts, `write` giving them when first asked.
    pub fn national_parts(
        &self,
        write: impl FnOnce() -> HashMap<u32, FixedParts>,
    ) -> &HashMap<u32, FixedParts> {
        self.national_parts.get_or_init(write)
    }

    pub fn shape(&self, i: u32) -> Option<&Shape> {
        self.shapes.get(i as usize)
    }

    /// Every way a service's coverage reaches the probe, for services `keep` accepts (given
    /// the traits, before any geometry is tested), into `sink`; and the national services
    /// where their country does not reach it, as [`Reach::OutsideNation`]. Public and
    /// location-less services are judged at the probe's point, confidential ones at its
    /// cell. Radius and area entries of services offering none of the probe's needs are
    /// never visited. A service may come back once per covering entry. Radius entries
    /// ranked by the distance to their centre come last, nearest first, and stop once
    /// `sink` is settled.
    pub fn covering(
        &self,
        probe: &Probe<'_>,
        keep: impl Fn(Traits, Reach) -> bool,
        mut sink: impl CoverSink,
    ) {
        let needs = probe.needs.0;
        // Public and location-less services are judged at the point, confidential ones at
        // the cell: `points[at(traits)]`.
        let points = [probe.point, probe.cell];
        let envelope = points_envelope(&points);
        let units = [unit_vector(probe.point), unit_vector(probe.cell)];
        let at = |t: Traits| usize::from(t.is_confidential());
        let local = |t: Traits| keep(t, Reach::Area);
        let regions = [probe.point_regions, probe.cell_regions];
        for (side, regions) in regions.into_iter().enumerate() {
            let outside = probe.nation.filter(|nation| !regions.contains(nation));
            let reached = regions
                .iter()
                .map(|region| {
                    let reach = if Some(*region) == probe.nation {
                        Reach::National
                    } else {
                        Reach::Region { region: *region }
                    };
                    (*region, reach)
                })
                .chain(outside.map(|nation| (nation, Reach::OutsideNation)));
            for (region, reach) in reached {
                for (service, traits) in self.by_region.get(&region).into_iter().flatten() {
                    if at(*traits) == side && keep(*traits, reach) {
                        sink.found(Hit {
                            service: *service,
                            traits: *traits,
                            reach,
                        });
                    }
                }
            }
        }
        // Radius entries ranked otherwise than by their centre's distance, in full.
        let reaches_probe =
            |b: &CentreBox, tree: &CentreTree| units.iter().any(|u| tree.may_reach(u, b));
        self.radius_rest.for_each(needs, reaches_probe, |e| {
            let side = at(e.traits);
            let site_at_centre = || {
                self.service(e.service())
                    .is_some_and(|s| s.site_is_centre(e.slot()))
            };
            if local(e.traits)
                && let Some(hit) = self.radius_hit(e, points[side], units[side], site_at_centre)
            {
                sink.found(hit);
            }
        });
        let mut nearest = NearestHits {
            index: self,
            points,
            units,
            local,
            sink: &mut sink,
        };
        let sources = [
            (&self.radius_nearest, units[0]),
            (&self.radius_confidential, units[1]),
        ];
        centres::nearest_first(&sources, needs, &mut nearest);
        // Areas last, when the candidates found so far can rule some out before their
        // shapes (the costly part) are read. In four rounds, each starting the loads of the
        // next for all of them before any waits: the areas whose box meets the point (and
        // the record of those ranked by the distance to their public site), those that may
        // still rank and their grids, then (for the few points the grid leaves open) their
        // edges.
        let mut areas = Vec::new();
        for_each_area(&self.areas, &envelope, needs, |e| {
            if local(e.traits)
                && let Some(shape) = self.shape(e.shape)
            {
                let service = self.service(e.service);
                if e.traits.has_public_site()
                    && let Some(service) = service
                {
                    super::prefetch(&service.site);
                }
                areas.push((e, shape, service));
            }
        });
        // Those ranked below `limit` candidates found already would be dropped on arrival.
        // (A service with several entries is kept whatever its rank.)
        areas.retain(|(e, shape, service)| {
            let ranked_out = !e.traits.has_several_entries() && {
                let key = match service {
                    Some(s) if e.traits.has_public_site() => s.site_key(units[0]),
                    _ => 0.0,
                };
                sink.settled(e.traits.needs.count_common(probe.needs), key)
            };
            if !ranked_out {
                shape.prefetch_grid();
            }
            !ranked_out
        });
        let area_hit = |e: &AreaEntry| Hit {
            service: e.service,
            traits: e.traits,
            reach: Reach::Area,
        };
        let mut open = Vec::new();
        for (e, shape, _) in areas {
            match shape.covers_by_grid(points[at(e.traits)]) {
                Some(true) => sink.found(area_hit(e)),
                Some(false) => {}
                None => {
                    shape.prefetch_edges();
                    open.push((e, shape));
                }
            }
        }
        for (e, shape) in open {
            if shape.covers_by_edges(points[at(e.traits)]) {
                sink.found(area_hit(e));
            }
        }
    }

    /// The hit when the radius entry reaches `point` (`unit` on the unit sphere);
    /// `site_at_centre` is asked only then.
    fn radius_hit(
        &self,
        e: &CentreEntry,
        point: Coordinates,
        unit: [f64; 3],
        site_at_centre: impl FnOnce() -> bool,
    ) -> Option<Hit> {
        let c2 = chord2(unit, e.unit);
        let inside = if c2 < e.chord2() * (1.0 - RIM) {
            true
        } else if c2 > e.chord2() * (1.0 + RIM) {
            false
        } else {
            self.service(e.service())
                .and_then(|s| s.radius(e.slot()))
                .is_some_and(|(center, km)| haversine_km(point, center) <= km)
        };
        inside.then(|| Hit {
            service: e.service(),
            traits: e.traits,
            reach: Reach::Radius {
                center_chord2: c2,
                slot: e.slot(),
                site_at_centre: site_at_centre(),
            },
        })
    }

    /// Services whose coverage misses `at` by at most `km`, with that distance.
    pub fn near(
        &self,
        at: Coordinates,
        km: f64,
        needs: u16,
        near_regions: &[(u32, f64)],
        out: &mut Vec<(u32, f64)>,
    ) {
        // Across the antimeridian the box around the point is two boxes.
        let boxes: Vec<Envelope> = wrapped(envelope_around(at, km))
            .map(|b| {
                outward(
                    [b.lower().x(), b.lower().y()],
                    [b.upper().x(), b.upper().y()],
                )
            })
            .collect();
        let unit = unit_vector(at);
        // The nearest centre under a node is at least this far; its widest circle reaches
        // this far (a metre's slack for rounding).
        let within_reach = |b: &CentreBox, tree: &CentreTree| {
            chord2_km(centres::gap2(&unit, b)) <= tree.widest_km() + km + 1e-3
        };
        let mut radius_gap = |e: &CentreEntry| {
            if let Some((center, radius_km)) =
                self.service(e.service()).and_then(|s| s.radius(e.slot()))
            {
                let gap = haversine_km(at, center) - radius_km;
                if gap > 0.0 && gap <= km {
                    out.push((e.service(), gap));
                }
            }
        };
        for family in [
            &self.radius_nearest,
            &self.radius_confidential,
            &self.radius_rest,
        ] {
            family.for_each(needs, within_reach, &mut radius_gap);
        }
        for (i, envelope) in boxes.iter().enumerate() {
            // An area as wide as the world meets both boxes: it is taken in the first.
            let seen = &boxes[..i];
            for_each_area(&self.areas, envelope, needs, |e| {
                if !seen.iter().any(|b| e.envelope.intersects(b))
                    && let Some(gap) = self
                        .shape(e.shape)
                        .and_then(|s| s.distance_within_km(at, km))
                    && gap > 0.0
                {
                    out.push((e.service, gap));
                }
            });
        }
        for (region, gap) in near_regions {
            for (service, _) in self.by_region.get(region).into_iter().flatten() {
                out.push((*service, *gap));
            }
        }
    }
}

impl<'b> IndexBuilder<'b> {
    pub fn new(boundaries: &'b Boundaries) -> Self {
        IndexBuilder {
            index: Index::default(),
            radius_nearest: NeedSetTreesBuilder::new(true),
            radius_confidential: NeedSetTreesBuilder::new(true),
            radius_rest: NeedSetTreesBuilder::new(false),
            areas: (0..NEED_TREES).map(|_| Vec::new()).collect(),
            boundaries,
        }
    }

    /// Adds a service; past [`CentreEntry::MAX_SERVICES`] (16.7 million, some sixteen
    /// times the benchmark's directory and its memory) services are left out.
    pub fn add(&mut self, input: ServiceInput) {
        let index = &mut self.index;
        let Some(service) = u32::try_from(index.services.len())
            .ok()
            .filter(|s| *s < CentreEntry::MAX_SERVICES)
        else {
            return;
        };
        let traits = Traits::of(&input);
        let site = match &input.site {
            Site::Public { at, .. } => Some(*at),
            _ => None,
        };
        let mut coverage = Vec::with_capacity(input.coverage.len());
        for c in &input.coverage {
            match c {
                Coverage::Radius { center, radius_km } => {
                    let Ok(slot) = u8::try_from(coverage.len()) else {
                        continue;
                    };
                    let unit = unit_vector(*center);
                    let chord2 = km_chord2(*radius_km);
                    let Some(entry) = CentreEntry::new(unit, chord2, service, slot, traits) else {
                        continue;
                    };
                    // Walked nearest first when ranked by the distance to the centre (exactly,
                    // or its band's upper bound): the service's only entry, with no site, a
                    // public site there, or a confidential one.
                    let family = if traits.has_several_entries() {
                        &mut self.radius_rest
                    } else if traits.is_confidential() {
                        &mut self.radius_confidential
                    } else if !traits.has_public_site() || site == Some(*center) {
                        &mut self.radius_nearest
                    } else {
                        &mut self.radius_rest
                    };
                    family.add(entry);
                    coverage.push(IndexedCoverage::Radius {
                        center: *center,
                        radius_km: *radius_km,
                    });
                }
                Coverage::Area { geometry } => {
                    let shape = Shape::new(geometry.to_multi_polygon());
                    let Ok(shape_id) = u32::try_from(index.shapes.len()) else {
                        continue;
                    };
                    if let Some(rect) = shape.bounding_box() {
                        for envelope in envelopes(BoundingBox::from_rect(rect)) {
                            for tree in need_trees(traits.needs.0) {
                                self.areas[tree].push(AreaEntry {
                                    envelope,
                                    shape: shape_id,
                                    service,
                                    traits,
                                });
                            }
                        }
                    }
                    index.shapes.push(shape);
                    coverage.push(IndexedCoverage::Area { shape: shape_id });
                }
                Coverage::Region { code } | Coverage::National { country: code } => {
                    let national = matches!(c, Coverage::National { .. });
                    if let Some(region) = self
                        .boundaries
                        .index_of(code)
                        .and_then(|r| u32::try_from(r).ok())
                    {
                        index
                            .by_region
                            .entry(region)
                            .or_default()
                            .push((service, traits));
                        coverage.push(IndexedCoverage::Region { region, national });
                    }
                }
            }
        }
        index.services.push(IndexedService {
            id: input.id,
            name: input.name.into_boxed_str(),
            organization: input.organization,
            traits,
            languages: input.languages.into_boxed_slice(),
            site: input.site,
            phones: input.phones.into_boxed_slice(),
            schedules: input.schedules.into_boxed_slice(),
            capacity: input.capacity,
            verified_at: input.verified_at,
            demo: input.demo,
            coverage: coverage.into_boxed_slice(),
        });
    }

    /// Bulk-loads the trees. Services must have come in id order (a full load reads them so,
    /// [`Index::build`] sorts them), so that ranking can break ties by position.
    pub fn finish(self) -> Index {
        let mut index = self.index;
        debug_assert!(index.services.is_sorted_by_key(|s| s.id));
        // Grown by doubling, the list can hold room for half as many services again.
        index.services.shrink_to_fit();
        index.radius_nearest = self.radius_nearest.finish();
        index.radius_confidential = self.radius_confidential.finish();
        index.radius_rest = self.radius_rest.finish();
        index.areas = self
            .areas
            .into_iter()
            .map(RTree::bulk_load_with_params)
            .collect();
        index
    }
}
#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use rstar::RTreeNode;

    use proptest::prelude::*;

    use super::{AddressView, AreaEntry};

    proptest! {
        /// Absent, empty, non-ASCII and long parts all come back as they went in.
        #[test]
        fn a_packed_address_gives_back_its_parts(
            parts in prop::array::uniform5(prop::option::of(prop_oneof![
                any::<String>(),
                Just(String::new()),
                "[a-zé☎\\x00]{0,5}",
                "x{200,300}",
            ])),
        ) {
            let [street, city, region, postal_code, country] = parts.clone();
            let address = AddressView::new(
                street.as_deref(),
                city.as_deref(),
                region.as_deref(),
                postal_code.as_deref(),
                country.as_deref(),
            );
            let back = [
                address.street(),
                address.city(),
                address.region(),
                address.postal_code(),
                address.country(),
            ];
            prop_assert_eq!(back, parts.each_ref().map(Option::as_deref));
        }
    }

    #[test]
    fn a_part_too_long_for_its_length_char_is_cut_at_a_char_boundary() {
        let long = "é".repeat(40_000);
        let address = AddressView::new(Some(&long), None, Some("CA"), None, None);
        let street = address.street().unwrap_or_default();
        assert!(street.len() <= super::PackedParts::MAX_PART && long.starts_with(street));
        assert_eq!(address.region(), Some("CA"));
        assert_eq!(address.city(), None);
    }

    /// Closing at or before opening runs past midnight, equal times included: 24 hours from
    /// the opening. 00:00 to 24:00 is each listed day.
    #[test]
    fn openings_run_past_midnight_when_they_close_at_or_before_they_open() {
        use crate::domain::schedule::{Schedule, ScheduleInput};
        let at = |days: &[&str], opens: &str, closes: &str| {
            let input = ScheduleInput {
                days: days.iter().map(|d| d.to_string()).collect(),
                opens_at: opens.into(),
                closes_at: closes.into(),
                timezone: "Asia/Tokyo".into(),
            };
            super::CompactSchedule::from_schedule(&Schedule::parse(input, "s").unwrap())
        };
        // Tokyo is UTC+9 all year: Monday 2026-12-07 06:15 there is Sunday 21:15 UTC.
        let tokyo = |day: u32, hour: u32, minute: u32| {
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, day, hour, minute, 0)
                .unwrap()
                - chrono::Duration::hours(9)
        };
        let (mon_0615, mon_0730, tue_0659, tue_0700) = (
            tokyo(7, 6, 15),
            tokyo(7, 7, 30),
            tokyo(8, 6, 59),
            tokyo(8, 7, 0),
        );
        let sunday_shift = at(&["sun"], "07:00", "07:00");
        assert!(sunday_shift.is_open(mon_0615));
        assert!(!sunday_shift.is_open(mon_0730));
        let monday_shift = at(&["mon"], "07:00", "07:00");
        assert!(!monday_shift.is_open(mon_0615));
        assert!(monday_shift.is_open(mon_0730) && monday_shift.is_open(tue_0659));
        assert!(!monday_shift.is_open(tue_0700));
        assert_eq!(
            monday_shift.describe(false),
            "Mon, 24 hours from 7:00 AM (Asia/Tokyo time)"
        );
        let monday = at(&["mon"], "00:00", "24:00");
        assert!(monday.is_open(mon_0615) && !monday.is_open(tue_0659));
        assert_eq!(monday.describe(false), "Mon, 24 hours");
        let overnight = at(&["sun"], "22:00", "06:00");
        assert!(!overnight.is_open(mon_0615) && overnight.is_open(tokyo(7, 5, 59)));
        assert_eq!(
            overnight.describe(true),
            "dom 10:00 p. m.–6:00 a. m. (hora de Asia/Tokyo)"
        );

        // When open hours end: later today, after midnight for overnight hours, at the end
        // of a whole listed day; never for hours around the clock every day.
        let closing =
            |s: &super::CompactSchedule, now| s.closing_after(now).map(|t| t.to_rfc3339());
        assert_eq!(
            closing(&overnight, tokyo(7, 5, 59)).as_deref(),
            Some("2026-12-07T06:00:00+09:00")
        );
        assert_eq!(
            closing(&monday, mon_0615).as_deref(),
            Some("2026-12-08T00:00:00+09:00")
        );
        assert_eq!(closing(&monday, tue_0659), None, "closed: no closing");
        let always = at(
            &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "00:00",
            "24:00",
        );
        assert_eq!(closing(&always, mon_0615), None);

        // The next opening, in the schedule's own zone: later today, or the next listed day.
        let weekdays = at(&["mon", "tue", "wed", "thu", "fri"], "12:30", "17:00");
        let next = |now| weekdays.next_opening(now).map(|t| t.to_rfc3339());
        assert_eq!(next(mon_0615).as_deref(), Some("2026-12-07T12:30:00+09:00"));
        assert_eq!(
            next(tokyo(7, 12, 30)).as_deref(),
            Some("2026-12-08T12:30:00+09:00")
        );
        // Friday afternoon: Monday.
        assert_eq!(
            next(tokyo(11, 18, 0)).as_deref(),
            Some("2026-12-14T12:30:00+09:00")
        );
        // Opening at 02:30 on the night Denver's clocks go from 02:00 to 03:00: at 03:00.
        let denver = ScheduleInput {
            days: vec!["sun".into()],
            opens_at: "02:30".into(),
            closes_at: "05:00".into(),
            timezone: "America/Denver".into(),
        };
        let gap = super::CompactSchedule::from_schedule(&Schedule::parse(denver, "s").unwrap());
        let saturday_night =
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 3, 14, 4, 30, 0).unwrap();
        assert_eq!(
            gap.next_opening(saturday_night)
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2027-03-14T03:00:00-06:00")
        );
    }

    #[test]
    fn a_us_clock_says_am_and_pm() {
        assert_eq!(super::clock(0, false), "12:00 AM");
        assert_eq!(super::clock(9 * 60 + 5, false), "9:05 AM");
        assert_eq!(super::clock(12 * 60, false), "12:00 PM");
        assert_eq!(super::clock(23 * 60 + 59, true), "11:59 p. m.");
    }

    /// When a tree node is no larger than its entry, `Vec::into_iter().map().collect()` in
    /// rstar's bulk load reuses the slab's allocation for each leaf, and a 1M-service index
    /// grew by about 1 GB. A niche-free entry keeps the node larger than the entry.
    #[test]
    fn tree_nodes_are_larger_than_entries_so_leaves_get_their_own_allocation() {
        assert!(size_of::<RTreeNode<AreaEntry>>() > size_of::<AreaEntry>());
    }
}

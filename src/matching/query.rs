//! `POST /api/v1/match` input: parsed into a [`MatchQuery`] whose location is already
//! resolved (coordinates, ZIP centroid or region) and, for anonymous callers, coarsened.

use std::fmt;

use chrono::{DateTime, Utc};
use geo::InteriorPoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::boundaries::Boundaries;
use crate::domain::coordinates::{CoordinatesInput, EARTH_RADIUS_KM, unit_vector};
use crate::domain::coverage::from_value;
use crate::domain::eligibility::{Facet, Gender};
use crate::domain::language::{LanguageCode, parse_languages};
use crate::domain::need::parse_needs;
use crate::domain::{Coordinates, FieldError, Need};
use crate::json::Strict;
use crate::zips::{ZipCentroids, ZipError};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 50;
/// Precision reported for a ZIP centroid: ZCTAs are a few km across in towns.
const ZIP_PRECISION_KM: f64 = 5.0;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"location": {"lat": 37.76, "lon": -122.42},
    "needs": ["shelter", "legal_aid"], "age": 16, "gender": "female", "languages": ["es"],
    "require": ["no_id_required"], "open_now": false, "limit": 20})))]
pub struct MatchRequest {
    #[schema(schema_with = crate::openapi::match_location)]
    pub location: Strict,
    #[schema(value_type = Vec<Need>, min_items = 1)]
    pub needs: Vec<String>,
    #[schema(minimum = 0, maximum = 130)]
    pub age: Option<i64>,
    #[schema(value_type = Option<Gender>)]
    pub gender: Option<String>,
    #[serde(default, deserialize_with = "null_as_absent")]
    #[schema(value_type = Vec<LanguageCode>)]
    pub languages: Vec<String>,
    #[serde(default, deserialize_with = "null_as_absent")]
    #[schema(value_type = Vec<Facet>)]
    pub require: Vec<String>,
    #[serde(default, deserialize_with = "null_as_absent")]
    pub open_now: bool,
    #[schema(minimum = 1, maximum = 50, default = 20)]
    pub limit: Option<i64>,
}

/// `null` for an optional member means the same as leaving it out, as it does for `age`,
/// `gender` and `limit`.
fn null_as_absent<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationSource {
    Coordinates,
    PostalCode,
    Region,
}

/// Needs as a bit set over [`Need::ALL`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NeedSet(pub u16);

impl NeedSet {
    pub fn of(needs: &[Need]) -> NeedSet {
        NeedSet(needs.iter().fold(0, |acc, n| acc | need_bit(*n)))
    }

    pub fn count_common(self, other: NeedSet) -> u32 {
        (self.0 & other.0).count_ones()
    }

    pub fn iter(self) -> impl Iterator<Item = Need> {
        Need::ALL
            .into_iter()
            .filter(move |n| self.0 & need_bit(*n) != 0)
    }
}

pub fn need_bit(need: Need) -> u16 {
    Need::ALL
        .iter()
        .position(|n| *n == need)
        .map_or(0, |i| 1 << i)
}

pub fn facet_bit(facet: Facet) -> u16 {
    Facet::ALL
        .iter()
        .position(|f| *f == facet)
        .map_or(0, |i| 1 << i)
}

pub fn gender_bit(gender: Gender) -> u8 {
    Gender::ALL
        .iter()
        .position(|g| *g == gender)
        .map_or(0, |i| 1 << i)
}

#[derive(Clone)]
pub struct MatchQuery {
    /// Where matching happens: exact for signed-in staff, snapped for anonymous callers.
    pub point: Coordinates,
    /// `point` on the unit sphere.
    pub point_unit: [f64; 3],
    /// The coarse cell the point lies in. Confidential services are judged from its centre
    /// only, so their part of the answer is the same anywhere in the cell.
    pub cell: Coordinates,
    pub source: LocationSource,
    pub precision_km: f64,
    pub needs: NeedSet,
    pub age: Option<u8>,
    pub gender: Option<Gender>,
    pub languages: Vec<LanguageCode>,
    pub require: u16,
    pub open_now: bool,
    pub limit: usize,
    pub now: DateTime<Utc>,
}

// Where a person is and what they need never reach a log, a panic message or an error report
// (SAFETY.md rules 6 and 14): a search's `Debug` shows only how it was asked.
impl fmt::Debug for MatchRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchRequest")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MatchQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MatchQuery")
            .field("source", &self.source)
            .field("precision_km", &self.precision_km)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// How queries are resolved on this instance.
#[derive(Clone, Copy)]
pub struct QueryContext<'a> {
    pub zips: &'a ZipCentroids,
    pub boundaries: &'a Boundaries,
    /// Grid size anonymous coordinates are snapped to, and confidential services judged on.
    pub cell_km: f64,
}

/// The centre of the grid cell (about `cell_km` on a side) holding `point`.
pub fn snap(point: Coordinates, cell_km: f64) -> Coordinates {
    let dlat = (cell_km / EARTH_RADIUS_KM).to_degrees();
    let row = (point.lat() / dlat).floor();
    let lat = ((row + 0.5) * dlat).clamp(-90.0, 90.0);
    let cos = lat.to_radians().cos().max(1e-6);
    let dlon = (dlat / cos).min(360.0);
    let col = (point.lon() / dlon).floor();
    let mut lon = (col + 0.5) * dlon;
    if lon > 180.0 {
        lon -= 360.0;
    }
    Coordinates::new(lat, lon.clamp(-180.0, 180.0)).unwrap_or(point)
}

fn parse_location(
    value: Value,
    ctx: &QueryContext<'_>,
    exact: bool,
) -> Result<(Coordinates, LocationSource, f64), FieldError> {
    let Value::Object(map) = &value else {
        return Err(FieldError::invalid(
            "location",
            "give {\"lat\", \"lon\"}, {\"postal_code\"} or {\"region\"}",
        ));
    };
    if map.contains_key("postal_code") {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Zip {
            postal_code: String,
        }
        let zip: Zip = from_value(value, "location")?;
        let point = ctx.zips.lookup(&zip.postal_code).map_err(|e| match e {
            ZipError::Malformed => FieldError::invalid(
                "location.postal_code",
                "a US ZIP code is five digits, such as 94110 (or ZIP+4: 94110-1234)",
            ),
            ZipError::Unknown => FieldError::new(
                "unknown_postal_code",
                "location.postal_code",
                "no such US ZIP code is known (PO box ZIP codes are not); give the ZIP code of where the person is",
            ),
        })?;
        return Ok((point, LocationSource::PostalCode, ZIP_PRECISION_KM));
    }
    if map.contains_key("region") {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RegionInput {
            region: String,
        }
        let input: RegionInput = from_value(value, "location")?;
        let code = input.region.trim().to_ascii_uppercase();
        let region = ctx
            .boundaries
            .get(&code)
            .filter(|r| r.code != "US")
            .ok_or_else(|| {
                FieldError::new(
                    "unknown_region",
                    "location.region",
                    "unknown region: use a US state as US-CA (or by FIPS, US-06) or a county as US-06075",
                )
            })?;
        let point = region
            .geometry
            .interior_point()
            .and_then(|p| Coordinates::new(p.y(), p.x()).ok())
            .ok_or_else(|| {
                FieldError::new("unknown_region", "location.region", "region has no area")
            })?;
        let b = region.bbox;
        let span_km = (b.max_lat - b.min_lat)
            .abs()
            .max((b.max_lon - b.min_lon).abs() * point.lat().to_radians().cos())
            * 111.2;
        return Ok((point, LocationSource::Region, (span_km / 2.0).max(1.0)));
    }
    let input: CoordinatesInput = from_value(value, "location")?;
    let point = Coordinates::parse(input, "location")?;
    if exact {
        Ok((point, LocationSource::Coordinates, 0.0))
    } else {
        Ok((
            snap(point, ctx.cell_km),
            LocationSource::Coordinates,
            ctx.cell_km,
        ))
    }
}

impl MatchQuery {
    /// `exact`: signed-in staff match on the coordinates they give; everyone else on the
    /// centre of the coarse cell.
    pub fn parse(
        req: MatchRequest,
        ctx: &QueryContext<'_>,
        exact: bool,
        now: DateTime<Utc>,
    ) -> Result<MatchQuery, FieldError> {
        let (point, source, precision_km) = parse_location(req.location.0, ctx, exact)?;
        let needs = NeedSet::of(&parse_needs(&req.needs, "needs")?);
        let age = match req.age {
            None => None,
            Some(a) if (0..=130).contains(&a) => u8::try_from(a).ok(),
            Some(_) => return Err(FieldError::invalid("age", "must be between 0 and 130")),
        };
        let gender = req
            .gender
            .map(|g| {
                Gender::from_code(g.trim())
                    .ok_or_else(|| FieldError::invalid("gender", "use female, male or nonbinary"))
            })
            .transpose()?;
        let languages = parse_languages(&req.languages, "languages")?;
        let mut require = 0;
        for (i, code) in req.require.iter().enumerate() {
            let facet = Facet::from_code(code).ok_or_else(|| {
                FieldError::new(
                    "unknown_facet",
                    format!("require[{i}]"),
                    format!(
                        "unknown eligibility facet; use {}",
                        Facet::ALL.map(Facet::code).join(", ")
                    ),
                )
            })?;
            require |= facet_bit(facet);
        }
        let limit = match req.limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=MAX_LIMIT as i64).contains(&l) => {
                usize::try_from(l).unwrap_or(DEFAULT_LIMIT)
            }
            Some(_) => {
                return Err(FieldError::invalid(
                    "limit",
                    format!("must be between 1 and {MAX_LIMIT}"),
                ));
            }
        };
        Ok(MatchQuery {
            point,
            point_unit: unit_vector(point),
            cell: snap(point, ctx.cell_km),
            source,
            precision_km,
            needs,
            age,
            gender,
            languages,
            require,
            open_now: req.open_now,
            limit,
            now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a person searched for, and where, never shows in `Debug`: not in a log line, a
    /// panic or an error report. Nor does an address sent with a service.
    #[test]
    fn searches_and_addresses_do_not_show_in_debug() {
        let request: MatchRequest = serde_json::from_value(serde_json::json!({
            "location": {"lat": 37.761_234, "lon": -122.421_234}, "needs": ["shelter"],
            "age": 16, "gender": "female", "languages": ["vi"], "require": ["no_id_required"]
        }))
        .unwrap();
        let ctx = QueryContext {
            zips: ZipCentroids::bundled(),
            boundaries: Boundaries::bundled(),
            cell_km: 1.0,
        };
        let query = MatchQuery::parse(
            serde_json::from_value(serde_json::json!({
                "location": {"lat": 37.761_234, "lon": -122.421_234}, "needs": ["shelter"],
                "age": 16, "gender": "female"
            }))
            .unwrap(),
            &ctx,
            true,
            Utc::now(),
        )
        .unwrap();
        let location: crate::domain::service::LocationInput =
            serde_json::from_value(serde_json::json!({
                "lat": 37.761_234, "lon": -122.421_234, "confidential": true,
                "address": {"street": "17 Hidden Orchard Way", "postal_code": "94124"}
            }))
            .unwrap();
        let shown = format!("{request:?} {query:?} {location:?} {:?}", location.address);
        for secret in [
            "37.76", "122.42", "shelter", "16", "female", "vi", "no_id", "Orchard", "94124",
        ] {
            assert!(!shown.contains(secret), "{secret} shows in {shown}");
        }
    }

    #[test]
    fn snapping_is_stable_within_a_cell_and_close() {
        let a = Coordinates::new(37.7601, -122.4201).unwrap();
        let s = snap(a, 1.0);
        assert_eq!(snap(s, 1.0), s, "a cell centre snaps to itself");
        assert!(crate::domain::coordinates::haversine_km(a, s) < 1.0);
        let b = Coordinates::new(37.7602, -122.4202).unwrap();
        assert_eq!(snap(b, 1.0), s);
        assert!(
            Coordinates::new(
                snap(Coordinates::new(89.99, 179.99).unwrap(), 1.0).lat(),
                0.0
            )
            .is_ok()
        );
    }
}

//! Coverage: whom a service serves, which is not where it is. Each entry is a radius around a
//! point, a GeoJSON area, a bundled region (US state or county) or a whole country.

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::coordinates::{CoordinatesInput, EARTH_RADIUS_KM};
use super::{Coordinates, FieldError, path};
use crate::boundaries::Boundaries;

/// Largest radius a service may claim, in km; wider reach is a region or national coverage.
pub const MAX_RADIUS_KM: f64 = 500.0;
/// Most vertices one area may have; counties in the bundled data have a few hundred.
pub const MAX_AREA_VERTICES: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Coverage {
    Radius { center: Coordinates, radius_km: f64 },
    Area { geometry: AreaGeometry },
    Region { code: String },
    National { country: String },
}

/// A validated GeoJSON area, remembering whether it came as a Polygon or a MultiPolygon.
#[derive(Debug, Clone, PartialEq)]
pub enum AreaGeometry {
    Polygon(Polygon<f64>),
    MultiPolygon(MultiPolygon<f64>),
}

/// Bounding box in degrees. A box crossing the antimeridian has `min_lon > max_lon`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BoundingBox {
    pub fn from_rect(rect: Rect<f64>) -> Self {
        BoundingBox {
            min_lon: rect.min().x,
            min_lat: rect.min().y,
            max_lon: rect.max().x,
            max_lat: rect.max().y,
        }
    }

    /// The box around a spherical cap of `radius_km` around `center`.
    pub fn around(center: Coordinates, radius_km: f64) -> Self {
        let angular = radius_km / EARTH_RADIUS_KM;
        let dlat = angular.to_degrees();
        let min_lat = (center.lat() - dlat).max(-90.0);
        let max_lat = (center.lat() + dlat).min(90.0);
        let cos_lat = center.lat().to_radians().cos();
        // Near a pole, or when the cap reaches one, every longitude is within reach.
        if min_lat <= -90.0 || max_lat >= 90.0 || angular.sin() >= cos_lat {
            return BoundingBox {
                min_lon: -180.0,
                min_lat,
                max_lon: 180.0,
                max_lat,
            };
        }
        let dlon = (angular.sin() / cos_lat).asin().to_degrees();
        let wrap = |lon: f64| {
            if lon < -180.0 {
                lon + 360.0
            } else if lon > 180.0 {
                lon - 360.0
            } else {
                lon
            }
        };
        BoundingBox {
            min_lon: wrap(center.lon() - dlon),
            min_lat,
            max_lon: wrap(center.lon() + dlon),
            max_lat,
        }
    }
}

/// A GeoJSON Polygon or MultiPolygon as sent, before any check.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum GeometryInput {
    Polygon {
        coordinates: Vec<Vec<Vec<f64>>>,
        #[serde(default)]
        bbox: Option<Vec<f64>>,
    },
    MultiPolygon {
        coordinates: Vec<Vec<Vec<Vec<f64>>>>,
        #[serde(default)]
        bbox: Option<Vec<f64>>,
    },
}

/// The members of a Polygon or MultiPolygon, read apart from its `type` so that errors can
/// name the exact position (serde loses paths inside internally tagged enums).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GeoJsonInput<C> {
    #[serde(rename = "type")]
    _type: String,
    coordinates: C,
    #[serde(default, rename = "bbox")]
    _bbox: Option<Vec<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RadiusInput {
    #[serde(rename = "type")]
    _type: String,
    center: CoordinatesInput,
    radius_km: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaInput {
    #[serde(rename = "type")]
    _type: String,
    geometry: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionInput {
    #[serde(rename = "type")]
    _type: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NationalInput {
    #[serde(rename = "type")]
    _type: String,
    country: String,
}

/// Deserializes `value` into `T`, reporting the exact path of a bad member under `field`.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value, field: &str) -> Result<T, FieldError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let inner = e.path().to_string();
        let at = if inner == "." {
            field.to_string()
        } else {
            path(field, &inner)
        };
        FieldError::from_serde(&at.replace(".[", "["), e.into_inner().to_string())
    })
}

impl Coverage {
    /// Parses one coverage entry (`field` is where it sits, e.g. `coverage[2]`).
    pub fn parse(
        value: Value,
        field: &str,
        boundaries: &Boundaries,
    ) -> Result<Coverage, FieldError> {
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                FieldError::invalid(
                    path(field, "type"),
                    "missing: one of radius, area, region, national",
                )
            })?
            .to_string();
        match kind.as_str() {
            "radius" => {
                let input: RadiusInput = from_value(value, field)?;
                let center = Coordinates::parse(input.center, &path(field, "center"))?;
                if !(input.radius_km > 0.0 && input.radius_km <= MAX_RADIUS_KM) {
                    return Err(FieldError::invalid(
                        path(field, "radius_km"),
                        format!(
                            "must be more than 0 and at most {MAX_RADIUS_KM} km; use region or national coverage for wider areas"
                        ),
                    ));
                }
                Ok(Coverage::Radius {
                    center,
                    radius_km: input.radius_km,
                })
            }
            "area" => {
                let input: AreaInput = from_value(value, field)?;
                let geometry = parse_area(input.geometry, &path(field, "geometry"))?;
                Ok(Coverage::Area { geometry })
            }
            "region" => {
                let input: RegionInput = from_value(value, field)?;
                let code = input.code.trim().to_ascii_uppercase();
                match boundaries.get(&code) {
                    // Stored as the region's own code: "US-06" is kept as US-CA.
                    Some(region) if region.code != "US" => Ok(Coverage::Region {
                        code: region.code.clone(),
                    }),
                    _ => Err(FieldError::new(
                        "unknown_region",
                        path(field, "code"),
                        "unknown region: use a US state as US-CA (or by FIPS, US-06) or a county by FIPS as US-06075 (POST /api/v1/regions/search finds codes by name)",
                    )),
                }
            }
            "national" => {
                let input: NationalInput = from_value(value, field)?;
                let country = input.country.trim().to_ascii_uppercase();
                if boundaries.nation(&country).is_none() {
                    return Err(FieldError::new(
                        "unknown_country",
                        path(field, "country"),
                        "unknown country: only \"US\" boundaries are bundled",
                    ));
                }
                Ok(Coverage::National { country })
            }
            _ => Err(FieldError::invalid(
                path(field, "type"),
                "unknown coverage type: use radius, area, region or national",
            )),
        }
    }

    /// Reads an entry back from the database, where only validated entries are stored: the
    /// costly OGC validity check of areas is skipped (it ran when the entry was written).
    pub fn from_stored(spec: Value, boundaries: &Boundaries) -> Result<Coverage, FieldError> {
        if spec.get("type").and_then(Value::as_str) == Some("area") {
            let input: AreaInput = from_value(spec, "coverage")?;
            return Ok(Coverage::Area {
                geometry: parse_area_checked(input.geometry, "coverage.geometry", false)?,
            });
        }
        Coverage::parse(spec, "coverage", boundaries)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Coverage::Radius { .. } => "radius",
            Coverage::Area { .. } => "area",
            Coverage::Region { .. } => "region",
            Coverage::National { .. } => "national",
        }
    }

    /// The entry in the API's form, which is also how it is stored.
    pub fn to_json(&self) -> Value {
        match self {
            Coverage::Radius { center, radius_km } => json!({
                "type": "radius",
                "center": {"lat": center.lat(), "lon": center.lon()},
                "radius_km": radius_km,
            }),
            Coverage::Area { geometry } => {
                json!({"type": "area", "geometry": geometry.to_geojson()})
            }
            Coverage::Region { code } => json!({"type": "region", "code": code}),
            Coverage::National { country } => json!({"type": "national", "country": country}),
        }
    }

    /// The box around everything the entry covers; regions and countries take theirs from the
    /// bundled boundaries.
    pub fn bounding_box(&self, boundaries: &Boundaries) -> Option<BoundingBox> {
        match self {
            Coverage::Radius { center, radius_km } => {
                Some(BoundingBox::around(*center, *radius_km))
            }
            Coverage::Area { geometry } => geometry
                .to_multi_polygon()
                .bounding_rect()
                .map(BoundingBox::from_rect),
            Coverage::Region { code } => boundaries.get(code).map(|r| r.bbox),
            Coverage::National { country } => boundaries.nation(country).map(|r| r.bbox),
        }
    }
}

impl AreaGeometry {
    /// Its polygons: one for a Polygon, each part of a MultiPolygon.
    pub fn parts(&self) -> &[Polygon<f64>] {
        match self {
            AreaGeometry::Polygon(p) => std::slice::from_ref(p),
            AreaGeometry::MultiPolygon(mp) => &mp.0,
        }
    }

    pub fn to_multi_polygon(&self) -> MultiPolygon<f64> {
        match self {
            AreaGeometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
            AreaGeometry::MultiPolygon(mp) => mp.clone(),
        }
    }

    pub fn to_geojson(&self) -> Value {
        fn ring(ls: &LineString<f64>) -> Value {
            Value::Array(ls.coords().map(|c| json!([c.x, c.y])).collect())
        }
        fn polygon(p: &Polygon<f64>) -> Value {
            Value::Array(
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(ring)
                    .collect(),
            )
        }
        match self {
            AreaGeometry::Polygon(p) => json!({"type": "Polygon", "coordinates": polygon(p)}),
            AreaGeometry::MultiPolygon(mp) => {
                json!({"type": "MultiPolygon", "coordinates": Value::Array(mp.iter().map(polygon).collect())})
            }
        }
    }
}

/// Builds the geometry without checks, for trusted data such as the bundled boundaries.
pub(crate) fn geometry_to_multi_polygon(input: &GeometryInput) -> MultiPolygon<f64> {
    let polygon = |rings: &Vec<Vec<Vec<f64>>>| {
        let mut rings = rings.iter().map(|ring| {
            LineString::new(
                ring.iter()
                    .map(|p| Coord {
                        x: p.first().copied().unwrap_or(0.0),
                        y: p.get(1).copied().unwrap_or(0.0),
                    })
                    .collect(),
            )
        });
        let exterior = rings.next().unwrap_or_else(|| LineString::new(vec![]));
        Polygon::new(exterior, rings.collect())
    };
    match input {
        GeometryInput::Polygon { coordinates, .. } => MultiPolygon::new(vec![polygon(coordinates)]),
        GeometryInput::MultiPolygon { coordinates, .. } => {
            MultiPolygon::new(coordinates.iter().map(polygon).collect())
        }
    }
}

/// Checks one polygon's rings as GeoJSON (RFC 7946) requires: positions of two or three
/// finite numbers in range, at least four positions a ring, first and last equal.
fn check_rings(
    rings: &[Vec<Vec<f64>>],
    field: &str,
    vertices: &mut usize,
) -> Result<(), FieldError> {
    if rings.is_empty() {
        return Err(FieldError::new(
            "invalid_geometry",
            field,
            "a polygon needs an exterior ring",
        ));
    }
    for (r, ring) in rings.iter().enumerate() {
        let ring_field = format!("{field}[{r}]");
        *vertices += ring.len();
        if *vertices > MAX_AREA_VERTICES {
            return Err(FieldError::new(
                "invalid_geometry",
                ring_field,
                format!("the area has more than {MAX_AREA_VERTICES} vertices; simplify it"),
            ));
        }
        if ring.len() < 4 {
            return Err(FieldError::new(
                "invalid_geometry",
                ring_field,
                "a ring needs at least 4 positions, the last repeating the first",
            ));
        }
        for (i, position) in ring.iter().enumerate() {
            let at = format!("{ring_field}[{i}]");
            let (Some(&lon), Some(&lat), true) =
                (position.first(), position.get(1), position.len() <= 3)
            else {
                return Err(FieldError::new(
                    "invalid_geometry",
                    at,
                    "a position is [longitude, latitude]",
                ));
            };
            if let Err(reason) = Coordinates::new(lat, lon) {
                return Err(FieldError::new(
                    "invalid_geometry",
                    at,
                    format!("{reason} (GeoJSON positions are [longitude, latitude])"),
                ));
            }
        }
        if ring.first().map(|p| &p[..2]) != ring.last().map(|p| &p[..2]) {
            return Err(FieldError::new(
                "invalid_geometry",
                ring_field,
                "the ring is not closed: its last position must repeat the first",
            ));
        }
    }
    Ok(())
}

/// Parses and validates a GeoJSON Polygon or MultiPolygon.
pub fn parse_area(value: Value, field: &str) -> Result<AreaGeometry, FieldError> {
    parse_area_checked(value, field, true)
}

fn parse_area_checked(
    value: Value,
    field: &str,
    validate: bool,
) -> Result<AreaGeometry, FieldError> {
    let input = match value.get("type").and_then(Value::as_str) {
        Some("Polygon") => {
            let polygon: GeoJsonInput<Vec<Vec<Vec<f64>>>> = from_value(value, field)?;
            GeometryInput::Polygon {
                coordinates: polygon.coordinates,
                bbox: None,
            }
        }
        Some("MultiPolygon") => {
            let multi: GeoJsonInput<Vec<Vec<Vec<Vec<f64>>>>> = from_value(value, field)?;
            GeometryInput::MultiPolygon {
                coordinates: multi.coordinates,
                bbox: None,
            }
        }
        Some(_) => {
            return Err(FieldError::new(
                "invalid_geometry",
                path(field, "type"),
                "is not an area: use a GeoJSON Polygon or MultiPolygon",
            ));
        }
        None => {
            return Err(FieldError::new(
                "invalid_geometry",
                field,
                "must be a GeoJSON Polygon or MultiPolygon object",
            ));
        }
    };
    let coordinates_field = path(field, "coordinates");
    let mut vertices = 0;
    match &input {
        GeometryInput::Polygon { coordinates, .. } => {
            check_rings(coordinates, &coordinates_field, &mut vertices)?
        }
        GeometryInput::MultiPolygon { coordinates, .. } => {
            if coordinates.is_empty() {
                return Err(FieldError::new(
                    "invalid_geometry",
                    coordinates_field,
                    "a MultiPolygon needs at least one polygon",
                ));
            }
            for (i, polygon) in coordinates.iter().enumerate() {
                check_rings(polygon, &format!("{coordinates_field}[{i}]"), &mut vertices)?;
            }
        }
    }
    let multi = geometry_to_multi_polygon(&input);
    if validate {
        let is_multi = matches!(input, GeometryInput::MultiPolygon { .. });
        super::area_validity::check(&multi, &coordinates_field, is_multi)?;
    }
    Ok(match input {
        GeometryInput::Polygon { .. } => AreaGeometry::Polygon(
            multi
                .0
                .into_iter()
                .next()
                .unwrap_or_else(|| Polygon::new(LineString::new(vec![]), vec![])),
        ),
        GeometryInput::MultiPolygon { .. } => AreaGeometry::MultiPolygon(multi),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: Value) -> Result<Coverage, FieldError> {
        Coverage::parse(value, "coverage[0]", Boundaries::bundled())
    }

    /// A stored entry reads back as the entry the API parsed: a kept sealed site's editor
    /// compares what it is sent with what is stored (`service::draws_nothing_new`).
    #[test]
    fn a_stored_entry_reads_back_equal() {
        for entry in [
            json!({"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 25}),
            json!({"type": "area", "geometry": {"type": "MultiPolygon", "coordinates": [
                [[[-95.5, 29.5], [-95.0, 29.5], [-95.0, 30.0], [-95.5, 29.5]]],
                [[[-94.5, 29.5], [-94.0, 29.5], [-94.0, 30.0], [-94.5, 29.5]]]]}}),
            json!({"type": "region", "code": "US-TX"}),
        ] {
            let parsed = parse(entry).unwrap();
            let stored = Coverage::from_stored(parsed.to_json(), Boundaries::bundled()).unwrap();
            assert_eq!(stored, parsed);
        }
    }
    #[test]
    fn radius_bounds() {
        assert!(
            parse(
                json!({"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 25})
            )
            .is_ok()
        );
        let err = parse(
            json!({"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 0}),
        )
        .unwrap_err();
        assert_eq!(err.field, "coverage[0].radius_km");
        let err = parse(
            json!({"type": "radius", "center": {"lat": 129.76, "lon": -95.37}, "radius_km": 5}),
        )
        .unwrap_err();
        assert_eq!(
            (err.code, err.field.as_str()),
            ("invalid_coordinates", "coverage[0].center.lat")
        );
        let err = parse(
            json!({"type": "radius", "center": {"lat": 1, "lon": 2}, "radius_km": 5, "extra": 1}),
        )
        .unwrap_err();
        assert_eq!(err.field, "coverage[0].extra");
        assert!(err.message.contains("unknown field"), "{}", err.message);
    }

    #[test]
    fn geometry_errors_name_the_spot() {
        let square = json!([[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]);
        assert!(
            parse(json!({"type": "area", "geometry": {"type": "Polygon", "coordinates": square}}))
                .is_ok()
        );
        let open = json!([[[0, 0], [1, 0], [1, 1], [0, 1]]]);
        let err =
            parse(json!({"type": "area", "geometry": {"type": "Polygon", "coordinates": open}}))
                .unwrap_err();
        assert_eq!(
            (err.code, err.field.as_str()),
            ("invalid_geometry", "coverage[0].geometry.coordinates[0]")
        );
        let bowtie = json!([[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]);
        let err =
            parse(json!({"type": "area", "geometry": {"type": "Polygon", "coordinates": bowtie}}))
                .unwrap_err();
        assert_eq!(
            (err.code, err.field.as_str()),
            ("invalid_geometry", "coverage[0].geometry.coordinates[0]")
        );
        assert!(err.message.contains("self-intersection"), "{}", err.message);
        let far = json!([[[0, 0], [200, 0], [1, 1], [0, 0]]]);
        let err =
            parse(json!({"type": "area", "geometry": {"type": "Polygon", "coordinates": far}}))
                .unwrap_err();
        assert_eq!(err.field, "coverage[0].geometry.coordinates[0][1]");
        let err =
            parse(json!({"type": "area", "geometry": {"type": "Point", "coordinates": [0, 0]}}))
                .unwrap_err();
        assert_eq!(err.field, "coverage[0].geometry.type");
        let err = parse(
            json!({"type": "area", "geometry": {"type": "Polygon", "coordinates": [[[0, "x"]]]}}),
        )
        .unwrap_err();
        assert!(
            err.field.starts_with("coverage[0].geometry.coordinates"),
            "{}",
            err.field
        );
    }

    #[test]
    fn regions_and_countries_come_from_the_bundle() {
        assert!(parse(json!({"type": "region", "code": "us-ca"})).is_ok());
        assert!(parse(json!({"type": "region", "code": "US-06075"})).is_ok());
        assert_eq!(
            parse(json!({"type": "region", "code": "US-99999"}))
                .unwrap_err()
                .code,
            "unknown_region"
        );
        assert!(parse(json!({"type": "national", "country": "US"})).is_ok());
        assert_eq!(
            parse(json!({"type": "national", "country": "FR"}))
                .unwrap_err()
                .code,
            "unknown_country"
        );
        assert_eq!(
            parse(json!({"type": "circle"})).unwrap_err().field,
            "coverage[0].type"
        );
    }

    #[test]
    fn radius_box_wraps_the_antimeridian_and_poles() {
        let b = BoundingBox::around(Coordinates::new(0.0, 179.9).unwrap(), 50.0);
        assert!(b.min_lon > b.max_lon);
        let b = BoundingBox::around(Coordinates::new(89.9, 0.0).unwrap(), 50.0);
        assert_eq!((b.min_lon, b.max_lon, b.max_lat), (-180.0, 180.0, 90.0));
    }
}

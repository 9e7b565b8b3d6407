//! A point on Earth, and the one place that decides `geo`'s axis order (x = lon, y = lat).

use serde::{Deserialize, Serialize};

use super::{FieldError, path};

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coordinates {
    lat: f64,
    lon: f64,
}

/// `{"lat": .., "lon": ..}` as clients send it, before it is checked.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoordinatesInput {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

/// Mean Earth radius used for great-circle distances, in km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

impl Coordinates {
    /// Accepts finite latitudes in [-90, 90] and longitudes in [-180, 180].
    pub fn new(lat: f64, lon: f64) -> Result<Self, &'static str> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err("latitude must be a number between -90 and 90");
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err("longitude must be a number between -180 and 180");
        }
        Ok(Coordinates { lat, lon })
    }

    /// `field` is where the pair sits; an error names the member that is wrong in it.
    pub fn parse(input: CoordinatesInput, field: &str) -> Result<Self, FieldError> {
        Coordinates::new(input.lat, input.lon).map_err(|message| {
            let member = match Coordinates::new(input.lat, 0.0) {
                Ok(_) => "lon",
                Err(_) => "lat",
            };
            FieldError::new("invalid_coordinates", path(field, member), message)
        })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }

    pub fn to_point(self) -> geo::Point<f64> {
        geo::Point::new(self.lon, self.lat)
    }

    /// The point as `geo` holds it, if it is in range.
    pub fn from_point(point: geo::Point<f64>) -> Option<Self> {
        Coordinates::new(point.y(), point.x()).ok()
    }
}

/// The point on the unit sphere: straight-line (chord) distances between such points order
/// exactly like great-circle distances and cost no trigonometry.
pub fn unit_vector(c: Coordinates) -> [f64; 3] {
    let (lat, lon) = (c.lat.to_radians(), c.lon.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}

/// The cross product of two vectors.
pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// The dot product of two vectors.
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Squared chord between two unit vectors.
pub fn chord2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Great-circle km for a squared unit chord.
pub fn chord2_km(c2: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * (c2.max(0.0).sqrt() / 2.0).min(1.0).asin()
}

/// Squared unit chord for a great-circle distance in km.
pub fn km_chord2(km: f64) -> f64 {
    4.0 * (km.min(std::f64::consts::PI * EARTH_RADIUS_KM) / (2.0 * EARTH_RADIUS_KM))
        .sin()
        .powi(2)
}

/// Great-circle distance between two points on the mean Earth sphere, in km.
pub fn haversine_km(a: Coordinates, b: Coordinates) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_and_non_finite() {
        assert!(Coordinates::new(90.0, 180.0).is_ok());
        assert!(Coordinates::new(-90.0, -180.0).is_ok());
        assert!(Coordinates::new(90.0001, 0.0).is_err());
        assert!(Coordinates::new(0.0, -180.5).is_err());
        assert!(Coordinates::new(f64::NAN, 0.0).is_err());
        assert!(Coordinates::new(0.0, f64::INFINITY).is_err());
    }

    #[test]
    fn haversine_matches_known_distances() {
        let sf = Coordinates::new(37.7749, -122.4194).unwrap();
        let la = Coordinates::new(34.0522, -118.2437).unwrap();
        assert!((haversine_km(sf, la) - 559.0).abs() < 2.0);
        assert_eq!(haversine_km(sf, sf), 0.0);
        let east = Coordinates::new(0.0, 179.9).unwrap();
        let west = Coordinates::new(0.0, -179.9).unwrap();
        assert!(
            (haversine_km(east, west) - 22.24).abs() < 0.1,
            "across the antimeridian"
        );
    }

    #[test]
    fn chords_agree_with_haversine() {
        let a = Coordinates::new(29.76, -95.37).unwrap();
        let b = Coordinates::new(30.27, -97.74).unwrap();
        let km = chord2_km(chord2(unit_vector(a), unit_vector(b)));
        assert!((km - haversine_km(a, b)).abs() < 1e-6);
        assert!((chord2_km(km_chord2(25.0)) - 25.0).abs() < 1e-9);
    }

    #[test]
    fn point_is_lon_lat() {
        let p = Coordinates::new(37.7, -122.4).unwrap().to_point();
        assert_eq!((p.x(), p.y()), (-122.4, 37.7));
    }
}

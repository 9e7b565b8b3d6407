//! US ZIP codes resolved offline to their Census ZCTA centroids (bundled from
//! `seed/zips/us-zcta-centroids.csv.gz`; see `seed/README.md`). No geocoder is ever called.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use crate::domain::Coordinates;

static BUNDLED_GZ: &[u8] = include_bytes!("../seed/zips/us-zcta-centroids.csv.gz");

pub struct ZipCentroids {
    by_zip: HashMap<u32, (f32, f32)>,
}

/// The five digits of a ZIP code written as five digits or as ZIP+4 (`77019-1234`),
/// surrounding spaces aside; None for anything else.
pub fn five_digits(zip: &str) -> Option<&str> {
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    let (five, plus_four) = match zip.trim().split_once('-') {
        Some((five, four)) => (five, Some(four)),
        None => (zip.trim(), None),
    };
    (digits(five, 5) && plus_four.is_none_or(|four| digits(four, 4))).then_some(five)
}

/// Why a ZIP code gave no place: it is not written as one (a person to be asked for five
/// digits), or it is but the Census lists no such ZCTA (PO boxes and retired codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZipError {
    Malformed,
    Unknown,
}

impl ZipCentroids {
    /// The centroids compiled into this binary, parsed once per process.
    pub fn bundled() -> &'static ZipCentroids {
        static BUNDLED: OnceLock<ZipCentroids> = OnceLock::new();
        BUNDLED.get_or_init(|| {
            #[expect(
                clippy::expect_used,
                reason = "the embedded file is fixed at build time and checked by a unit test"
            )]
            ZipCentroids::from_gzip(BUNDLED_GZ).expect("bundled ZIP centroids are readable")
        })
    }

    pub fn from_gzip(bytes: &[u8]) -> anyhow::Result<ZipCentroids> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes).read_to_string(&mut text)?;
        let mut by_zip = HashMap::with_capacity(34_000);
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("zip"))
        {
            let mut parts = line.split(',');
            let (Some(zip), Some(lat), Some(lon)) = (parts.next(), parts.next(), parts.next())
            else {
                anyhow::bail!("bad ZIP line {line:?}");
            };
            by_zip.insert(zip.parse()?, (lat.parse()?, lon.parse()?));
        }
        Ok(ZipCentroids { by_zip })
    }

    /// The centroid of a five-digit ZIP code (ZIP+4 and spaces are accepted and trimmed).
    pub fn lookup(&self, zip: &str) -> Result<Coordinates, ZipError> {
        let five = five_digits(zip).ok_or(ZipError::Malformed)?;
        let (lat, lon) = five
            .parse()
            .ok()
            .and_then(|five: u32| self.by_zip.get(&five))
            .ok_or(ZipError::Unknown)?;
        Coordinates::new(f64::from(*lat), f64::from(*lon)).map_err(|_| ZipError::Unknown)
    }

    pub fn len(&self) -> usize {
        self.by_zip.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_zip.is_empty()
    }

    /// Every ZIP with its centroid (used by the benchmark's data generator).
    pub fn iter(&self) -> impl Iterator<Item = (u32, Coordinates)> + '_ {
        self.by_zip.iter().filter_map(|(zip, (lat, lon))| {
            Coordinates::new(f64::from(*lat), f64::from(*lon))
                .ok()
                .map(|c| (*zip, c))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_bundled_zips() {
        let zips = ZipCentroids::bundled();
        assert_eq!(zips.len(), 33_791);
        let mission = zips.lookup("94110").unwrap();
        assert!((mission.lat() - 37.75).abs() < 0.01 && (mission.lon() + 122.415).abs() < 0.01);
        assert!(zips.lookup("77002-1234").is_ok());
        assert_eq!(zips.lookup("00000"), Err(ZipError::Unknown));
        for malformed in ["9411", "abcde", "941100", ""] {
            assert_eq!(
                zips.lookup(malformed),
                Err(ZipError::Malformed),
                "{malformed}"
            );
        }
        for half in ["67801-abc", "67801-", "67801-12345", "67801-1-2"] {
            assert_eq!(zips.lookup(half), Err(ZipError::Malformed), "{half}");
        }
    }
}

//! Which bundled regions (nation, states, counties) cover a point, for `region` and
//! `national` coverage. Built once per process from the bundled boundaries.

use std::sync::OnceLock;

use geo::Point;
use rstar::{AABB, RTree, RTreeObject};

use super::shape::{Shape, point_envelope};
use crate::boundaries::Boundaries;
use crate::domain::Coordinates;
use crate::domain::coordinates::EARTH_RADIUS_KM;

struct RegionEntry {
    envelope: AABB<Point<f64>>,
    region: u32,
}

impl RTreeObject for RegionEntry {
    type Envelope = AABB<Point<f64>>;

    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

pub struct RegionLocator {
    tree: RTree<RegionEntry>,
    shapes: Vec<Shape>,
}

impl RegionLocator {
    pub fn bundled() -> &'static RegionLocator {
        static LOCATOR: OnceLock<RegionLocator> = OnceLock::new();
        LOCATOR.get_or_init(|| RegionLocator::new(Boundaries::bundled()))
    }

    pub fn new(boundaries: &Boundaries) -> RegionLocator {
        let shapes: Vec<Shape> = boundaries
            .regions()
            .iter()
            .map(|r| Shape::new(r.geometry.clone()))
            .collect();
        let entries = shapes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let rect = s.bounding_box()?;
                Some(RegionEntry {
                    envelope: AABB::from_corners(rect.min().into(), rect.max().into()),
                    region: u32::try_from(i).ok()?,
                })
            })
            .collect();
        RegionLocator {
            tree: RTree::bulk_load(entries),
            shapes,
        }
    }

    /// Regions (by index in [`Boundaries::regions`]) that cover the point, boundary included.
    pub fn regions_at(&self, point: Coordinates) -> Vec<u32> {
        let mut found: Vec<u32> = self
            .tree
            .locate_in_envelope_intersecting(&point_envelope(point))
            .filter(|e| self.shape(e.region).is_some_and(|s| s.covers(point)))
            .map(|e| e.region)
            .collect();
        found.sort_unstable();
        found
    }

    /// Regions that `wanted` accepts within `km` of the point that do not cover it, with
    /// their distance (the distance is costly for large regions, hence the filter first).
    pub fn regions_near(
        &self,
        point: Coordinates,
        km: f64,
        wanted: impl Fn(u32) -> bool,
    ) -> Vec<(u32, f64)> {
        let envelope = envelope_around(point, km);
        self.tree
            .locate_in_envelope_intersecting(&envelope)
            .filter(|e| wanted(e.region))
            .filter_map(|e| {
                let distance = self.shape(e.region)?.approximate_distance_km(point);
                (distance > 0.0 && distance <= km).then_some((e.region, distance))
            })
            .collect()
    }

    pub fn shape(&self, region: u32) -> Option<&Shape> {
        self.shapes.get(region as usize)
    }
}

/// A lon/lat box that holds every point within `km` of `point` (whole longitudes near poles).
pub fn envelope_around(point: Coordinates, km: f64) -> AABB<Point<f64>> {
    let dlat = (km / EARTH_RADIUS_KM).to_degrees();
    let cos = point.lat().to_radians().cos();
    let dlon = if cos < 1e-6 {
        360.0
    } else {
        (dlat / cos).min(360.0)
    };
    AABB::from_corners(
        Point::new(point.lon() - dlon, (point.lat() - dlat).max(-90.0)),
        Point::new(point.lon() + dlon, (point.lat() + dlat).min(90.0)),
    )
}

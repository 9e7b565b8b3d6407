//! Point-in-area tests with boundaries included (`intersects`, not `contains`). Areas with
//! many vertices get an interval tree for the inside test and an R-tree of edges for the
//! on-boundary test, so a query costs a few segment checks instead of a walk of every edge.

use geo::algorithm::indexed::IntervalTreeMultiPolygon;
use geo::coordinate_position::{CoordPos, coord_pos_relative_to_ring};
use geo::orient::{Direction, Orient};
use geo::{BoundingRect, ClosestPoint, Contains, Intersects, Line, MultiPolygon, Point};
use rstar::{AABB, RTree};

use crate::domain::Coordinates;
use crate::domain::coordinates::haversine_km;

/// From this many vertices on, an area is indexed. The indexes cost about 100 bytes an edge,
/// so only large outlines get them; smaller ones are walked edge by edge.
const INDEX_FROM_VERTICES: usize = 4096;

pub struct Shape {
    geometry: MultiPolygon<f64>,
    /// Kept so a miss costs four comparisons (geo recomputes it on every `intersects`).
    bbox: Option<geo::Rect<f64>>,
    indexed: Option<Indexed>,
}

struct Indexed {
    interior: IntervalTreeMultiPolygon<f64>,
    edges: RTree<Line<f64>>,
}

impl Shape {
    pub fn new(geometry: MultiPolygon<f64>) -> Shape {
        // The interval tree counts winding numbers, which needs holes wound against their
        // shell; GeoJSON from the wild does not always follow the right-hand rule.
        let geometry = geometry.orient(Direction::Default);
        let vertices: usize = geometry
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum();
        let indexed = (vertices >= INDEX_FROM_VERTICES).then(|| Indexed {
            interior: IntervalTreeMultiPolygon::new(&geometry),
            edges: RTree::bulk_load(
                geometry
                    .iter()
                    .flat_map(|p| {
                        p.exterior()
                            .lines()
                            .chain(p.interiors().iter().flat_map(|r| r.lines()))
                    })
                    .collect(),
            ),
        });
        Shape {
            bbox: geometry.bounding_rect(),
            geometry,
            indexed,
        }
    }

    pub fn geometry(&self) -> &MultiPolygon<f64> {
        &self.geometry
    }

    /// Whether the area covers the point, its boundary included.
    pub fn covers(&self, point: Coordinates) -> bool {
        let p = point.to_point();
        if !self.bbox.is_some_and(|b| b.intersects(&p)) {
            return false;
        }
        match &self.indexed {
            None => self
                .geometry
                .iter()
                .any(|polygon| polygon_covers(polygon, p.0)),
            Some(ix) => {
                ix.interior.contains(&p)
                    || ix
                        .edges
                        .locate_in_envelope_intersecting(&AABB::from_point(p))
                        .any(|edge| edge.intersects(&p))
            }
        }
    }

    /// Distance to the area's bounding box: a cheap lower bound of [`Shape::distance_km`].
    pub fn box_distance_km(&self, point: Coordinates) -> f64 {
        let Some(b) = self.bbox else {
            return f64::INFINITY;
        };
        let lat = point.lat().clamp(b.min().y, b.max().y);
        let lon = point.lon().clamp(b.min().x, b.max().x);
        Coordinates::new(lat, lon).map_or(f64::INFINITY, |c| haversine_km(point, c))
    }

    /// About how far the area is: the box distance when the point is outside the box, the
    /// exact distance (costly for large areas) only when it is inside.
    pub fn approximate_distance_km(&self, point: Coordinates) -> f64 {
        match self.box_distance_km(point) {
            d if d > 0.0 => d,
            _ => self.distance_km(point),
        }
    }

    /// Great-circle distance from the point to the nearest part of the area (0 inside).
    pub fn distance_km(&self, point: Coordinates) -> f64 {
        if self.covers(point) {
            return 0.0;
        }
        match self.geometry.closest_point(&point.to_point()) {
            geo::Closest::Intersection(_) => 0.0,
            geo::Closest::SinglePoint(c) => {
                Coordinates::new(c.y(), c.x()).map_or(f64::INFINITY, |c| haversine_km(point, c))
            }
            geo::Closest::Indeterminate => f64::INFINITY,
        }
    }

    pub fn bounding_box(&self) -> Option<geo::Rect<f64>> {
        self.bbox
    }
}

/// Inside or on the boundary of one polygon, holes excluded (their boundary included).
/// Unlike geo's `intersects`, this does not recompute bounding boxes on every call.
fn polygon_covers(polygon: &geo::Polygon<f64>, c: geo::Coord<f64>) -> bool {
    match coord_pos_relative_to_ring(c, polygon.exterior()) {
        CoordPos::Outside => false,
        CoordPos::OnBoundary => true,
        CoordPos::Inside => polygon
            .interiors()
            .iter()
            .all(|hole| coord_pos_relative_to_ring(c, hole) != CoordPos::Inside),
    }
}

/// A point as an R-tree query envelope.
pub fn point_envelope(point: Coordinates) -> AABB<Point<f64>> {
    AABB::from_point(point.to_point())
}

#[cfg(test)]
mod tests {
    use geo::{Coord, LineString, Polygon};

    use super::*;

    fn circle(n: usize) -> MultiPolygon<f64> {
        let ring: Vec<Coord<f64>> = (0..=n)
            .map(|i| {
                let a = (i % n) as f64 / n as f64 * std::f64::consts::TAU;
                Coord {
                    x: a.cos(),
                    y: a.sin(),
                }
            })
            .collect();
        MultiPolygon::new(vec![Polygon::new(LineString::new(ring), vec![])])
    }

    #[test]
    fn indexed_and_plain_agree_including_the_boundary() {
        for n in [8, 5000] {
            let shape = Shape::new(circle(n));
            assert_eq!(shape.indexed.is_some(), n >= INDEX_FROM_VERTICES);
            let c = |lat: f64, lon: f64| Coordinates::new(lat, lon).unwrap();
            assert!(shape.covers(c(0.0, 0.0)));
            assert!(shape.covers(c(0.0, 1.0)), "a vertex is covered");
            assert!(!shape.covers(c(0.0, 1.01)));
            let plain = circle(n);
            for i in 0..200 {
                let p = c((i as f64 * 0.37).sin() * 1.1, (i as f64 * 0.91).cos() * 1.1);
                assert_eq!(shape.covers(p), plain.intersects(&p.to_point()), "{p:?}");
            }
        }
    }
}

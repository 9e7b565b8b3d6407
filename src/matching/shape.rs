//! Point-in-area tests with boundaries included (`intersects`, not `contains`). Areas with
//! many vertices get an interval tree for the inside test and, per raster cell, a list of the
//! edges there for the on-boundary test, so a query costs a few segment checks instead of a
//! walk of every edge.

use geo::algorithm::indexed::IntervalTreeMultiPolygon;
use geo::orient::{Direction, Orient};
use geo::{BoundingRect, Contains, Coord, Intersects, Line, MultiPolygon, Point};
use rstar::AABB;

use super::outline::Outline;
use super::regions::{envelope_around, wrapped};
use crate::domain::Coordinates;
use crate::domain::coordinates::{chord2, chord2_km, cross, dot, haversine_km, unit_vector};

/// From this many vertices on, an area is indexed. The indexes cost about 70 bytes an edge,
/// so only large outlines get them; smaller ones are walked edge by edge.
const INDEX_FROM_VERTICES: usize = 4096;

pub struct Shape {
    outline: Outline,
    /// Kept so a miss costs four comparisons (geo recomputes it on every `intersects`).
    bbox: Option<geo::Rect<f64>>,
    /// Most points in the box are answered from this grid without touching an edge.
    raster: Option<Raster>,
    /// Boxed: only a few areas have one, and every shape would carry its size.
    indexed: Option<Box<Indexed>>,
}

/// Cells per side of a [`Raster`].
const RASTER: usize = 16;

/// A 16 x 16 grid over an area's bounding box. A cell that no edge passes through is wholly
/// inside or wholly outside; only points in cells an edge crosses need the exact test.
struct Raster {
    min: geo::Coord<f64>,
    cell: geo::Coord<f64>,
    /// One bit per cell, row-major.
    crossed: [u64; RASTER * RASTER / 64],
    inside: [u64; RASTER * RASTER / 64],
}

impl Raster {
    fn new(outline: &Outline, bbox: geo::Rect<f64>) -> Option<Raster> {
        let n = RASTER as f64;
        let cell = geo::Coord {
            x: bbox.width() / n,
            y: bbox.height() / n,
        };
        if !(cell.x > 0.0 && cell.y > 0.0) {
            return None;
        }
        let mut raster = Raster {
            min: bbox.min(),
            cell,
            crossed: [0; RASTER * RASTER / 64],
            inside: [0; RASTER * RASTER / 64],
        };
        // An edge's points lie within its endpoints' range on each axis, and a cell index is
        // monotonic in the coordinate, so every cell an edge touches is in this rectangle.
        for (_, line) in outline.edges() {
            for cell in raster.cells_between(line.start, line.end) {
                set(&mut raster.crossed, cell);
            }
        }
        // A run of uncrossed cells in a row is connected and crossed by no edge, so one point
        // decides it: the centre of its first cell (if that centre falls in the cell).
        for row in 0..RASTER {
            let mut col = 0;
            while col < RASTER {
                if get(&raster.crossed, row * RASTER + col) {
                    col += 1;
                    continue;
                }
                let centre = geo::Coord {
                    x: raster.min.x + (col as f64 + 0.5) * cell.x,
                    y: raster.min.y + (row as f64 + 0.5) * cell.y,
                };
                let decided = raster.cell_of(centre) == (col, row);
                let inside = outline.covers(centre);
                while col < RASTER && !get(&raster.crossed, row * RASTER + col) {
                    let i = row * RASTER + col;
                    if !decided {
                        set(&mut raster.crossed, i);
                    } else if inside {
                        set(&mut raster.inside, i);
                    }
                    col += 1;
                }
            }
        }
        Some(raster)
    }

    fn cell_of(&self, c: geo::Coord<f64>) -> (usize, usize) {
        let index =
            |v: f64, min: f64, size: f64| (((v - min) / size).max(0.0) as usize).min(RASTER - 1);
        (
            index(c.x, self.min.x, self.cell.x),
            index(c.y, self.min.y, self.cell.y),
        )
    }

    fn cell_index(&self, c: geo::Coord<f64>) -> usize {
        let (col, row) = self.cell_of(c);
        row * RASTER + col
    }

    /// The cells of the rectangle from `a`'s cell to `b`'s: every cell the segment between
    /// them touches is among these.
    fn cells_between(
        &self,
        a: geo::Coord<f64>,
        b: geo::Coord<f64>,
    ) -> impl Iterator<Item = usize> + Clone + use<> {
        let ((c0, r0), (c1, r1)) = (self.cell_of(a), self.cell_of(b));
        (r0.min(r1)..=r0.max(r1))
            .flat_map(move |row| (c0.min(c1)..=c0.max(c1)).map(move |col| row * RASTER + col))
    }

    /// `Some(covered)` when the grid knows; `None` when the exact test must decide.
    fn lookup(&self, c: geo::Coord<f64>) -> Option<bool> {
        let i = self.cell_index(c);
        (!get(&self.crossed, i)).then(|| get(&self.inside, i))
    }
}

fn get(bits: &[u64], i: usize) -> bool {
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

fn set(bits: &mut [u64], i: usize) {
    if let Some(w) = bits.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

struct Indexed {
    interior: IntervalTreeMultiPolygon<f64>,
    /// `None` only for a shape too thin for a raster: then every edge is checked.
    boundary: Option<CellEdges>,
}

/// For each raster cell, the edges whose box touches it. A point on the boundary lies on an
/// edge listed for its own cell: its coordinates lie between the edge's endpoints', and cell
/// indexes are monotonic in the coordinate. About 6 bytes an edge, where an R-tree of the
/// edges took some 70 (measured on the 1M-service benchmark).
struct CellEdges {
    /// Cell `c`'s edges are `edges[starts[c]..starts[c + 1]]`, as [`Outline::edge`] numbers them.
    starts: Box<[u32]>,
    edges: Box<[u32]>,
}

impl CellEdges {
    fn new(outline: &Outline, raster: &Raster) -> CellEdges {
        let spans: Vec<_> = outline
            .edges()
            .map(|(edge, line)| (edge, raster.cells_between(line.start, line.end)))
            .collect();
        let mut starts = vec![0u32; RASTER * RASTER + 1];
        for cell in spans.iter().flat_map(|(_, cells)| cells.clone()) {
            starts[cell + 1] += 1;
        }
        for c in 0..RASTER * RASTER {
            starts[c + 1] += starts[c];
        }
        let mut next: Vec<u32> = starts[..RASTER * RASTER].to_vec();
        let mut edges = vec![0u32; starts[RASTER * RASTER] as usize];
        for (edge, cells) in spans {
            for cell in cells {
                edges[next[cell] as usize] = edge;
                next[cell] += 1;
            }
        }
        CellEdges {
            starts: starts.into_boxed_slice(),
            edges: edges.into_boxed_slice(),
        }
    }

    fn on_boundary(&self, outline: &Outline, cell: usize, p: Point<f64>) -> bool {
        let (Some(&from), Some(&to)) = (self.starts.get(cell), self.starts.get(cell + 1)) else {
            return false;
        };
        self.edges[from as usize..to as usize]
            .iter()
            .any(|e| outline.edge(*e).intersects(&p))
    }
}

impl Shape {
    pub fn new(geometry: MultiPolygon<f64>) -> Shape {
        // The interval tree counts winding numbers, which needs holes wound against their
        // shell; GeoJSON from the wild does not always follow the right-hand rule.
        let geometry = geometry.orient(Direction::Default);
        let bbox = geometry.bounding_rect();
        let outline = Outline::new(&geometry);
        let raster = bbox.and_then(|b| Raster::new(&outline, b));
        let indexed = (outline.vertex_count() >= INDEX_FROM_VERTICES).then(|| {
            Box::new(Indexed {
                interior: IntervalTreeMultiPolygon::new(&geometry),
                boundary: raster.as_ref().map(|r| CellEdges::new(&outline, r)),
            })
        });
        Shape {
            raster,
            bbox,
            outline,
            indexed,
        }
    }

    /// Whether the area covers the point, its boundary included.
    pub fn covers(&self, point: Coordinates) -> bool {
        self.covers_by_grid(point)
            .unwrap_or_else(|| self.covers_by_edges(point))
    }

    /// [`Shape::covers`] as far as the box and the grid answer it, which is for most points;
    /// `None` when the edges must decide ([`Shape::covers_by_edges`]).
    pub fn covers_by_grid(&self, point: Coordinates) -> Option<bool> {
        let p = point.to_point();
        if !self.bbox.is_some_and(|b| b.intersects(&p)) {
            return Some(false);
        }
        self.raster.as_ref().and_then(|r| r.lookup(p.0))
    }

    /// Starts loading what [`Shape::covers_by_grid`] reads, so that the loads of many shapes
    /// overlap (see `Index::covering`).
    pub fn prefetch_grid(&self) {
        super::prefetch(&self.outline);
        super::prefetch(&self.bbox);
        if let Some(raster) = &self.raster {
            super::prefetch(raster);
            super::prefetch(&raster.inside);
        }
    }

    /// Starts loading what [`Shape::covers_by_edges`] reads first.
    pub fn prefetch_edges(&self) {
        self.outline.prefetch();
    }

    /// The exact test, its boundary included, for a point in the box.
    pub fn covers_by_edges(&self, point: Coordinates) -> bool {
        let p = point.to_point();
        match &self.indexed {
            None => self.outline.covers(p.0),
            Some(ix) => {
                ix.interior.contains(&p)
                    || match (&ix.boundary, &self.raster) {
                        (Some(cells), Some(raster)) => {
                            cells.on_boundary(&self.outline, raster.cell_index(p.0), p)
                        }
                        _ => self.outline.edges().any(|(_, line)| line.intersects(&p)),
                    }
            }
        }
    }

    /// Distance to the area's bounding box, the lon/lat box on the sphere: a cheap lower
    /// bound of [`Shape::distance_km`]. The nearest point of the box is on its nearest
    /// meridian, and beside the box that point is poleward of the point's own latitude, so
    /// the latitude is not simply clamped.
    pub fn box_distance_km(&self, point: Coordinates) -> f64 {
        let Some(b) = self.bbox else {
            return f64::INFINITY;
        };
        let facing = self.facing_lon(point);
        let lon = facing.clamp(b.min().x, b.max().x);
        let lat = nearest_on_meridian(point.lat(), facing - lon).clamp(b.min().y, b.max().y);
        Coordinates::new(lat, lon).map_or(f64::INFINITY, |c| haversine_km(point, c))
    }

    /// The point's longitude, moved by a full turn when that brings it nearer the area's box:
    /// an area just across the antimeridian is then measured the short way round.
    fn facing_lon(&self, point: Coordinates) -> f64 {
        let Some(b) = self.bbox else {
            return point.lon();
        };
        let gap = |lon: f64| (b.min().x - lon).max(lon - b.max().x).max(0.0);
        [point.lon(), point.lon() + 360.0, point.lon() - 360.0]
            .into_iter()
            .min_by(|a, c| gap(*a).total_cmp(&gap(*c)))
            .unwrap_or(point.lon())
    }

    /// How far the area is from the point, when it is within `km`: 0 when it covers the
    /// point, else the great-circle distance to the nearest point of its boundary as drawn
    /// (edges straight in longitude and latitude, as [`Shape::covers`] reads them). `None`
    /// when the area is farther than `km`.
    ///
    /// Only edges within `km` of the point in longitude and latitude are measured, so an
    /// area far larger than `km` costs little more than its nearby edges.
    pub fn distance_within_km(&self, point: Coordinates, km: f64) -> Option<f64> {
        if self.box_distance_km(point) > km {
            return None;
        }
        if self.covers(point) {
            return Some(0.0);
        }
        let at = unit_vector(point);
        // The boundary is no farther than its nearest vertex by a flat measure (cheap, no
        // trigonometry), so only edges that near in longitude and latitude are measured.
        let reach = self
            .nearest_vertex_by_flat_measure(point)
            .and_then(|v| Coordinates::new(v.y, v.x).ok())
            .map_or(km, |v| {
                km.min(chord2_km(chord2(at, unit_vector(v))) * (1.0 + 1e-9))
            });
        let near: Vec<geo::Rect<f64>> = wrapped(envelope_around(point, reach))
            .map(|b| geo::Rect::new(b.lower().0, b.upper().0))
            .collect();
        let mut nearest = f64::INFINITY;
        self.outline.for_each_edge_meeting(&near, |edge| {
            for piece in pieces(edge) {
                if near.iter().any(|b| b.intersects(&piece.bounding_rect())) {
                    nearest = nearest.min(arc_chord2(at, piece));
                }
            }
        });
        let distance = chord2_km(nearest);
        (distance <= km).then_some(distance)
    }

    /// The vertex nearest the point with longitude scaled by the cosine of the point's
    /// latitude, the short way round the antimeridian: a guess, not a measure.
    fn nearest_vertex_by_flat_measure(&self, point: Coordinates) -> Option<Coord<f64>> {
        let scale = point.lat().to_radians().cos();
        let flat = |c: Coord<f64>| {
            let dlon = match c.x - point.lon() {
                d if d > 180.0 => d - 360.0,
                d if d < -180.0 => d + 360.0,
                d => d,
            };
            (dlon * scale).powi(2) + (c.y - point.lat()).powi(2)
        };
        self.outline.lowest_vertex(flat)
    }

    pub fn bounding_box(&self) -> Option<geo::Rect<f64>> {
        self.bbox
    }
}

/// A point as an R-tree query envelope.
pub fn point_envelope(point: Coordinates) -> AABB<Point<f64>> {
    AABB::from_point(point.to_point())
}

/// Longest piece, in degrees of longitude or latitude, an edge is measured in. Each piece is
/// measured as the great-circle arc between its ends, which strays from the straight line in
/// longitude and latitude by about a metre at most over this length.
const PIECE_DEGREES: f64 = 0.1;

/// An edge cut into pieces of at most [`PIECE_DEGREES`] on either axis.
fn pieces(edge: Line<f64>) -> impl Iterator<Item = Line<f64>> {
    let span = (edge.end.x - edge.start.x)
        .abs()
        .max((edge.end.y - edge.start.y).abs());
    let n = (span / PIECE_DEGREES).ceil().max(1.0) as usize;
    let along = move |i: usize| {
        if i == n {
            edge.end
        } else {
            edge.start + edge.delta() * (i as f64 / n as f64)
        }
    };
    (0..n).map(move |i| Line::new(along(i), along(i + 1)))
}

/// Squared unit chord from `at` to the nearest point of the great-circle arc between the
/// piece's ends (the shorter one).
fn arc_chord2(at: [f64; 3], piece: Line<f64>) -> f64 {
    let unit = |c: Coord<f64>| Coordinates::new(c.y, c.x).map(unit_vector);
    let (Ok(a), Ok(b)) = (unit(piece.start), unit(piece.end)) else {
        return f64::INFINITY;
    };
    let ends = chord2(at, a).min(chord2(at, b));
    let normal = cross(a, b);
    let nn = dot(normal, normal);
    // The foot of the point on the arc's circle lies between the ends: then the nearest
    // point is that foot, at an angle from the point whose sine is the point's height over
    // the circle's plane.
    if nn > 0.0 && dot(cross(a, at), normal) >= 0.0 && dot(cross(at, b), normal) >= 0.0 {
        let sin2 = (dot(at, normal).powi(2) / nn).min(1.0);
        // 2 - 2 cos, written so that it keeps its precision for small angles.
        return ends.min(2.0 * sin2 / (1.0 + (1.0 - sin2).sqrt()));
    }
    ends
}

/// The latitude of the point of a meridian nearest a point at `lat`, `dlon` degrees of
/// longitude off it: `lat` on the point's own meridian, further poleward the further off it
/// is (its tangent is tan(lat) / cos(dlon)), and past a quarter turn the nearer pole.
fn nearest_on_meridian(lat: f64, dlon: f64) -> f64 {
    if dlon == 0.0 {
        return lat;
    }
    let cos = dlon.to_radians().cos();
    if cos <= 0.0 {
        return if lat < 0.0 { -90.0 } else { 90.0 };
    }
    (lat.to_radians().tan() / cos).atan().to_degrees()
}

#[cfg(test)]
mod tests {
    use geo::{Coord, LineString, Polygon};
    use proptest::prelude::*;

    use super::super::outline::{polar_ring, rounded};
    use super::super::tests::distance_to_line_by_search;
    use super::*;

    fn circle(n: usize) -> MultiPolygon<f64> {
        rounded_circle(n, None)
    }

    /// With `Some(d)`, vertices rounded to `d` decimals (kept packed by the outline).
    fn rounded_circle(n: usize, decimals: Option<i32>) -> MultiPolygon<f64> {
        let ring = polar_ring(Coord { x: 0.0, y: 0.0 }, &vec![1.0; n], |c| Coord {
            x: rounded(c.x, decimals),
            y: rounded(c.y, decimals),
        });
        MultiPolygon::new(vec![Polygon::new(ring, vec![])])
    }

    #[test]
    fn indexed_and_plain_agree_including_the_boundary() {
        for (n, decimals) in [(8, None), (5000, None), (8, Some(5)), (5000, Some(7))] {
            let shape = Shape::new(rounded_circle(n, decimals));
            assert_eq!(shape.indexed.is_some(), n >= INDEX_FROM_VERTICES);
            let c = |lat: f64, lon: f64| Coordinates::new(lat, lon).unwrap();
            assert!(shape.covers(c(0.0, 0.0)));
            assert!(shape.covers(c(0.0, 1.0)), "a vertex is covered");
            assert!(!shape.covers(c(0.0, 1.01)));
            let plain = rounded_circle(n, decimals);
            // Vertices and edge midpoints: on the boundary, or a rounding away from it.
            for line in plain.0[0].exterior().lines().step_by(7) {
                let mid = (line.start + line.end) / 2.0;
                for q in [line.start, mid] {
                    let p = c(q.y, q.x);
                    assert_eq!(shape.covers(p), plain.intersects(&p.to_point()), "{p:?}");
                }
            }
            for i in 0..200 {
                let p = c((i as f64 * 0.37).sin() * 1.1, (i as f64 * 0.91).cos() * 1.1);
                assert_eq!(shape.covers(p), plain.intersects(&p.to_point()), "{p:?}");
            }
        }
    }

    #[test]
    fn the_raster_agrees_with_the_exact_test_on_a_dense_grid() {
        // A ring with a hole, and a second part: cells inside, outside, in the hole, and
        // crossed by edges.
        let outer = circle(40);
        let hole: Vec<Coord<f64>> = circle(12).0[0]
            .exterior()
            .0
            .iter()
            .map(|c| Coord {
                x: c.x * 0.3,
                y: c.y * 0.3,
            })
            .collect();
        let mut parts = vec![Polygon::new(
            outer.0[0].exterior().clone(),
            vec![LineString::new(hole)],
        )];
        parts.push(Polygon::new(
            LineString::from(vec![(2.0, 2.0), (3.0, 2.0), (3.0, 3.0), (2.0, 2.0)]),
            vec![],
        ));
        let geometry = MultiPolygon::new(parts);
        let shape = Shape::new(geometry.clone());
        assert!(shape.raster.is_some());
        let mut decided = 0;
        for i in 0..=120 {
            for j in 0..=120 {
                let (x, y) = (-1.2 + 4.4 * i as f64 / 120.0, -1.2 + 4.4 * j as f64 / 120.0);
                let p = Coordinates::new(y, x).unwrap();
                if shape
                    .raster
                    .as_ref()
                    .and_then(|r| r.lookup(p.to_point().0))
                    .is_some()
                {
                    decided += 1;
                }
                assert_eq!(shape.covers(p), geometry.intersects(&p.to_point()), "{p:?}");
            }
        }
        assert!(
            decided > 121 * 121 / 2,
            "the grid answers most points: {decided}"
        );
    }

    proptest! {
        /// The distance to an area is the distance to the nearest point of its boundary as
        /// drawn (edges straight in longitude and latitude), within a few metres, for points
        /// beside it, near a pole and across the antimeridian; and it is 0 inside. Beyond the
        /// reach asked for, there is none.
        #[test]
        fn distance_is_to_the_nearest_point_of_the_boundary(
            (lat, lon) in prop_oneof![(20.0..50.0f64, -120.0..-70.0f64), (80.0..84.0f64, -179.0..179.0f64), (-5.0..5.0f64, 177.0..179.0f64)],
            radii in prop_oneof![3 => prop::collection::vec(0.05..1.5f64, 3..60), 1 => prop::collection::vec(0.5..1.5f64, 3..6)],
            (bearing, reach) in (0.0..std::f64::consts::TAU, 0.0..3.5f64),
            km in prop_oneof![Just(100.0), Just(22.2), 150.0..400.0f64],
            // Rounded vertices are kept packed by the outline; the others as they are.
            decimals in prop_oneof![Just(None), Just(Some(5))],
        ) {
            let ring = polar_ring(Coord { x: lon, y: lat }, &radii, |c| Coord {
                x: rounded(c.x, decimals).clamp(-180.0, 180.0),
                y: rounded(c.y, decimals).clamp(-90.0, 90.0),
            });
            let shape = Shape::new(MultiPolygon::new(vec![Polygon::new(ring.clone(), vec![])]));
            // Out from the centre, in degrees, across the antimeridian where that leads.
            let plon = lon + reach * bearing.cos();
            let plon = if plon > 180.0 { plon - 360.0 } else if plon < -180.0 { plon + 360.0 } else { plon };
            let point = Coordinates::new((lat + reach * bearing.sin()).clamp(-90.0, 90.0), plon).unwrap();
            let got = shape.distance_within_km(point, km);
            if shape.covers(point) {
                prop_assert_eq!(got, Some(0.0));
                return Ok(());
            }
            let expected = ring
                .lines()
                .map(|line| distance_to_line_by_search(point, line.start, line.end))
                .fold(f64::INFINITY, f64::min);
            // Pieces are measured as arcs: about a metre off the straight line at most.
            let slack = 0.005;
            match got {
                Some(d) => prop_assert!((d - expected).abs() <= slack, "{d} km against {expected} km"),
                None => prop_assert!(expected > km - slack, "none within {km} km, but {expected} km"),
            }
            if expected < km - slack {
                prop_assert!(got.is_some(), "{expected} km is within {km} km");
            }
        }

        /// The box distance is never more than the distance to any point of the box, and
        /// not much less than the nearest of a fine sample of them. Beside a box at high
        /// latitude, the nearest point is poleward of the point's own latitude: there a
        /// clamped latitude is up to a kilometre too far.
        #[test]
        fn box_distance_is_the_distance_to_the_nearest_point_of_the_box(
            (south, north) in (-80.0..79.0f64, 0.5..5.0f64).prop_map(|(s, h)| (s, s + h)),
            (west, width) in (-179.0..170.0f64, 0.5..8.0f64),
            (up, along) in (-8.0..8.0f64, -12.0..12.0f64),
        ) {
            let east = (west + width).min(180.0);
            let ring = LineString::from(vec![
                (west, south), (east, south), (east, north), (west, north), (west, south),
            ]);
            let shape = Shape::new(MultiPolygon::new(vec![Polygon::new(ring, vec![])]));
            // Near the box: within or beside its latitudes, off either side.
            let lat = ((south + north) / 2.0 + up).clamp(-89.0, 89.0);
            let lon = if along < 0.0 { west + along } else { east + along };
            let lon = if lon > 180.0 { lon - 360.0 } else if lon < -180.0 { lon + 360.0 } else { lon };
            let point = Coordinates::new(lat, lon).unwrap();
            let bound = shape.box_distance_km(point);
            // Outside the box, its nearest point is on an edge: every edge, finely (points
            // at most 200 m apart).
            let at = |u: f64, v: f64| {
                Coordinates::new(south + (north - south) * u, west + (east - west) * v).unwrap()
            };
            let steps = 5000;
            let nearest = (0..=steps)
                .flat_map(|i| {
                    let t = f64::from(i) / f64::from(steps);
                    [at(t, 0.0), at(t, 1.0), at(0.0, t), at(1.0, t)]
                })
                .map(|c| haversine_km(point, c))
                .fold(f64::INFINITY, f64::min);
            let inside = (south..=north).contains(&lat) && (west..=east).contains(&lon);
            prop_assert_eq!(bound == 0.0, inside);
            if inside {
                return Ok(());
            }
            prop_assert!(bound <= nearest + 1e-6, "{bound} km against {nearest} km");
            prop_assert!(bound >= nearest - 0.2, "{bound} km against {nearest} km");
        }
    }
}

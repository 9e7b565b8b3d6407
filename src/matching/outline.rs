//! An area's rings in one flat vertex list. Vertices are kept as whole multiples of 1e-7
//! degree when each one reads back as exactly the same `f64` (true of GeoJSON written with up
//! to seven decimals, which is what boundary files and the generator produce), and as `f64`
//! otherwise. Half the memory of a geo `MultiPolygon`, with the same answers: the
//! point test below is geo's winding-number test (`coord_pos_relative_to_ring`), step for
//! step, on the same `f64` values.

use std::cmp::Ordering;
use std::ops::Range;

use geo::coordinate_position::CoordPos;
use geo::kernels::{Kernel, Orientation};
use geo::{BoundingRect, Coord, GeoNum, Intersects, Line, MultiPolygon, Rect};
#[cfg(test)]
use geo::{LineString, Polygon};

/// Units per degree of the packed form.
const SCALE: f64 = 1e7;

enum Vertices {
    Packed(Box<[[i32; 2]]>),
    Exact(Box<[Coord<f64>]>),
}

pub struct Outline {
    vertices: Vertices,
    /// Ring `r` is the vertices `rings[r]..rings[r + 1]`.
    rings: Box<[u32]>,
    /// Polygon `p` is the rings `polygons[p]..polygons[p + 1]`: its shell, then its holes.
    polygons: Box<[u32]>,
}

/// The packed form of a coordinate, when it reads back as the same value. (-0.0 reads back as
/// 0.0: no comparison in a point test tells them apart.)
fn pack(v: f64) -> Option<i32> {
    let units = (v * SCALE).round();
    if !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&units) {
        return None;
    }
    let units = units as i32;
    (unpack(units) == v).then_some(units)
}

/// Exact: both operands are exact in `f64` and the division is correctly rounded, so this is
/// the `f64` nearest to the decimal, which is what parsing the decimal gave.
fn unpack(units: i32) -> f64 {
    f64::from(units) / SCALE
}

impl Outline {
    pub fn new(geometry: &MultiPolygon<f64>) -> Outline {
        let mut coords = Vec::new();
        let mut rings = vec![0u32];
        let mut polygons = vec![0u32];
        for polygon in geometry {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                coords.extend_from_slice(&ring.0);
                rings.push(index(coords.len()));
            }
            polygons.push(index(rings.len() - 1));
        }
        let packed: Option<Vec<[i32; 2]>> = coords
            .iter()
            .map(|c| Some([pack(c.x)?, pack(c.y)?]))
            .collect();
        Outline {
            vertices: match packed {
                Some(p) => Vertices::Packed(p.into_boxed_slice()),
                None => Vertices::Exact(coords.into_boxed_slice()),
            },
            rings: rings.into_boxed_slice(),
            polygons: polygons.into_boxed_slice(),
        }
    }

    pub fn vertex_count(&self) -> usize {
        self.rings.last().map_or(0, |n| *n as usize)
    }

    fn vertex(&self, i: usize) -> Coord<f64> {
        match &self.vertices {
            Vertices::Packed(v) => Coord {
                x: unpack(v[i][0]),
                y: unpack(v[i][1]),
            },
            Vertices::Exact(v) => v[i],
        }
    }

    fn span(bounds: &[u32], i: usize) -> Range<usize> {
        bounds[i] as usize..bounds[i + 1] as usize
    }

    #[cfg(test)]
    fn ring(&self, r: usize) -> impl Iterator<Item = Coord<f64>> + '_ {
        Self::span(&self.rings, r).map(|i| self.vertex(i))
    }

    /// The vertex `measure` puts lowest, to within a rounding (packed vertices are scaled by
    /// multiplying, which is quicker than [`unpack`] and may differ from it in the last bit).
    pub fn lowest_vertex(&self, measure: impl Fn(Coord<f64>) -> f64) -> Option<Coord<f64>> {
        let lowest = |a: &(f64, Coord<f64>), b: &(f64, Coord<f64>)| a.0.total_cmp(&b.0);
        let measured = |c: Coord<f64>| (measure(c), c);
        match &self.vertices {
            Vertices::Packed(v) => v
                .iter()
                .map(|u| {
                    measured(Coord {
                        x: f64::from(u[0]) * (1.0 / SCALE),
                        y: f64::from(u[1]) * (1.0 / SCALE),
                    })
                })
                .min_by(lowest),
            Vertices::Exact(v) => v.iter().copied().map(measured).min_by(lowest),
        }
        .map(|(_, c)| c)
    }

    /// Every edge, numbered by the index of its first vertex (see [`Outline::edge`]).
    pub fn edges(&self) -> impl Iterator<Item = (u32, Line<f64>)> + '_ {
        (0..self.rings.len() - 1).flat_map(move |r| {
            let span = Self::span(&self.rings, r);
            (span.start..span.end.saturating_sub(1))
                .map(|i| (index(i), Line::new(self.vertex(i), self.vertex(i + 1))))
        })
    }

    /// Calls `f` with every edge whose endpoints' box meets one of `boxes`. Packed vertices
    /// are compared in their own units, against the boxes widened to whole units, so that
    /// the many edges far from every box are passed over without being unpacked.
    pub fn for_each_edge_meeting(&self, boxes: &[Rect<f64>], mut f: impl FnMut(Line<f64>)) {
        let rings = (0..self.rings.len() - 1).map(|r| Self::span(&self.rings, r));
        match &self.vertices {
            Vertices::Packed(v) => {
                let units = |d: f64| (d * SCALE).clamp(f64::from(i32::MIN), f64::from(i32::MAX));
                let boxes: Vec<[i32; 4]> = boxes
                    .iter()
                    .map(|b| {
                        let (lo, hi) = (b.min(), b.max());
                        let down = |d: f64| units(d).floor() as i32;
                        let up = |d: f64| units(d).ceil() as i32;
                        [down(lo.x), down(lo.y), up(hi.x), up(hi.y)]
                    })
                    .collect();
                let meets = |a: &[i32; 2], b: &[i32; 2]| {
                    boxes.iter().any(|[west, south, east, north]| {
                        a[0].max(b[0]) >= *west
                            && a[0].min(b[0]) <= *east
                            && a[1].max(b[1]) >= *south
                            && a[1].min(b[1]) <= *north
                    })
                };
                for span in rings {
                    for pair in v[span].windows(2) {
                        if meets(&pair[0], &pair[1]) {
                            let coord = |u: &[i32; 2]| Coord {
                                x: unpack(u[0]),
                                y: unpack(u[1]),
                            };
                            f(Line::new(coord(&pair[0]), coord(&pair[1])));
                        }
                    }
                }
            }
            Vertices::Exact(v) => {
                for span in rings {
                    for pair in v[span].windows(2) {
                        let line = Line::new(pair[0], pair[1]);
                        if boxes.iter().any(|b| b.intersects(&line.bounding_rect())) {
                            f(line);
                        }
                    }
                }
            }
        }
    }

    /// The edge from vertex `first` to the next one, as numbered by [`Outline::edges`].
    pub fn edge(&self, first: u32) -> Line<f64> {
        let i = first as usize;
        Line::new(self.vertex(i), self.vertex(i + 1))
    }

    /// Starts loading the ring bounds and the first vertices, up to a few cache lines: the
    /// rest of a ring streams in behind them as the test walks it.
    pub fn prefetch(&self) {
        for bounds in [self.rings.first(), self.polygons.first()]
            .into_iter()
            .flatten()
        {
            super::prefetch(bounds);
        }
        match &self.vertices {
            // Eight packed vertices to a 64-byte line.
            Vertices::Packed(v) => v.iter().step_by(8).take(8).for_each(super::prefetch),
            Vertices::Exact(v) => v.iter().step_by(4).take(8).for_each(super::prefetch),
        }
    }

    /// Inside or on the boundary of any polygon, holes excluded (their boundary included).
    pub fn covers(&self, c: Coord<f64>) -> bool {
        let level = Level::of(c.y);
        (0..self.polygons.len() - 1).any(|p| {
            let mut rings = Self::span(&self.polygons, p);
            let Some(shell) = rings.next() else {
                return false;
            };
            match self.position(shell, c, level) {
                CoordPos::Outside => false,
                CoordPos::OnBoundary => true,
                CoordPos::Inside => {
                    rings.all(|hole| self.position(hole, c, level) != CoordPos::Inside)
                }
            }
        })
    }

    /// geo's `coord_pos_relative_to_ring`, on ring `r`; `level` is `Level::of(c.y)`.
    fn position(&self, r: usize, c: Coord<f64>, level: Level) -> CoordPos {
        let span = Self::span(&self.rings, r);
        match &self.vertices {
            Vertices::Packed(v) => {
                let coord = |u: &[i32; 2]| Coord {
                    x: unpack(u[0]),
                    y: unpack(u[1]),
                };
                winding_position(&v[span], c, |u| level.place(u[1]), coord)
            }
            Vertices::Exact(v) => winding_position(
                &v[span],
                c,
                // Validated coordinates are never NaN.
                |v: &Coord<f64>| v.y.partial_cmp(&c.y).unwrap_or(Ordering::Greater),
                |v: &Coord<f64>| *v,
            ),
        }
    }

    /// The rings as a geo geometry again, to check them against geo's.
    #[cfg(test)]
    pub fn to_multi_polygon(&self) -> MultiPolygon<f64> {
        let ring = |r: usize| LineString::new(self.ring(r).collect());
        MultiPolygon::new(
            (0..self.polygons.len() - 1)
                .map(|p| {
                    let mut rings = Self::span(&self.polygons, p).map(ring);
                    let shell = rings.next().unwrap_or_else(|| LineString::new(vec![]));
                    Polygon::new(shell, rings.collect())
                })
                .collect(),
        )
    }
}

/// A latitude in packed units. Unpacking is monotonic, so a packed vertex is placed above, on
/// or below the point's latitude by comparing its units with two bounds: only edges that
/// reach the latitude are unpacked.
#[derive(Clone, Copy)]
struct Level {
    /// The largest units that unpack below the latitude.
    below: i32,
    /// The largest units that unpack to at most the latitude.
    at_or_below: i32,
}

impl Level {
    fn of(y: f64) -> Level {
        let (below, at_or_below) = level_bounds(y);
        Level { below, at_or_below }
    }

    fn place(self, units: i32) -> Ordering {
        if units <= self.below {
            Ordering::Less
        } else if units <= self.at_or_below {
            Ordering::Equal
        } else {
            Ordering::Greater
        }
    }
}

fn level_bounds(y: f64) -> (i32, i32) {
    let largest = |fits: &dyn Fn(f64) -> bool| {
        // A guess within a unit or two of the answer, then exact steps.
        let mut u = (y * SCALE)
            .floor()
            .clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
        while u > i32::MIN && !fits(unpack(u)) {
            u -= 1;
        }
        while u < i32::MAX && fits(unpack(u + 1)) {
            u += 1;
        }
        u
    };
    (largest(&|v| v < y), largest(&|v| v <= y))
}

/// The winding-number test of geo's `coord_pos_relative_to_ring` over a closed ring, with
/// `level` saying whether a vertex is below, on or above the point's latitude.
fn winding_position<V>(
    ring: &[V],
    c: Coord<f64>,
    level: impl Fn(&V) -> Ordering,
    coord: impl Fn(&V) -> Coord<f64>,
) -> CoordPos {
    match ring {
        [] => return CoordPos::Outside,
        [only] => {
            return if coord(only) == c {
                CoordPos::OnBoundary
            } else {
                CoordPos::Outside
            };
        }
        _ => {}
    }
    let orient = <f64 as GeoNum>::Ker::orient2d;
    let between = |x: f64, a: f64, b: f64| x >= a.min(b) && x <= a.max(b);
    let mut winding = 0i32;
    for pair in ring.windows(2) {
        let (start_level, end_level) = (level(&pair[0]), level(&pair[1]));
        // An upward edge counts its start and not its end, a downward edge the reverse, a
        // level edge neither; the crossing must be strictly right of the point.
        if start_level.is_le() {
            if end_level.is_ge() {
                let (start, end) = (coord(&pair[0]), coord(&pair[1]));
                let o = orient(start, end, c);
                if o == Orientation::CounterClockwise && end_level.is_ne() {
                    winding += 1;
                } else if o == Orientation::Collinear && between(c.x, start.x, end.x) {
                    return CoordPos::OnBoundary;
                }
            }
        } else if end_level.is_le() {
            let (start, end) = (coord(&pair[0]), coord(&pair[1]));
            let o = orient(start, end, c);
            if o == Orientation::Clockwise {
                winding -= 1;
            } else if o == Orientation::Collinear && between(c.x, start.x, end.x) {
                return CoordPos::OnBoundary;
            }
        }
    }
    if winding == 0 {
        CoordPos::Outside
    } else {
        CoordPos::Inside
    }
}

/// Positions fit in `u32`: an outline with four billion vertices would not fit in memory.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Test shapes: a closed ring of vertices at the given distances from a centre, at equal
/// angles, each vertex passed through `place` (to round or clamp it). Star-shaped, so never
/// self-intersecting.
#[cfg(test)]
pub(super) fn polar_ring(
    centre: Coord<f64>,
    radii: &[f64],
    place: impl Fn(Coord<f64>) -> Coord<f64>,
) -> LineString<f64> {
    let n = radii.len();
    let mut coords: Vec<Coord<f64>> = radii
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            place(Coord {
                x: centre.x + r * a.cos(),
                y: centre.y + r * a.sin(),
            })
        })
        .collect();
    coords.push(coords[0]);
    LineString::new(coords)
}

/// `v` rounded to `decimals` places (`None`: as it is).
#[cfg(test)]
pub(super) fn rounded(v: f64, decimals: Option<i32>) -> f64 {
    decimals.map_or(v, |d| (v * 10f64.powi(d)).round() / 10f64.powi(d))
}

#[cfg(test)]
mod tests {
    use geo::coordinate_position::coord_pos_relative_to_ring;
    use geo::{Intersects, Point};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn packs_only_what_reads_back_exactly() {
        for v in [0.0, -0.0, 37.12345, -122.4194155, 179.9999999, -180.0, 90.0] {
            assert_eq!(pack(v).map(unpack), Some(v), "{v}");
        }
        for v in [0.1 + 0.2, 1.0 / 3.0, 37.123456789, 300.0, f64::NAN] {
            assert_eq!(pack(v), None, "{v}");
        }
    }

    proptest! {
        /// Vertices, edge midpoints and points around them: the outline answers as geo does,
        /// in both forms, holes and several parts included.
        #[test]
        fn covers_like_geo(
            radii in prop::collection::vec(0.5..2.0f64, 3..40),
            hole in prop::collection::vec(0.05..0.3f64, 3..10),
            second in any::<bool>(),
            decimals in prop_oneof![Just(None), (0..=7i32).prop_map(Some)],
            probes in prop::collection::vec((-2.5..6.5f64, -2.5..2.5f64), 40),
        ) {
            let ring = |x: f64, radii: &[f64]| {
                polar_ring(Coord { x, y: 0.0 }, radii, |c| Coord { x: rounded(c.x, decimals), y: rounded(c.y, decimals) })
            };
            let mut parts = vec![Polygon::new(ring(0.0, &radii), vec![ring(0.0, &hole)])];
            if second {
                parts.push(Polygon::new(ring(4.0, &hole), vec![]));
            }
            let geometry = MultiPolygon::new(parts);
            let outline = Outline::new(&geometry);
            prop_assert_eq!(matches!(outline.vertices, Vertices::Packed(_)), decimals.is_some());
            prop_assert_eq!(outline.to_multi_polygon(), geometry.clone());
            let mut points: Vec<Coord<f64>> = probes.iter().map(|&(x, y)| Coord { x, y }).collect();
            for (_, line) in outline.edges() {
                // On vertices, on edges, and level with a vertex on either side of it.
                let level = |dx: f64| Coord { x: line.start.x + dx, y: line.start.y };
                points.extend([line.start, (line.start + line.end) / 2.0, level(0.1), level(-0.1)]);
            }
            for c in points {
                prop_assert_eq!(outline.covers(c), geometry.intersects(&Point(c)), "{:?}", c);
            }
            for (r, ring) in geometry.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).enumerate() {
                for c in ring.0.iter().step_by(3) {
                    prop_assert_eq!(outline.position(r, *c, Level::of(c.y)), coord_pos_relative_to_ring(*c, ring));
                }
            }
        }
    }
}

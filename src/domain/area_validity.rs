//! Whether a GeoJSON area is a valid (OGC simple features) polygon or multipolygon: rings that
//! do not cross, overlap or touch themselves and enclose some area, holes inside their exterior
//! that touch it and each other only at points and never so as to cut the inside in two,
//! parts that neither overlap nor share an edge.
//!
//! geo's `Validation` checks the same rules, but tests every pair of a ring's segments and every
//! pair of parts: a 100,000-vertex ring took 47 s. Here segments and parts are paired only when
//! their boxes meet (an R-tree joined with itself), so time grows with n log n, and past a
//! bound on such pairs (rings nested many deep) an area is refused unchecked.

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::line_intersection::{LineIntersection, line_intersection};
use geo::{
    Area, BoundingRect, Coord, Intersects, Line, LineString, MultiPolygon, Polygon,
    PreparedGeometry, Relate,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::FieldError;

type Boxed = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn rectangle(rect: geo::Rect<f64>) -> Rectangle<[f64; 2]> {
    let corner = |c: Coord<f64>| [c.x, c.y];
    Rectangle::from_aabb(AABB::from_corners(corner(rect.min()), corner(rect.max())))
}

fn boxed(rect: geo::Rect<f64>, index: usize) -> Boxed {
    GeomWithData::new(rectangle(rect), index)
}

/// The most pairs of parts (or of one polygon's holes) whose boxes meet that an area may
/// have. Each pair is related exactly (some microseconds to milliseconds), and rings nested
/// inside each other all meet: 3,000 nested parts were 4.5 million pairs and 30 s of one
/// request. Real service areas (counties, islands, a lake with islands in it) have few.
const MAX_MEETING_PAIRS: usize = 20_000;

/// The most pairs of one ring's segments whose boxes meet. A pair costs a line intersection
/// (tens of nanoseconds), and an outline's segments meet few others, but a ring of long
/// criss-crossing segments (a comb, a zigzag) meets all of them.
const MAX_SEGMENT_PAIRS: usize = 2_000_000;

/// The pairs `(i, j)`, `i < j`, of `rects` whose boxes meet; None when there are more than
/// `most`.
fn meeting_pairs(
    rects: impl IntoIterator<Item = geo::Rect<f64>>,
    most: usize,
) -> Option<Vec<(usize, usize)>> {
    let tree = RTree::bulk_load(
        rects
            .into_iter()
            .enumerate()
            .map(|(i, rect)| boxed(rect, i))
            .collect(),
    );
    let mut pairs: Vec<(usize, usize)> = tree
        .intersection_candidates_with_other_tree(&tree)
        .filter(|(a, b)| a.data < b.data)
        .map(|(a, b)| (a.data, b.data))
        .take(most + 1)
        .collect();
    if pairs.len() > most {
        return None;
    }
    pairs.sort_unstable();
    Some(pairs)
}

/// What an area with more than `most` meeting pairs of `what` is told.
fn too_entangled(field: String, what: &str, most: usize) -> FieldError {
    invalid(
        field,
        format!(
            "has too many {what} whose extents overlap to be checked (more than {most} pairs, as when rings are nested many deep or long edges criss-cross): split it into several coverage entries or simplify it"
        ),
    )
}

/// Checks an area whose positions were already checked (finite, in range, rings closed with
/// four or more). `field` is the GeoJSON `coordinates` member; `multi` says whether it holds a
/// MultiPolygon (problems are then named `coordinates[k][r]`, else `coordinates[r]`).
pub fn check(area: &MultiPolygon<f64>, field: &str, multi: bool) -> Result<(), FieldError> {
    let part_field = |k: usize| {
        if multi {
            format!("{field}[{k}]")
        } else {
            field.to_string()
        }
    };
    for (k, polygon) in area.0.iter().enumerate() {
        check_polygon(polygon, &part_field(k))?;
    }
    let rects = area.0.iter().map(|p| p.bounding_rect());
    let Some(rects) = rects.collect::<Option<Vec<_>>>() else {
        return Ok(());
    };
    let pairs = meeting_pairs(rects, MAX_MEETING_PAIRS)
        .ok_or_else(|| too_entangled(field.to_string(), "parts", MAX_MEETING_PAIRS))?;
    let edges: Vec<Edges> = area.0.iter().map(Edges::of_polygon).collect();
    let mut budget = MAX_SEGMENT_PAIRS;
    for (i, j) in pairs {
        let apart = apart(
            (&area.0[i], &edges[i]),
            (&area.0[j], &edges[j]),
            &mut budget,
        )
        .ok_or_else(|| too_entangled(field.to_string(), "edges", MAX_SEGMENT_PAIRS))?;
        if apart {
            continue;
        }
        let relation = area.0[i].relate(&area.0[j]);
        let problem =
            if relation.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                format!("overlaps polygon {i} of the MultiPolygon; parts must not overlap")
            } else if relation.get(CoordPos::OnBoundary, CoordPos::OnBoundary)
                == Dimensions::OneDimensional
            {
                format!("shares an edge with polygon {i} of the MultiPolygon; merge them into one")
            } else {
                continue;
            };
        return Err(invalid(part_field(j), problem));
    }
    Ok(())
}

fn check_polygon(polygon: &Polygon<f64>, field: &str) -> Result<(), FieldError> {
    let rings = std::iter::once(polygon.exterior()).chain(polygon.interiors());
    for (r, ring) in rings.enumerate() {
        check_ring(ring, &format!("{field}[{r}]"))?;
    }
    if polygon.interiors().is_empty() {
        return Ok(());
    }
    let shell = Polygon::new(polygon.exterior().clone(), vec![]);
    let exterior = PreparedGeometry::from(&shell);
    let holes: Vec<Polygon<f64>> = polygon
        .interiors()
        .iter()
        .map(|ring| Polygon::new(ring.clone(), vec![]))
        .collect();
    let hole_edges: Vec<Edges> = polygon.interiors().iter().map(Edges::of).collect();
    // Rings touching at points are joined at each point; a second join between rings already
    // joined closes a loop around part of the interior, cutting it off (OGC: the interior of
    // a polygon is connected). Ring 0 is the exterior, hole h is ring h + 1.
    let mut joined = Joins::new(holes.len() + 1);
    let outline = Edges::of(polygon.exterior());
    let cut_off = |h: usize| {
        invalid(
            format!("{field}[{}]", h + 1),
            "this hole touches the exterior ring, or other holes, at points that close a loop, cutting the polygon's inside in two; a hole may touch them at one point in each loop only",
        )
    };
    let mut budget = MAX_SEGMENT_PAIRS;
    let entangled = || too_entangled(field.to_string(), "edges", MAX_SEGMENT_PAIRS);
    for (h, hole) in holes.iter().enumerate() {
        // Inside the exterior and touching it nowhere: nothing for relate to find, and
        // relating two long rings exactly took a tenth of a second.
        let meets = outline
            .meet(&hole_edges[h], &mut budget)
            .ok_or_else(entangled)?;
        if !meets
            && hole
                .exterior()
                .0
                .first()
                .is_some_and(|c| shell.intersects(c))
        {
            continue;
        }
        let relation = exterior.relate(hole);
        let touches = relation.get(CoordPos::OnBoundary, CoordPos::OnBoundary);
        let problem = if !relation.is_contains() {
            "this hole is not inside the exterior ring (the polygon's first ring)"
        } else if touches == Dimensions::OneDimensional {
            "this hole shares an edge with the exterior ring; they may touch only at points"
        } else {
            if touches == Dimensions::ZeroDimensional {
                for _ in outline.touch_points(&hole_edges[h]) {
                    if !joined.join(0, h + 1) {
                        return Err(cut_off(h));
                    }
                }
            }
            continue;
        };
        return Err(invalid(format!("{field}[{}]", h + 1), problem));
    }
    let rects = holes.iter().map(|h| h.bounding_rect());
    let Some(rects) = rects.collect::<Option<Vec<_>>>() else {
        return Ok(());
    };
    let pairs = meeting_pairs(rects, MAX_MEETING_PAIRS)
        .ok_or_else(|| too_entangled(field.to_string(), "holes", MAX_MEETING_PAIRS))?;
    for (a, b) in pairs {
        let apart = apart(
            (&holes[a], &hole_edges[a]),
            (&holes[b], &hole_edges[b]),
            &mut budget,
        )
        .ok_or_else(entangled)?;
        if apart {
            continue;
        }
        let relation = holes[a].relate(&holes[b]);
        let touches = relation.get(CoordPos::OnBoundary, CoordPos::OnBoundary);
        let problem =
            if relation.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                format!("this hole overlaps hole {}", a + 1)
            } else if touches == Dimensions::OneDimensional {
                format!("this hole shares an edge with hole {}", a + 1)
            } else {
                if touches == Dimensions::ZeroDimensional {
                    for _ in hole_edges[a].touch_points(&hole_edges[b]) {
                        if !joined.join(a + 1, b + 1) {
                            return Err(cut_off(b));
                        }
                    }
                }
                continue;
            };
        return Err(invalid(format!("{field}[{}]", b + 1), problem));
    }
    Ok(())
}

/// Whether two polygons whose boxes meet are certainly apart: no edge of one meets an edge of
/// the other, and neither has a vertex inside the other, so each lies outside the other or
/// in one of its holes. Relating two long rings exactly took a tenth of a second; this is a
/// join of their edges and two point tests, and leaves relate the pairs that do meet.
/// None once `budget` (pairs of edges whose boxes meet, all pairs of rings together) is spent:
/// rings whose long edges all overlap (nested stars) would take seconds even so.
fn apart(
    (a, a_edges): (&Polygon<f64>, &Edges),
    (b, b_edges): (&Polygon<f64>, &Edges),
    budget: &mut usize,
) -> Option<bool> {
    let inside = |p: &Polygon<f64>, q: &Polygon<f64>| {
        q.exterior().0.first().is_some_and(|c| p.intersects(c))
    };
    Some(!a_edges.meet(b_edges, budget)? && !inside(a, b) && !inside(b, a))
}

/// Which rings are joined to which by the points where they touch (a union-find).
struct Joins(Vec<usize>);

impl Joins {
    fn new(rings: usize) -> Joins {
        Joins((0..rings).collect())
    }

    fn root(&mut self, mut ring: usize) -> usize {
        while self.0[ring] != ring {
            self.0[ring] = self.0[self.0[ring]];
            ring = self.0[ring];
        }
        ring
    }

    /// Joins two rings at one more point; false when they were joined already (a loop).
    fn join(&mut self, a: usize, b: usize) -> bool {
        let (a, b) = (self.root(a), self.root(b));
        self.0[a] = b;
        a != b
    }
}

/// A ring's edges, found by position.
struct Edges(RTree<GeomWithData<Rectangle<[f64; 2]>, Line<f64>>>);

impl Edges {
    fn of(ring: &LineString<f64>) -> Edges {
        Edges::of_rings(std::iter::once(ring))
    }

    /// The edges of every ring of a polygon.
    fn of_polygon(polygon: &Polygon<f64>) -> Edges {
        Edges::of_rings(std::iter::once(polygon.exterior()).chain(polygon.interiors()))
    }

    fn of_rings<'a>(rings: impl Iterator<Item = &'a LineString<f64>>) -> Edges {
        Edges(RTree::bulk_load(
            rings
                .flat_map(LineString::lines)
                .map(|line| GeomWithData::new(rectangle(line.bounding_rect()), line))
                .collect(),
        ))
    }

    /// Whether any edge here meets (crosses or touches) an edge of `other`; None once the
    /// pairs of edges whose boxes meet have spent `budget`.
    fn meet(&self, other: &Edges, budget: &mut usize) -> Option<bool> {
        for (a, b) in self.0.intersection_candidates_with_other_tree(&other.0) {
            *budget = budget.checked_sub(1)?;
            if a.data.intersects(&b.data) {
                return Some(true);
            }
        }
        Some(false)
    }

    /// Whether `p` lies on one of these edges.
    fn hold(&self, p: Coord<f64>) -> bool {
        self.0
            .locate_in_envelope_intersecting(&AABB::from_point([p.x, p.y]))
            .any(|edge| edge.data.intersects(&p))
    }

    fn vertices(&self) -> impl Iterator<Item = Coord<f64>> + '_ {
        self.0.iter().map(|edge| edge.data.start)
    }

    /// Where `other`, a ring that touches this one only at points, touches it: the distinct
    /// positions of either ring on the other. Edges that only touch meet at a vertex of one
    /// of them (meeting inside both would be a crossing).
    fn touch_points(&self, other: &Edges) -> Vec<Coord<f64>> {
        let mut points: Vec<Coord<f64>> = other
            .vertices()
            .filter(|p| self.hold(*p))
            .chain(self.vertices().filter(|p| other.hold(*p)))
            .collect();
        points.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
        points.dedup();
        points
    }
}

/// A ring is simple: after dropping repeated positions, its segments meet only where one ends
/// and the next begins, at that single point.
fn check_ring(ring: &LineString<f64>, field: &str) -> Result<(), FieldError> {
    // An edge is the short way between its ends; one longer than half the globe means the
    // ring was meant to cross the 180th meridian, which in plain longitudes reads as the long
    // way round the world.
    if let Some(i) = ring
        .0
        .windows(2)
        .position(|w| (w[1].x - w[0].x).abs() > 180.0)
    {
        return Err(invalid(
            field,
            format!(
                "the edge from position {i} to {} spans more than 180 degrees of longitude: \
                 split an area crossing the 180th meridian into polygons on either side of \
                 it, as GeoJSON (RFC 7946) asks",
                i + 1
            ),
        ));
    }
    let mut points: Vec<Coord<f64>> = ring.0.clone();
    points.dedup();
    // The last position repeats the first (checked before); three distinct ones at least.
    if points.len() < 4 {
        return Err(invalid(field, "a ring needs at least 3 distinct positions"));
    }
    let segments: Vec<Line<f64>> = points.windows(2).map(|w| Line::new(w[0], w[1])).collect();
    let n = segments.len();
    let adjacent = |i: usize, j: usize| j == i + 1 || (i == 0 && j == n - 1);
    let boxes = segments.iter().map(|s| s.bounding_rect());
    let pairs = meeting_pairs(boxes, MAX_SEGMENT_PAIRS)
        .ok_or_else(|| too_entangled(field.to_string(), "edges", MAX_SEGMENT_PAIRS))?;
    for (i, j) in pairs {
        let Some(meeting) = line_intersection(segments[i], segments[j]) else {
            continue;
        };
        let at = match meeting {
            LineIntersection::SinglePoint { .. } if adjacent(i, j) => continue,
            LineIntersection::SinglePoint { intersection, .. } => intersection,
            LineIntersection::Collinear { intersection } => intersection.start,
        };
        return Err(invalid(
            field,
            format!(
                "the ring crosses, touches or runs back over itself (a self-intersection) \
                 near [{:.6}, {:.6}]",
                at.x, at.y
            ),
        ));
    }
    if Polygon::new(LineString::new(points), vec![]).unsigned_area() == 0.0 {
        return Err(invalid(field, "the ring encloses no area"));
    }
    Ok(())
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError::new("invalid_geometry", field, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Validation, polygon};

    #[test]
    fn an_area_across_the_antimeridian_must_be_split() {
        let strip = polygon![(x: 179.0, y: 51.0), (x: -179.0, y: 51.0),
            (x: -179.0, y: 52.0), (x: 179.0, y: 52.0), (x: 179.0, y: 51.0)];
        let err = check(&MultiPolygon(vec![strip]), "g.coordinates", false).unwrap_err();
        assert_eq!(err.field, "g.coordinates[0]");
        assert!(
            err.message.contains("from position 0 to 1"),
            "{}",
            err.message
        );
        let east = polygon![(x: 179.0, y: 51.0), (x: 180.0, y: 51.0),
            (x: 180.0, y: 52.0), (x: 179.0, y: 52.0), (x: 179.0, y: 51.0)];
        let west = polygon![(x: -180.0, y: 51.0), (x: -179.0, y: 51.0),
            (x: -179.0, y: 52.0), (x: -180.0, y: 52.0), (x: -180.0, y: 51.0)];
        assert!(check(&MultiPolygon(vec![east, west]), "g.coordinates", true).is_ok());
    }
    use proptest::prelude::*;

    fn ring(points: &[(f64, f64)]) -> LineString<f64> {
        LineString::from(points.to_vec())
    }

    fn polygon(rings: &[&[(f64, f64)]]) -> Polygon<f64> {
        Polygon::new(ring(rings[0]), rings[1..].iter().map(|r| ring(r)).collect())
    }

    fn problem(area: MultiPolygon<f64>) -> Option<String> {
        check(&area, "coordinates", true).err().map(|e| e.field)
    }

    const SQUARE: &[(f64, f64)] = &[(0., 0.), (4., 0.), (4., 4.), (0., 4.), (0., 0.)];

    /// Square rings nested `n` deep, each part a square with the next one's room as its hole
    /// (valid: parts inside each other's holes do not overlap).
    fn nested(n: usize) -> MultiPolygon<f64> {
        let square = |h: f64, reversed: bool| {
            let mut points = vec![(-h, -h), (h, -h), (h, h), (-h, h), (-h, -h)];
            if reversed {
                points.reverse();
            }
            ring(&points)
        };
        let step = 1.0 / (2 * n + 1) as f64;
        MultiPolygon::new(
            (0..n)
                .map(|k| {
                    let outer = 1.0 - 2.0 * k as f64 * step;
                    Polygon::new(square(outer, false), vec![square(outer - step, true)])
                })
                .collect(),
        )
    }

    /// A ring whose edges all pass one point (a fan of 2,100 spikes) has every pair of them
    /// to test: refused by the bound before any is.
    #[test]
    fn a_ring_of_edges_all_meeting_is_refused_unchecked() {
        let mut points = Vec::new();
        for k in 0..1050 {
            let a = k as f64 / 1050.0 * std::f64::consts::TAU;
            points.push((0.0, 0.0));
            points.push((a.cos(), a.sin()));
        }
        points.push((0.0, 0.0));
        let fan = Polygon::new(ring(&points), vec![]);
        let err = check(&MultiPolygon::new(vec![fan]), "g.coordinates", true).unwrap_err();
        assert_eq!(err.field, "g.coordinates[0][0]");
        assert!(err.message.contains("too many edges"), "{}", err.message);
    }

    /// OGC asks a polygon's inside to be connected: a hole may touch the exterior, or other
    /// holes, but rings joined at two points close a loop that cuts part of it off.
    #[test]
    fn holes_touching_so_as_to_cut_the_inside_in_two_are_refused() {
        let shell: &[(f64, f64)] = &[
            (-100., 40.),
            (-99., 40.),
            (-99., 41.),
            (-100., 41.),
            (-100., 40.),
        ];
        let across: &[(f64, f64)] = &[(-100., 40.5), (-99.5, 40.7), (-99., 40.5), (-100., 40.5)];
        let err = check(
            &MultiPolygon::new(vec![polygon(&[shell, across])]),
            "g.coordinates",
            false,
        )
        .unwrap_err();
        assert_eq!(err.field, "g.coordinates[1]");
        assert!(err.message.contains("cutting"), "{}", err.message);
        // Joined at one point each, no loop: fine (a hole touching the exterior, another
        // touching that hole). Two holes that each touch the exterior and each other: a loop.
        let left: &[(f64, f64)] = &[
            (-100., 40.5),
            (-99.6, 40.6),
            (-99.5, 40.5),
            (-99.6, 40.4),
            (-100., 40.5),
        ];
        let right: &[(f64, f64)] = &[
            (-99.5, 40.5),
            (-99.4, 40.6),
            (-99., 40.5),
            (-99.4, 40.4),
            (-99.5, 40.5),
        ];
        let beside: &[(f64, f64)] = &[
            (-99.5, 40.5),
            (-99.4, 40.6),
            (-99.2, 40.5),
            (-99.4, 40.4),
            (-99.5, 40.5),
        ];
        assert_eq!(
            problem(MultiPolygon::new(vec![polygon(&[shell, left])])),
            None
        );
        assert_eq!(
            problem(MultiPolygon::new(vec![polygon(&[shell, left, beside])])),
            None
        );
        assert_eq!(
            problem(MultiPolygon::new(vec![polygon(&[shell, left, right])])),
            Some("coordinates[0][2]".into())
        );
    }

    /// Star-shaped rings nested in each other, every spike's edges in every other ring's boxes:
    /// few parts, but millions of pairs of edges to test across them. Refused by the bound
    /// (they took 38 s of one request); the same stars apart from each other pass.
    #[test]
    fn parts_whose_edges_all_overlap_are_refused_unchecked() {
        let star = |spikes: usize, size: f64, dx: f64, reversed: bool| {
            let mut points: Vec<(f64, f64)> = (0..spikes)
                .flat_map(|k| {
                    let a = std::f64::consts::TAU * k as f64 / spikes as f64;
                    let b = std::f64::consts::TAU * (k as f64 + 0.5) / spikes as f64;
                    [
                        (dx + size * a.cos(), size * a.sin()),
                        (dx + size * 0.1 * b.cos(), size * 0.1 * b.sin()),
                    ]
                })
                .collect();
            if reversed {
                points.reverse();
            }
            points.push(points[0]);
            ring(&points)
        };
        let annulus = |k: i32, dx: f64| {
            Polygon::new(
                star(1000, 0.96f64.powi(2 * k), dx, false),
                vec![star(1000, 0.96f64.powi(2 * k + 1), dx, true)],
            )
        };
        let nested = MultiPolygon::new((0..4).map(|k| annulus(k, 0.0)).collect());
        let err = check(&nested, "g.coordinates", true).unwrap_err();
        assert!(err.message.contains("too many edges"), "{}", err.message);
        let apart = MultiPolygon::new((0..4).map(|k| annulus(0, 3.0 * f64::from(k))).collect());
        assert_eq!(problem(apart), None);
    }

    /// Every part nested in every other's box is a pair to relate: beyond a bound, the area
    /// is refused at once instead of costing a request seconds or minutes.
    #[test]
    fn parts_nested_beyond_a_bound_are_refused_unchecked() {
        assert_eq!(problem(nested(150)), None);
        let err = check(&nested(250), "g.coordinates", true).unwrap_err();
        assert_eq!(err.field, "g.coordinates");
        assert!(err.message.contains("too many parts"), "{}", err.message);
    }

    #[test]
    fn simple_rings_and_holes_pass() {
        // A repeated position and a straight-through vertex are not problems.
        let edged = [
            (0., 0.),
            (2., 0.),
            (2., 0.),
            (4., 0.),
            (4., 4.),
            (0., 4.),
            (0., 0.),
        ];
        let hole: &[(f64, f64)] = &[(1., 1.), (2., 1.), (2., 2.), (1., 1.)];
        let touching_hole: &[(f64, f64)] = &[(0., 2.), (2., 3.), (2., 1.), (0., 2.)];
        let area = MultiPolygon::new(vec![
            polygon(&[&edged, hole]),
            polygon(&[SQUARE, touching_hole]).translate_by(10.),
        ]);
        assert_eq!(problem(area), None);
    }

    #[test]
    fn problems_are_named_by_ring_and_part() {
        let bowtie: &[(f64, f64)] = &[(0., 0.), (1., 1.), (1., 0.), (0., 1.), (0., 0.)];
        let flat: &[(f64, f64)] = &[(0., 0.), (1., 0.), (2., 0.), (0., 0.)];
        let spike: &[(f64, f64)] = &[
            (0., 0.),
            (4., 0.),
            (4., 4.),
            (4., 6.),
            (4., 4.),
            (0., 4.),
            (0., 0.),
        ];
        let outside: &[(f64, f64)] = &[(5., 5.), (6., 5.), (6., 6.), (5., 5.)];
        let on_edge: &[(f64, f64)] = &[(0., 1.), (0., 3.), (2., 2.), (0., 1.)];
        let hole: &[(f64, f64)] = &[(1., 1.), (3., 1.), (3., 3.), (1., 1.)];
        let cases = [
            (vec![polygon(&[bowtie])], "coordinates[0][0]"),
            (vec![polygon(&[flat])], "coordinates[0][0]"),
            (vec![polygon(&[spike])], "coordinates[0][0]"),
            (
                vec![polygon(&[SQUARE]), polygon(&[SQUARE, bowtie])],
                "coordinates[1][1]",
            ),
            (vec![polygon(&[SQUARE, outside])], "coordinates[0][1]"),
            (vec![polygon(&[SQUARE, on_edge])], "coordinates[0][1]"),
            (vec![polygon(&[SQUARE, hole, hole])], "coordinates[0][2]"),
            (
                vec![polygon(&[SQUARE]), polygon(&[SQUARE])],
                "coordinates[1]",
            ),
            (
                vec![polygon(&[SQUARE]), polygon(&[SQUARE]).translate_by(4.)],
                "coordinates[1]",
            ),
        ];
        for (parts, field) in cases {
            assert_eq!(
                problem(MultiPolygon::new(parts.clone())).as_deref(),
                Some(field),
                "{parts:?}"
            );
        }
        let err = check(&MultiPolygon::new(vec![polygon(&[bowtie])]), "c", false).unwrap_err();
        assert_eq!(err.field, "c[0]");
        assert!(
            err.message.contains("self-intersection) near [0.5"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_ring_of_a_hundred_thousand_vertices_is_checked() {
        let n = 100_000;
        let circle: Vec<(f64, f64)> = (0..=n)
            .map(|i| {
                let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                (a.cos(), a.sin())
            })
            .collect();
        assert_eq!(problem(MultiPolygon::new(vec![polygon(&[&circle])])), None);
    }

    trait Translate {
        fn translate_by(self, d: f64) -> Self;
    }

    impl Translate for Polygon<f64> {
        fn translate_by(self, d: f64) -> Self {
            use geo::Translate as _;
            self.translate(d, 0.)
        }
    }

    proptest! {
        /// Small random rings and pairs of them: this check agrees with geo's (which tests
        /// every pair), except that it also refuses rings that run back over themselves or
        /// enclose no area, which geo lets through.
        #[test]
        fn agrees_with_geo_on_small_random_areas(
            a in prop::collection::vec((0i8..6, 0i8..6), 3..7),
            b in prop::collection::vec((0i8..6, 0i8..6), 3..7),
            shift in 0i8..6,
        ) {
            let close = |points: &[(i8, i8)], dx: i8| {
                let mut ring: Vec<(f64, f64)> =
                    points.iter().map(|&(x, y)| (f64::from(x + dx), f64::from(y))).collect();
                ring.push(ring[0]);
                ring
            };
            let area = MultiPolygon::new(vec![
                polygon(&[&close(&a, 0)]),
                polygon(&[&close(&b, shift)]),
            ]);
            let ours = check(&area, "coordinates", true).is_ok();
            let geos = area.is_valid();
            if ours {
                prop_assert!(geos, "{area:?}");
            } else if geos {
                let degenerate = area.0.iter().any(|p| {
                    let mut points = p.exterior().0.clone();
                    points.dedup();
                    p.unsigned_area() == 0.0
                        || points.windows(3).any(|w| collinear_back(w[0], w[1], w[2]))
                        || points.len() >= 3 && collinear_back(points[points.len() - 2], points[0], points[1])
                });
                prop_assert!(degenerate, "refused a valid area: {area:?}");
            }
        }
    }

    /// Whether the path a → b → c turns straight back (a spike at b).
    fn collinear_back(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> bool {
        let (u, v) = (a - b, c - b);
        u.x * v.y - u.y * v.x == 0.0 && u.x * v.x + u.y * v.y > 0.0
    }
}

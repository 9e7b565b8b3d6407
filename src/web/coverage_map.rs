//! A small inline SVG of whom a service serves, drawn from its coverage and the bundled
//! boundaries: no map tiles, nothing fetched from anywhere.

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Rect};
use maud::{Markup, PreEscaped, html};

use crate::boundaries::Boundaries;
use crate::domain::coverage::{AreaGeometry, Coverage};

/// Points drawn per ring at most: enough for a 96 px picture.
const MAX_POINTS: usize = 200;
const KM_PER_DEGREE: f64 = 111.2;

enum Shape<'a> {
    Polygons(MultiPolygon<f64>),
    Borrowed(&'a MultiPolygon<f64>),
    Circle { lon: f64, lat: f64, km: f64 },
}

fn shapes<'a>(coverage: &[Coverage], boundaries: &'a Boundaries) -> Vec<Shape<'a>> {
    coverage
        .iter()
        .filter_map(|c| match c {
            Coverage::Radius { center, radius_km } => Some(Shape::Circle {
                lon: center.lon(),
                lat: center.lat(),
                km: *radius_km,
            }),
            Coverage::Area {
                geometry: AreaGeometry::Polygon(p),
            } => Some(Shape::Polygons(MultiPolygon(vec![p.clone()]))),
            Coverage::Area {
                geometry: AreaGeometry::MultiPolygon(m),
            } => Some(Shape::Polygons(m.clone())),
            Coverage::Region { code } => boundaries.get(code).map(|r| Shape::Borrowed(&r.geometry)),
            Coverage::National { country } => boundaries
                .nation(country)
                .map(|r| Shape::Borrowed(&r.geometry)),
        })
        .collect()
}

fn bounds(shape: &Shape<'_>) -> Option<Rect<f64>> {
    match shape {
        Shape::Polygons(m) => m.bounding_rect(),
        Shape::Borrowed(m) => m.bounding_rect(),
        Shape::Circle { lon, lat, km } => {
            let dlat = km / KM_PER_DEGREE;
            let dlon = dlat / lat.to_radians().cos().max(0.05);
            Some(Rect::new(
                Coord {
                    x: lon - dlon,
                    y: lat - dlat,
                },
                Coord {
                    x: lon + dlon,
                    y: lat + dlat,
                },
            ))
        }
    }
}

fn ring_path(ring: &LineString<f64>, project: &impl Fn(Coord<f64>) -> (f64, f64)) -> String {
    let step = ring.0.len().div_ceil(MAX_POINTS).max(1);
    let mut d = String::new();
    for (i, c) in ring.0.iter().step_by(step).enumerate() {
        let (x, y) = project(*c);
        d.push_str(&format!("{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" }));
    }
    d.push('Z');
    d
}

/// Whether `ring` would span at least one unit of the 100-unit picture: smaller ones (the
/// nation's hundreds of islands) cannot be seen at 96 px, and made a national map 32 KB.
fn visible(ring: &LineString<f64>, project: &impl Fn(Coord<f64>) -> (f64, f64)) -> bool {
    ring.bounding_rect().is_some_and(|r| {
        let (x0, y0) = project(r.min());
        let (x1, y1) = project(r.max());
        (x1 - x0).abs().max((y1 - y0).abs()) >= 1.0
    })
}

fn polygons_path(m: &MultiPolygon<f64>, project: &impl Fn(Coord<f64>) -> (f64, f64)) -> String {
    let mut d = String::new();
    for polygon in m.iter().filter(|p| visible(p.exterior(), project)) {
        d.push_str(&ring_path(polygon.exterior(), project));
        for hole in polygon.interiors().iter().filter(|h| visible(h, project)) {
            d.push_str(&ring_path(hole, project));
        }
    }
    format!(r#"<path fill-rule="evenodd" d="{d}"/>"#)
}

/// The picture, or nothing when there is nothing to draw.
pub fn svg(coverage: &[Coverage], boundaries: &Boundaries, label: &str) -> Markup {
    let shapes = shapes(coverage, boundaries);
    let Some(rect) = shapes.iter().filter_map(bounds).reduce(|a, b| {
        Rect::new(
            Coord {
                x: a.min().x.min(b.min().x),
                y: a.min().y.min(b.min().y),
            },
            Coord {
                x: a.max().x.max(b.max().x),
                y: a.max().y.max(b.max().y),
            },
        )
    }) else {
        return html! {};
    };
    // Equirectangular at the middle latitude, scaled to a 100-unit square.
    let cos = ((rect.min().y + rect.max().y) / 2.0)
        .to_radians()
        .cos()
        .max(0.05);
    let width = (rect.width() * cos).max(1e-9);
    let height = rect.height().max(1e-9);
    let scale = 100.0 / width.max(height);
    let project = |c: Coord<f64>| {
        (
            (c.x - rect.min().x) * cos * scale,
            (rect.max().y - c.y) * scale,
        )
    };
    let mut body = String::new();
    for shape in &shapes {
        match shape {
            Shape::Circle { lon, lat, km } => {
                let (x, y) = project(Coord { x: *lon, y: *lat });
                let r = km / KM_PER_DEGREE * scale;
                body.push_str(&format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}"/>"#));
            }
            Shape::Polygons(m) => body.push_str(&polygons_path(m, &project)),
            Shape::Borrowed(m) => body.push_str(&polygons_path(m, &project)),
        }
    }
    html! {
        svg class="coverage-map" viewBox={ "-2 -2 " (format!("{:.1} {:.1}", width * scale + 4.0, height * scale + 4.0)) }
            role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
            (PreEscaped(body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Coordinates;

    #[test]
    fn draws_regions_from_the_bundled_boundaries_and_radii_as_circles() {
        let boundaries = Boundaries::bundled();
        let coverage = [
            Coverage::Region {
                code: "US-06001".into(),
            },
            Coverage::Radius {
                center: Coordinates::new(37.8, -122.27).unwrap(),
                radius_km: 10.0,
            },
        ];
        let svg = svg(&coverage, boundaries, "served area").into_string();
        assert!(svg.starts_with("<svg class=\"coverage-map\""), "{svg}");
        assert!(svg.contains("<path fill-rule=\"evenodd\" d=\"M"), "{svg}");
        assert!(svg.contains("<circle cx="), "{svg}");
        assert!(!svg.contains("http") || svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("aria-label=\"served area\""));
        // Unknown regions draw nothing rather than fail.
        let none = [Coverage::Region {
            code: "US-99999".into(),
        }];
        assert_eq!(super::svg(&none, boundaries, "x").into_string(), "");
    }

    #[test]
    fn the_nation_draws_small_without_its_specks() {
        let national = [Coverage::National {
            country: "US".into(),
        }];
        let svg = svg(&national, Boundaries::bundled(), "x").into_string();
        assert!(svg.contains("<path fill-rule=\"evenodd\" d=\"M"), "{svg}");
        assert!(svg.len() < 8_000, "{} bytes", svg.len());
    }
}

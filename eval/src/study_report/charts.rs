//! The study report's charts: labelled scatter plots drawn with `plotters` (SVG backend, text as
//! SVG `<text>`), one colour per method family with a legend, every point named by its
//! configuration and given its 95% interval as a vertical error bar. Points that share an x
//! (all KV-cache configurations sit at 16 bits per weight) are spread a little sideways and
//! their labels alternate above and below, so each stays readable.

use crate::report::charts::COLORS;
use plotters::prelude::*;

/// One configuration's point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The configuration's name (the point's label).
    pub label: String,
    /// Its method family (the colour and legend entry).
    pub family: String,
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// The 95% interval of y, drawn as an error bar.
    pub interval: Option<(f64, f64)>,
}

/// Titles and axes.
#[derive(Debug, Clone)]
pub struct Axes {
    /// Chart title.
    pub title: String,
    /// x-axis description.
    pub x_desc: String,
    /// y-axis description.
    pub y_desc: String,
    /// Whether x is drawn on a log10 scale (the points' x must then be positive).
    pub x_log: bool,
    /// The y range never extends past these values (accuracy: a little beyond 0 and 100).
    pub y_limits: Option<(f64, f64)>,
}

/// Label font size, and the width of one of its characters as estimated for placement.
const FONT_PX: u32 = 12;
const CHAR_PX: i32 = 7;

fn family_color(families: &[String], family: &str) -> RGBColor {
    if family == "base" {
        return BLACK;
    }
    let i = families.iter().filter(|f| *f != "base").position(|f| f == family).unwrap_or(0);
    COLORS[i % COLORS.len()]
}

/// x as drawn (log10 on a log axis).
fn drawn_x(x: f64, log: bool) -> f64 {
    if log {
        x.max(1e-12).log10()
    } else {
        x
    }
}

/// A pixel rectangle: left, top, right, bottom.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect(i32, i32, i32, i32);

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        self.0 < o.2 && o.0 < self.2 && self.1 < o.3 && o.1 < self.3
    }
    fn inside(&self, area: &Rect) -> bool {
        self.0 >= area.0 && self.1 >= area.1 && self.2 <= area.2 && self.3 <= area.3
    }
}

/// Where each label goes, as an offset from its point: the first of a few spots around the
/// point that stays in the plot and clears the points and the labels placed before it.
fn place_labels(points: &[(i32, i32)], widths: &[i32], bars: &[Rect], area: Rect) -> Vec<(i32, i32)> {
    let mut taken: Vec<Rect> = points.iter().map(|&(x, y)| Rect(x - 6, y - 6, x + 6, y + 6)).collect();
    taken.extend_from_slice(bars);
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (points[i].0, points[i].1));
    let mut out = vec![(8, -16); points.len()];
    for i in order {
        let (x, y, w, h) = (points[i].0, points[i].1, widths[i], FONT_PX as i32 + 2);
        let spots = [(8, -16), (8, 4), (-8 - w, -16), (-8 - w, 4), (8, -30), (8, 18), (-8 - w, -30), (-8 - w, 18)];
        let rect = |(dx, dy): (i32, i32)| Rect(x + dx, y + dy, x + dx + w, y + dy + h);
        let spot = spots
            .iter()
            .copied()
            .find(|&o| rect(o).inside(&area) && !taken.iter().any(|t| t.overlaps(&rect(o))))
            .or_else(|| spots.iter().copied().find(|&o| rect(o).inside(&area)))
            .unwrap_or(spots[0]);
        taken.push(rect(spot));
        out[i] = spot;
    }
    out
}

/// The legend's corner: the one whose box covers the fewest points and labels.
fn legend_corner(families: &[String], obstacles: &[Rect], area: Rect) -> SeriesLabelPosition {
    let w = 44 + CHAR_PX * families.iter().map(|f| f.len() as i32).max().unwrap_or(4);
    let h = 12 + 20 * families.len() as i32;
    let corners = [
        (SeriesLabelPosition::UpperRight, Rect(area.2 - w - 5, area.1 + 5, area.2 - 5, area.1 + 5 + h)),
        (SeriesLabelPosition::UpperLeft, Rect(area.0 + 5, area.1 + 5, area.0 + 5 + w, area.1 + 5 + h)),
        (SeriesLabelPosition::LowerRight, Rect(area.2 - w - 5, area.3 - 5 - h, area.2 - 5, area.3 - 5)),
        (SeriesLabelPosition::LowerLeft, Rect(area.0 + 5, area.3 - 5 - h, area.0 + 5 + w, area.3 - 5)),
    ];
    let covered = |r: &Rect| obstacles.iter().filter(|o| o.overlaps(r)).count();
    corners.into_iter().min_by_key(|(_, r)| covered(r)).map_or(SeriesLabelPosition::UpperRight, |(p, _)| p)
}

/// An SVG scatter chart of `points`; `None` when there are none.
pub fn scatter(axes: &Axes, points: &[Point]) -> Option<String> {
    if points.is_empty() {
        return None;
    }
    let mut families: Vec<String> = Vec::new();
    for p in points {
        if !families.contains(&p.family) {
            families.push(p.family.clone());
        }
    }
    let xs: Vec<f64> = points.iter().map(|p| drawn_x(p.x, axes.x_log)).collect();
    let (xmin, xmax) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let span = (xmax - xmin).max(if axes.x_log { 1.0 } else { 2.0 });
    let (x0, x1) = (xmin - 0.1 * span, xmax + 0.25 * span);
    let lows = points.iter().map(|p| p.interval.map_or(p.y, |i| i.0.min(p.y)));
    let highs = points.iter().map(|p| p.interval.map_or(p.y, |i| i.1.max(p.y)));
    let (ymin, ymax) = (lows.fold(f64::MAX, f64::min), highs.fold(f64::MIN, f64::max));
    let yspan = (ymax - ymin).max(1.0);
    let (mut y0, mut y1) = (ymin - 0.12 * yspan, ymax + 0.15 * yspan);
    if let Some((lo, hi)) = axes.y_limits {
        (y0, y1) = (y0.max(lo), y1.min(hi));
    }
    // Points at the same drawn x: spread sideways by 1% of the span each.
    let mut placed: Vec<f64> = Vec::new();
    let mut seen: Vec<(f64, usize)> = Vec::new();
    for &x in &xs {
        let k = match seen.iter_mut().find(|(sx, _)| (*sx - x).abs() < 1e-9 * span.max(1.0)) {
            Some(e) => {
                e.1 += 1;
                e.1 - 1
            }
            None => {
                seen.push((x, 1));
                0
            }
        };
        let shift = match k {
            0 => 0.0,
            k if k % 2 == 1 => 0.01 * span * k.div_ceil(2) as f64,
            k => -0.01 * span * (k / 2) as f64,
        };
        placed.push(x + shift);
    }
    let mut svg = String::new();
    draw(&mut svg, axes, points, &placed, &families, (x0..x1, y0..y1)).ok()?;
    Some(svg)
}

type Ranges = (std::ops::Range<f64>, std::ops::Range<f64>);

fn draw(
    svg: &mut String,
    axes: &Axes,
    points: &[Point],
    placed: &[f64],
    families: &[String],
    (xr, yr): Ranges,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::with_string(svg, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&axes.title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(xr.clone(), yr.clone())
        .map_err(|e| err(&e))?;
    let log = axes.x_log;
    let x_fmt = move |x: &f64| if log { format!("{:.1e}", 10f64.powf(*x)) } else { format!("{x:.0}") };
    chart
        .configure_mesh()
        .x_desc(axes.x_desc.as_str())
        .y_desc(axes.y_desc.as_str())
        .x_label_formatter(&x_fmt)
        .draw()
        .map_err(|e| err(&e))?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    let area = Rect(px.start, py.start, px.end, py.end);
    let at: Vec<(i32, i32)> = points.iter().zip(placed).map(|(p, &x)| chart.backend_coord(&(x, p.y))).collect();
    let widths: Vec<i32> = points.iter().map(|p| CHAR_PX * p.label.chars().count() as i32).collect();
    let bars: Vec<Rect> = points
        .iter()
        .zip(placed)
        .filter_map(|(p, &x)| {
            let (lo, hi) = p.interval?;
            let ((bx, top), (_, bottom)) = (chart.backend_coord(&(x, hi)), chart.backend_coord(&(x, lo)));
            Some(Rect(bx - 4, top, bx + 4, bottom))
        })
        .collect();
    let offsets = place_labels(&at, &widths, &bars, area);
    let mut obstacles: Vec<Rect> = at.iter().map(|&(x, y)| Rect(x - 6, y - 6, x + 6, y + 6)).collect();
    obstacles.extend_from_slice(&bars);
    for (i, &(dx, dy)) in offsets.iter().enumerate() {
        let (x, y) = at[i];
        obstacles.push(Rect(x + dx, y + dy, x + dx + widths[i], y + dy + FONT_PX as i32 + 2));
    }
    let cap = 0.006 * (xr.end - xr.start);
    for family in families {
        let color = family_color(families, family);
        let mine: Vec<usize> = (0..points.len()).filter(|&i| points[i].family == *family).collect();
        for &i in &mine {
            if let Some((lo, hi)) = points[i].interval {
                let x = placed[i];
                let style = color.stroke_width(1);
                for path in
                    [vec![(x, lo), (x, hi)], vec![(x - cap, lo), (x + cap, lo)], vec![(x - cap, hi), (x + cap, hi)]]
                {
                    chart.draw_series(std::iter::once(PathElement::new(path, style))).map_err(|e| err(&e))?;
                }
            }
        }
        chart
            .draw_series(mine.iter().map(|&i| Circle::new((placed[i], points[i].y), 5, color.filled())))
            .map_err(|e| err(&e))?
            .label(family.as_str())
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
        chart
            .draw_series(mine.iter().map(|&i| {
                EmptyElement::at((placed[i], points[i].y))
                    + Text::new(points[i].label.clone(), offsets[i], ("sans-serif", FONT_PX).into_font().color(&color))
            }))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(legend_corner(families, &obstacles, area))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(label: &str, family: &str, x: f64, y: f64) -> Point {
        Point { label: label.into(), family: family.into(), x, y, interval: Some((y - 5.0, y + 5.0)) }
    }

    #[test]
    fn every_point_is_labelled_and_every_family_in_the_legend() {
        let axes =
            Axes { title: "t".into(), x_desc: "bits".into(), y_desc: "acc".into(), x_log: false, y_limits: None };
        let pts = [p("base", "base", 16.0, 40.0), p("rtn:kv4", "RTN", 16.0, 30.0), p("gptq:w4a16", "GPTQ", 4.1, 35.0)];
        let svg = scatter(&axes, &pts).unwrap();
        for needle in ["base", "rtn:kv4", "gptq:w4a16", "RTN", "GPTQ", "bits", "acc"] {
            assert!(svg.contains(needle), "{needle} missing");
        }
        assert!(scatter(&axes, &[]).is_none());
        let log = Axes { x_log: true, ..axes };
        let svg = scatter(&log, &[p("a", "RTN", 0.001, 1.0), p("b", "RTN", 0.5, 2.0)]).unwrap();
        assert!(svg.contains("e-3") || svg.contains("e-2"), "log ticks");
    }

    #[test]
    fn labels_avoid_each_other_and_stay_inside() {
        let area = Rect(0, 0, 400, 300);
        // Two points close together: the second label moves off the first.
        let offsets = place_labels(&[(100, 150), (110, 150)], &[70, 70], &[], area);
        let rect = |i: usize, (x, y): (i32, i32)| {
            Rect(x + offsets[i].0, y + offsets[i].1, x + offsets[i].0 + 70, y + offsets[i].1 + 14)
        };
        assert!(!rect(0, (100, 150)).overlaps(&rect(1, (110, 150))), "{offsets:?}");
        // A point at the right edge puts its label on the left.
        let offsets = place_labels(&[(390, 150)], &[70], &[], area);
        assert!(offsets[0].0 < 0, "{offsets:?}");
        // The legend goes to the emptiest corner.
        let families = vec!["RTN".to_string()];
        let upper_right = [Rect(300, 0, 400, 60)];
        assert_ne!(legend_corner(&families, &upper_right, area), SeriesLabelPosition::UpperRight);
    }
}

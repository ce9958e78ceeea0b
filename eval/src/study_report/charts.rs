//! The study report's charts: labelled scatter plots drawn with `plotters` (SVG backend, text as
//! SVG `<text>`), one colour per method family with a legend, every point named by its
//! configuration and given its 95% interval as a vertical error bar. Points that share an x
//! (all KV-cache configurations sit at 16 bits per weight) are spread a little sideways and
//! their labels alternate above and below, so each stays readable.

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
}

/// Colours of the families, in first-seen order (the base, if present, is black).
const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

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
    let (x0, x1) = (xmin - 0.08 * span, xmax + 0.22 * span);
    let lows = points.iter().map(|p| p.interval.map_or(p.y, |i| i.0.min(p.y)));
    let highs = points.iter().map(|p| p.interval.map_or(p.y, |i| i.1.max(p.y)));
    let (ymin, ymax) = (lows.fold(f64::MAX, f64::min), highs.fold(f64::MIN, f64::max));
    let yspan = (ymax - ymin).max(1.0);
    let (y0, y1) = (ymin - 0.1 * yspan, ymax + 0.15 * yspan);
    // Points at the same drawn x: spread sideways by 1% of the span each, labels alternating.
    let mut placed: Vec<(f64, f64, i32)> = Vec::new();
    let mut seen: Vec<(f64, usize)> = Vec::new();
    for &x in &xs {
        let k = match seen.iter_mut().find(|(sx, _)| (sx - x).abs() < 1e-9 * span.max(1.0)) {
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
        placed.push((x + shift, 0.0, if k % 2 == 0 { -16 } else { 6 }));
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
    placed: &[(f64, f64, i32)],
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
    let x_fmt = move |x: &f64| if log { format!("{:.0e}", 10f64.powf(*x)) } else { format!("{x:.0}") };
    chart
        .configure_mesh()
        .x_desc(axes.x_desc.as_str())
        .y_desc(axes.y_desc.as_str())
        .x_label_formatter(&x_fmt)
        .draw()
        .map_err(|e| err(&e))?;
    let cap = 0.006 * (xr.end - xr.start);
    for family in families {
        let color = family_color(families, family);
        let mine: Vec<(usize, &Point)> = points.iter().enumerate().filter(|(_, p)| p.family == *family).collect();
        for &(i, p) in &mine {
            if let Some((lo, hi)) = p.interval {
                let x = placed[i].0;
                let style = color.stroke_width(1);
                for path in
                    [vec![(x, lo), (x, hi)], vec![(x - cap, lo), (x + cap, lo)], vec![(x - cap, hi), (x + cap, hi)]]
                {
                    chart.draw_series(std::iter::once(PathElement::new(path, style))).map_err(|e| err(&e))?;
                }
            }
        }
        chart
            .draw_series(mine.iter().map(|&(i, p)| Circle::new((placed[i].0, p.y), 5, color.filled())))
            .map_err(|e| err(&e))?
            .label(family.as_str())
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
        chart
            .draw_series(mine.iter().map(|&(i, p)| {
                EmptyElement::at((placed[i].0, p.y))
                    + Text::new(p.label.clone(), (7, placed[i].2), ("sans-serif", 12).into_font().color(&color))
            }))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
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
        let axes = Axes { title: "t".into(), x_desc: "bits".into(), y_desc: "acc".into(), x_log: false };
        let pts = [p("base", "base", 16.0, 40.0), p("rtn:kv4", "RTN", 16.0, 30.0), p("gptq:w4a16", "GPTQ", 4.1, 35.0)];
        let svg = scatter(&axes, &pts).unwrap();
        for needle in ["base", "rtn:kv4", "gptq:w4a16", "RTN", "GPTQ", "<line", "bits", "acc"] {
            assert!(svg.contains(needle), "{needle} missing");
        }
        assert!(scatter(&axes, &[]).is_none());
        let log = Axes { x_log: true, ..axes };
        let svg = scatter(&log, &[p("a", "RTN", 0.001, 1.0), p("b", "RTN", 0.5, 2.0)]).unwrap();
        assert!(svg.contains("1e-3") || svg.contains("1e-2"), "log ticks");
    }
}

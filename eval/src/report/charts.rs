//! SVG charts of a report, drawn with `plotters` (SVG backend only, no font or system
//! dependencies: text is written as SVG `<text>` and sized by plotters' built-in estimate):
//! one y value per configuration and task against its bits per weight, one line per task.

use plotters::prelude::*;

/// One task's points: (bits per weight, value), sorted by bits by the caller or not.
pub struct Series {
    /// Task name (the legend).
    pub task: String,
    /// (bits, value).
    pub points: Vec<(f64, f64)>,
}

/// The series colours of every qtool chart, in order (cycled past the last).
pub(crate) const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

/// An SVG line chart of `series` against bits per weight; `None` if there are no points.
pub fn line_chart(title: &str, y_desc: &str, series: &[Series]) -> Option<String> {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.points.iter().copied()).collect();
    if all.is_empty() {
        return None;
    }
    let (xmin, xmax) = all.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let ymax = all.iter().fold(0.0f64, |a, p| a.max(p.1));
    let (x0, x1) = (xmin.min(2.0) - 0.5, xmax.max(16.0) + 0.5);
    let y1 = if ymax <= 0.0 { 1.0 } else { ymax * 1.1 };
    let mut svg = String::new();
    draw(&mut svg, title, y_desc, series, (x0..x1, 0.0..y1)).ok()?;
    Some(svg)
}

type Ranges = (std::ops::Range<f64>, std::ops::Range<f64>);

fn draw(svg: &mut String, title: &str, y_desc: &str, series: &[Series], (xr, yr): Ranges) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::with_string(svg, (760, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(xr, yr)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("bits per weight")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(|e| err(&e))?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut points = s.points.clone();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(crate::tasks::display_name(&s.task))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

//! The study report's markdown and charts, from [`StudyInput`].

use super::analysis::{task_numbers, vs_base, TaskNumbers, VsBase};
use super::charts::{scatter, Axes, Point};
use super::paper::{compare, finding, Band};
use super::{ConfigInput, StudyInput};
use crate::report::Report;
use crate::tasks::display_name;
use std::fmt::Write as _;

/// The caveat every study report carries (shared/ASSETS.md).
pub const CAVEAT: &str = "**Caveat:** the models reachable here were already rounded to a 4-bit grid by their packagers (SmolLM2: Q4_1 in blocks of 32; Qwen2.5-Coder-1.5B: Q4_K/Q6_K; Qwen2.5-Coder-0.5B: AWQ int4 g128 stored as Q5_0). Their dequantized weights are treated as full precision, so 8-bit and some 4-bit weight schemes lose less than they would on a true bf16 model; activation and KV-cache quantization are not affected. The paper's numbers are for DeepSeek-R1-Distill-Qwen-1.5B, a reasoning model, averaged over five benchmarks with 32K-token budgets: compare directions and rough sizes, not values.";

/// One configuration's numbers on one task.
struct Row<'a> {
    config: &'a ConfigInput,
    numbers: TaskNumbers,
    vs: Option<VsBase>,
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn signed_points(x: f64) -> String {
    format!("{:+.1}", 100.0 * x)
}

fn interval(iv: Option<(f64, f64)>, f: impl Fn(f64) -> String) -> String {
    iv.map_or("—".into(), |(a, b)| format!("[{}, {}]", f(a), f(b)))
}

fn opt(x: Option<f64>, f: impl Fn(f64) -> String) -> String {
    x.map_or("—".into(), f)
}

fn rows<'a>(input: &'a StudyInput, task: &str) -> Vec<Row<'a>> {
    let base = input.base.map(|b| &input.configs[b]);
    input
        .configs
        .iter()
        .filter_map(|c| {
            let numbers = task_numbers(&c.records, task)?;
            let vs = match base {
                Some(b) if !std::ptr::eq(b, c) => vs_base(&b.records, &c.records, task),
                _ => None,
            };
            Some(Row { config: c, numbers, vs })
        })
        .collect()
}

fn configurations_table(w: &mut String, input: &StudyInput) {
    let _ = writeln!(w, "## Configurations\n");
    let _ = writeln!(w, "| configuration | family | scheme | scheme bits/weight | stored bits/weight (Linears) | KLD mean | top-1 agreement | status | results |");
    let _ = writeln!(w, "|---|---|---|---:|---:|---:|---:|---|---|");
    for c in &input.configs {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {:.3} | {} | {} | {} | {} | [{}]({}) |",
            c.name,
            c.family,
            c.scheme,
            c.scheme_bpw,
            opt(c.stored_bpw, |b| format!("{b:.2}")),
            opt(c.kld_mean, |k| format!("{k:.5}")),
            opt(c.top1, |t| format!("{}%", pct(t))),
            c.status,
            c.results_link,
            c.results_link
        );
    }
}

fn paper_cells(c: &ConfigInput, vs: Option<&VsBase>, base_accuracy: Option<f64>) -> (String, String) {
    let Some(f) = finding(&c.descriptor) else { return ("—".into(), "—".into()) };
    let cell = format!("{}: {:+.1} ({})", f.label, f.delta, Band::of(f.delta).name());
    let verdict = match (vs, base_accuracy) {
        (Some(v), Some(b)) => {
            let points = v.delta_interval.map(|(a, b)| (100.0 * a, 100.0 * b));
            compare(f.delta, 100.0 * v.delta, points, 100.0 * b).word().to_string()
        }
        _ => "no base to compare".into(),
    };
    (cell, verdict)
}

fn accuracy_table(w: &mut String, rows: &[Row], base_accuracy: Option<f64>) {
    let _ = writeln!(w, "### Accuracy\n");
    let _ = writeln!(w, "| configuration | accuracy | 95% interval | Δ vs base (points) | paired 95% interval | right→wrong / wrong→right | McNemar p | paper, R1-Distill-Qwen-1.5B (avg. of 5) | this run |");
    let _ = writeln!(w, "|---|---:|---|---:|---|---:|---:|---|---|");
    for r in rows {
        let n = &r.numbers;
        let per_seed = n.seeds.iter().map(|s| s.1).max().unwrap_or(0);
        let spread = n.acc_std.map_or(String::new(), |s| format!(" ± {}", pct(s)));
        let seeds = match n.seeds.len() {
            1 => format!("seed {}", n.seeds[0].0),
            k => format!("{k} seeds"),
        };
        let (paper, verdict) = paper_cells(r.config, r.vs.as_ref(), base_accuracy);
        let (delta, delta_iv, flips, p) = match &r.vs {
            Some(v) => {
                let p =
                    if v.mcnemar_p < 0.05 { format!("**{:.3}**", v.mcnemar_p) } else { format!("{:.3}", v.mcnemar_p) };
                (
                    signed_points(v.delta),
                    interval(v.delta_interval, signed_points),
                    format!("{} / {}", v.right_to_wrong, v.wrong_to_right),
                    p,
                )
            }
            None => ("—".into(), "—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            w,
            "| {} | {}%{spread} ({seeds}, n {per_seed}) | {} ({}) | {delta} | {delta_iv} | {flips} | {p} | {paper} | {verdict} |",
            r.config.name,
            pct(n.acc_mean),
            interval(Some(n.acc_interval), pct),
            n.interval_kind,
        );
    }
}

fn length_table(w: &mut String, rows: &[Row]) {
    let _ = writeln!(w, "\n### Output length\n");
    let _ = writeln!(w, "| configuration | mean tokens [95% interval] | median tokens | mean steps | median steps | tokens vs base [95% interval] | truncated | mean tokens right / wrong |");
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let f1 = |x: f64| format!("{x:.1}");
    let f2 = |x: f64| format!("{x:.2}");
    for r in rows {
        let n = &r.numbers;
        let ratio =
            r.vs.as_ref()
                .map_or("—".into(), |v| format!("{}x {}", f2(v.length_ratio), interval(v.length_ratio_interval, f2)));
        let _ = writeln!(
            w,
            "| {} | {} {} | {} | {} | {} | {ratio} | {}% | {} / {} |",
            r.config.name,
            f1(n.mean_tokens),
            interval(n.tokens_interval, f1),
            f1(n.median_tokens),
            f1(n.mean_steps),
            f1(n.median_steps),
            pct(n.truncated),
            opt(n.tokens_right, f1),
            opt(n.tokens_wrong, f1),
        );
    }
}

fn charts(input: &StudyInput, task: &str, rows: &[Row], files: &mut Vec<(String, String)>) -> Vec<(String, String)> {
    let name = display_name(task);
    let point = |r: &Row, x: f64, y: f64, iv: Option<(f64, f64)>| Point {
        label: r.config.name.clone(),
        family: r.config.family.clone(),
        x,
        y,
        interval: iv,
    };
    let scale = |iv: Option<(f64, f64)>| iv.map(|(a, b)| (100.0 * a, 100.0 * b));
    let accuracy: Vec<Point> = rows
        .iter()
        .map(|r| point(r, r.config.scheme_bpw, 100.0 * r.numbers.acc_mean, scale(Some(r.numbers.acc_interval))))
        .collect();
    let length: Vec<Point> =
        rows.iter().map(|r| point(r, r.config.scheme_bpw, r.numbers.mean_tokens, r.numbers.tokens_interval)).collect();
    let drop: Vec<Point> = rows
        .iter()
        .filter_map(|r| {
            let (v, k) = (r.vs.as_ref()?, r.config.kld_mean?);
            (k > 0.0).then(|| point(r, k, 100.0 * v.delta, scale(v.delta_interval)))
        })
        .collect();
    let specs = [
        (
            "accuracy",
            format!("{name}: accuracy vs bits per weight"),
            "scheme bits per weight",
            "accuracy, % (95% interval)",
            false,
            Some((-3.0, 103.0)),
            accuracy,
        ),
        (
            "length",
            format!("{name}: output length vs bits per weight"),
            "scheme bits per weight",
            "mean generated tokens (95% interval)",
            false,
            Some((0.0, f64::INFINITY)),
            length,
        ),
        (
            "drop-vs-kld",
            format!("{name}: accuracy change vs KLD"),
            "mean KL divergence against the base (log scale)",
            "accuracy - base accuracy, points (95% paired interval)",
            true,
            Some((-103.0, 103.0)),
            drop,
        ),
    ];
    let mut links = Vec::new();
    for (kind, title, x_desc, y_desc, x_log, y_limits, points) in specs {
        let axes = Axes { title, x_desc: x_desc.into(), y_desc: y_desc.into(), x_log, y_limits };
        if let Some(svg) = scatter(&axes, &points) {
            let file = format!("{}-{task}-{kind}.svg", input.chart_prefix);
            links.push((axes.title.clone(), file.clone()));
            files.push((file, svg));
        }
    }
    links
}

const HOW_TO_READ: &str = "## How to read this\n\n\
- *accuracy*: mean over seeds ± standard deviation over seeds (ddof 1); n = answers per seed. Its 95% interval is Wilson's score interval with one seed and Student's t over the seeds' accuracies with several (when every seed scores the same, t has no width and the Wilson interval of the pooled answers stands in).\n\
- *Δ vs base*: accuracy minus the base's, in points, over the (seed, item) answers both have; its interval is a paired percentile bootstrap over items (all seeds of an item drawn together; 10,000 resamples, fixed seed). *right→wrong / wrong→right* count the discordant answers and *McNemar p* is the exact two-sided binomial test on them: below 0.05 (bold) the change is unlikely to be noise at this n; above it, this run cannot tell the change from chance.\n\
- *output length*: generated tokens and reasoning steps (non-empty `\\n\\n`-separated chunks); *tokens vs base* is total tokens over the base's on the paired answers, with the same bootstrap; *truncated* answers hit the token limit or the context; right and wrong answers' lengths are shown apart.\n\
- *KLD* and *top-1 agreement*: the next-token distribution against the base on fixed text (llama.cpp's convention; the base is the model as given). *Scheme bits/weight* counts codes plus a 16-bit scale (and a zero point when asymmetric) per group on the decoder Linears; *stored* is what the checkpoint holds (qtool fake-quant folders store bf16 values on the grid).\n\
- *paper*: the average accuracy change against BF16 over five benchmarks in the paper's Table 1 (R1-Distill-Qwen-1.5B column). Sizes are compared in bands: gain (> +3 points), near-lossless (±3), moderate drop (−3 to −15), large drop (< −15). *agrees*: this run's change is in the paper's band; *disagrees*: its whole 95% interval is outside it; *inconclusive*: neither. When the base's accuracy is below the paper's drop, the drop cannot show in full and only its direction is judged (a drop whose interval excludes 0 agrees in direction).\n";

/// Renders the report: markdown and the chart SVGs (file name, content).
pub fn build(input: &StudyInput) -> Report {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# {}\n", input.title);
    for s in &input.settings {
        let _ = writeln!(w, "- {s}");
    }
    let _ = writeln!(w, "- {CAVEAT}\n");
    configurations_table(w, input);
    if input.base.is_none() {
        let _ = writeln!(w, "\nThe study has no `base` configuration: no differences to the base are shown.");
    }
    let mut files = Vec::new();
    for task in &input.tasks {
        let rows = rows(input, task);
        let _ = writeln!(w, "\n## {}\n", display_name(task));
        if rows.is_empty() {
            let _ = writeln!(w, "No answers yet.");
            continue;
        }
        let base_accuracy = input
            .base
            .and_then(|b| rows.iter().find(|r| std::ptr::eq(r.config, &input.configs[b])))
            .map(|r| r.numbers.acc_mean);
        accuracy_table(w, &rows, base_accuracy);
        length_table(w, &rows);
        let links = charts(input, task, &rows, &mut files);
        let _ = writeln!(w);
        for (title, file) in links {
            let _ = writeln!(w, "![{title}]({file})\n");
        }
    }
    let _ = writeln!(w, "\n{HOW_TO_READ}");
    let _ = writeln!(
        w,
        "## Timings\n\nThe only section that depends on the machine and on interruptions.\n\n{}",
        input.timings
    );
    Report { markdown: md, files, warnings: Vec::new() }
}

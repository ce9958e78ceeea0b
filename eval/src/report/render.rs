//! The report's markdown: configurations, accuracy, output length, charts, flips against the
//! baseline, commands, and links to the raw JSONL.

use super::charts::{line_chart, Series};
use super::flips::flips;
use super::stats::{task_stats, TaskStats};
use super::{Config, Options, Report};
use crate::tasks::display_name;
use std::fmt::Write as _;

fn bits_label(b: Option<f64>) -> String {
    b.map_or("?".into(), |b| format!("{b}"))
}

/// Renders the report over `configs` with `configs[baseline]` as the flips' baseline.
pub fn render(configs: &[Config], baseline: usize, opts: &Options) -> Report {
    let stats: Vec<Vec<TaskStats>> = configs.iter().map(|c| task_stats(&c.records)).collect();
    let mut tasks: Vec<String> = Vec::new();
    for t in stats.iter().flatten() {
        if !tasks.contains(&t.task) {
            tasks.push(t.task.clone());
        }
    }
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# {}\n", opts.name);
    let _ = writeln!(w, "Written by `{}`.\n", opts.command);

    let _ = writeln!(w, "## Configurations\n");
    let _ = writeln!(
        w,
        "| configuration | model | scheme | bits/weight | engine | sampling | max new tokens | answers | results |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|");
    for c in configs {
        let e = &c.run.engine;
        let sampling = if c.run.temperature == 0.0 {
            "greedy".to_string()
        } else {
            format!(
                "T {} top-p {}{}",
                c.run.temperature,
                c.run.top_p,
                match c.run.top_k {
                    0 => String::new(),
                    k => format!(" top-k {k}"),
                }
            )
        };
        let mut partial = if c.partial > 0 { " (+ a partial line, skipped)".to_string() } else { String::new() };
        if c.duplicates > 0 {
            partial += &format!(" (+ {} duplicate records, skipped)", c.duplicates);
        }
        let _ = writeln!(
            w,
            "| {} | `{}` | {} | {} | {} | {sampling} | {} | {}{partial} | [{}]({}) |",
            c.label,
            e.model,
            e.scheme.as_deref().unwrap_or("none (16-bit)"),
            bits_label(c.bits),
            e.backend,
            c.run.max_new_tokens,
            c.records.len(),
            c.link,
            c.link
        );
    }

    let _ = writeln!(
        w,
        "\n## Accuracy\n\nMean ± standard deviation over seeds (ddof = 1); n = answers per seed; *no box*: answers over all seeds whose final answer the fallback extractor found without a `\\boxed{{}}`, and how many of those were right (included in the accuracy).\n"
    );
    let _ = writeln!(w, "| configuration | bits | task | accuracy | seeds | n | no box (right) |");
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    for (c, ss) in configs.iter().zip(&stats) {
        for s in ss {
            let std = s.acc_std.map_or(String::new(), |d| format!(" ± {:.1}", 100.0 * d));
            let seeds: Vec<String> = s.seeds.iter().map(|x| x.0.to_string()).collect();
            let ns: Vec<usize> = s.seeds.iter().map(|x| x.1).collect();
            let n = if ns.iter().all(|&n| n == ns[0]) { ns[0].to_string() } else { format!("{ns:?}") };
            let _ = writeln!(
                w,
                "| {} | {} | {} | {:.1}%{std} | {} | {n} | {} ({}) |",
                c.label,
                bits_label(c.bits),
                display_name(&s.task),
                100.0 * s.acc_mean,
                seeds.join(", "),
                s.unboxed.0,
                s.unboxed.1
            );
        }
    }

    let _ = writeln!(
        w,
        "\n## Output length\n\nOver every answer of every seed; steps are non-empty `\\n\\n`-separated chunks.\n"
    );
    let _ = writeln!(w, "| configuration | bits | task | mean tokens | median tokens | mean steps | truncated |");
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    for (c, ss) in configs.iter().zip(&stats) {
        for s in ss {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1}% |",
                c.label,
                bits_label(c.bits),
                display_name(&s.task),
                s.mean_tokens,
                s.median_tokens,
                s.mean_steps,
                100.0 * s.truncated
            );
        }
    }

    if configs.iter().any(|c| !c.runs.is_empty()) {
        let _ = writeln!(
            w,
            "\n## Throughput\n\nGenerated tokens per second of wall time (model loading excluded), summed over the `qtool eval` runs that produced each file (a resumed run counts only its new answers).\n"
        );
        let _ = writeln!(w, "| configuration | runs | new answers | generated tokens | wall s | tok/s | sequences in flight | engine | load average at the end |");
        let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|");
        for c in configs.iter().filter(|c| !c.runs.is_empty()) {
            let new: usize = c.runs.iter().map(|r| r.new_answers).sum();
            let tokens: u64 = c.runs.iter().map(|r| r.gen_tokens).sum();
            let wall: f64 = c.runs.iter().map(|r| r.wall_s).sum();
            let flight: Vec<String> = c.runs.iter().map(|r| r.in_flight.to_string()).collect();
            let engine: Vec<String> = c.runs.iter().map(|r| format!("{} ({} threads)", r.backend, r.threads)).collect();
            let _ = writeln!(
                w,
                "| {} | {} | {new} | {tokens} | {wall:.1} | {:.1} | {} | {} | {} |",
                c.label,
                c.runs.len(),
                tokens as f64 / wall.max(1e-9),
                flight.join(", "),
                engine.join(", "),
                c.runs.iter().map(|r| r.load_avg.clone().unwrap_or_else(|| "?".into())).collect::<Vec<_>>().join(", ")
            );
        }
    }

    // Charts: one series per task, one point per configuration with known bits.
    let series = |f: &dyn Fn(&TaskStats) -> f64| -> Vec<Series> {
        tasks
            .iter()
            .map(|t| Series {
                task: t.clone(),
                points: configs
                    .iter()
                    .zip(&stats)
                    .filter_map(|(c, ss)| Some((c.bits?, f(ss.iter().find(|s| s.task == *t)?))))
                    .collect(),
            })
            .collect()
    };
    let mut files = Vec::new();
    let _ = writeln!(w, "\n## Charts\n");
    let charts = [
        ("accuracy", "Accuracy vs bits per weight", "accuracy (%)", series(&|s| 100.0 * s.acc_mean)),
        ("length", "Output length vs bits per weight", "mean generated tokens", series(&|s| s.mean_tokens)),
    ];
    for (suffix, title, y, s) in charts {
        if let Some(svg) = line_chart(title, y, &s) {
            let file = format!("{}-{suffix}.svg", opts.name);
            let _ = writeln!(w, "![{title}]({file})\n");
            files.push((file, svg));
        }
    }
    let unknown: Vec<&str> = configs.iter().filter(|c| c.bits.is_none()).map(|c| c.label.as_str()).collect();
    if !unknown.is_empty() {
        let _ = writeln!(w, "Not charted (bits per weight unknown; give `--bits LABEL=B`): {}.\n", unknown.join(", "));
    }

    let base = &configs[baseline];
    let _ = writeln!(
        w,
        "## Flips against `{}`\n\nPer (task, seed, item) answered by both: right→wrong = right in `{}`, wrong here.\n",
        base.label, base.label
    );
    let _ = writeln!(w, "| configuration | task | paired | right→wrong | wrong→right | net | both right |");
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    for (i, c) in configs.iter().enumerate() {
        if i == baseline {
            continue;
        }
        for t in &tasks {
            let f = flips(&base.records, &c.records, t);
            if f.paired == 0 {
                continue;
            }
            let net = f.wrong_to_right as i64 - f.right_to_wrong as i64;
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {net:+} | {} |",
                c.label,
                display_name(t),
                f.paired,
                f.right_to_wrong,
                f.wrong_to_right,
                f.both_right
            );
        }
    }

    let _ = writeln!(w, "\n## Commands\n");
    for c in configs {
        let _ = writeln!(w, "{} ([raw results]({})):\n", c.label, c.link);
        if c.commands.is_empty() {
            let _ = writeln!(w, "(not recorded in the results)\n");
        } else {
            let _ = writeln!(w, "```\n{}\n```\n", c.commands.join("\n"));
        }
    }
    Report { markdown: md, files, warnings: Vec::new() }
}

//! Writes the study report (`DIR/report.md` and its SVG charts, atomically) from what the study
//! folder holds: each configuration's answers, KLD and checkpoint description, and the
//! manifest's settings and timings. The analysis and rendering are `eval::study_report`'s.

use super::checkpoint;
use super::evaluate;
use super::evaluate::read_results;
use super::kld_stage;
use super::layout::Layout;
use super::manifest::Manifest;
use super::plan::Configuration;
use super::status::duration;
use eval::study_report::{build, ConfigInput, StudyInput};
use eval::tasks::Task;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn sampling(m: &Manifest) -> String {
    let s = &m.settings;
    if s.temperature == 0.0 {
        "greedy".into()
    } else {
        let k = if s.top_k > 0 { format!(", top-k {}", s.top_k) } else { String::new() };
        format!("temperature {}, top-p {}{k}", s.temperature, s.top_p)
    }
}

fn settings_lines(m: &Manifest) -> Vec<String> {
    let s = &m.settings;
    let mut v: Vec<String> = m.commands.iter().map(|c| format!("made by `{c}`")).collect();
    v.push(format!("qtool {}; model `{}` (sha256 {})", s.qtool_version, s.model, &s.model_sha256));
    let tasks: Vec<String> = s
        .tasks
        .iter()
        .zip(&s.task_items)
        .map(|(t, n)| format!("{} ({n} items)", eval::tasks::display_name(t)))
        .collect();
    let selection = match (&s.items, s.limit) {
        (Some((path, _)), _) => format!("the items listed in `{path}`"),
        (None, Some(n)) => format!("the first {n} items of each task"),
        (None, None) => "every item".into(),
    };
    v.push(format!(
        "tasks: {}; {selection}; seeds {}; {}; at most {} new tokens; backend {}",
        tasks.join(", "),
        s.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
        sampling(m),
        s.max_new_tokens,
        s.backend
    ));
    v.push(format!(
        "KLD text `{}`, chunks of {} tokens (second half scored), {} chunks, top-256 + tail estimate",
        s.kld_text.0, s.kld_ctx, s.kld_chunks
    ));
    if !s.calib.is_empty() {
        let sets: Vec<String> = s
            .calib
            .iter()
            .map(|c| {
                format!("`{}` = {} ({} samples × {} tokens, seed {})", c.name, c.source, c.samples, c.seqlen, c.seed)
            })
            .collect();
        v.push(format!(
            "calibration sets: {}; checked disjoint from every evaluated item before the study ran",
            sets.join("; ")
        ));
    }
    if !m.skipped.is_empty() {
        v.push(format!("left out of `--matrix paper` (they do not apply to this model): {}", m.skipped.join("; ")));
    }
    v
}

fn timings(m: &Manifest) -> String {
    let mut s = String::from(
        "| configuration | quantize | KLD | answering | answers timed | generated tokens | tok/s |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let d = |x: Option<f64>| x.map_or("—".to_string(), duration);
    for c in &m.configs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.name,
            d(c.quantize_s),
            d(c.kld_s),
            duration(c.eval_s),
            c.timed_answers,
            c.gen_tokens,
            c.tok_per_s().map_or("—".into(), |t| format!("{t:.1}"))
        );
    }
    let _ = write!(s, "\nMachine: {}; --batch {}.", crate::bench::machine_description(), m.batch);
    s
}

/// Builds and writes the report of the study in `layout` with configurations `configs` (of the
/// model at `model`); returns the markdown's path.
pub fn write(layout: &Layout, m: &Manifest, configs: &[Configuration], model: &Path) -> anyhow::Result<PathBuf> {
    let mut inputs = Vec::new();
    for c in configs {
        let state = m.configs.iter().find(|s| s.name == c.name);
        let ckpt = checkpoint::recorded(layout, c);
        let scheme_bpw = match (&ckpt, &c.entry) {
            (Some(i), _) => i.scheme_bpw,
            (None, Some(e)) => crate::sweep::scheme_bits_per_weight(&e.scheme, model).unwrap_or(16.0),
            (None, None) => 16.0,
        };
        let kld = kld_stage::recorded(layout, c);
        let results = layout.results(c);
        inputs.push(ConfigInput {
            name: c.name.clone(),
            family: c.family(),
            descriptor: c.descriptor(),
            scheme: c.scheme_name(),
            scheme_bpw,
            stored_bpw: ckpt.map(|i| i.stored_bpw),
            kld_mean: kld.as_ref().map(|k| k.kld_mean),
            top1: kld.map(|k| k.top1),
            status: state.map_or("pending".into(), |s| s.status()),
            records: read_results(&results)?,
            results_link: format!("{}/results.jsonl", c.dir_name()),
        });
    }
    let title = format!(
        "Study: {}",
        Path::new(&m.settings.model).file_name().map_or(m.settings.model.clone(), |n| n.to_string_lossy().into_owned())
    );
    let input = StudyInput {
        title,
        settings: settings_lines(m),
        base: configs.iter().position(|c| c.entry.is_none()),
        configs: inputs,
        tasks: m.settings.tasks.clone(),
        chart_prefix: "report".into(),
        timings: timings(m),
    };
    let report = build(&input);
    for (name, svg) in &report.files {
        crate::atomic::write(&layout.dir.join(name), svg.as_bytes())?;
    }
    let path = layout.report();
    crate::atomic::write(&path, report.markdown.as_bytes())?;
    Ok(path)
}

/// The end-of-run table on stdout: accuracy and length per configuration and task, and KLD.
pub fn summary(layout: &Layout, configs: &[Configuration], tasks: &[Task]) -> anyhow::Result<String> {
    let mut s = String::from(
        "| configuration | task | accuracy | mean tokens | KLD | top-1 agreement |\n|---|---|---|---:|---:|---:|\n",
    );
    for c in configs {
        let records = evaluate::read_results(&layout.results(c))?;
        let kld = kld_stage::recorded(layout, c);
        for t in tasks {
            let rs: Vec<_> = records.iter().filter(|r| r.task == t.name).collect();
            let right = rs.iter().filter(|r| r.correct).count();
            let tokens = rs.iter().map(|r| r.gen_tokens).sum::<usize>() as f64 / rs.len().max(1) as f64;
            s.push_str(&format!(
                "| {} | {} | {:.1}% ({right}/{}) | {tokens:.1} | {} | {} |\n",
                c.name,
                eval::tasks::display_name(&t.name),
                100.0 * right as f64 / rs.len().max(1) as f64,
                rs.len(),
                kld.as_ref().map_or("—".into(), |k| format!("{:.5}", k.kld_mean)),
                kld.as_ref().map_or("—".into(), |k| format!("{:.2}%", 100.0 * k.top1)),
            ));
        }
    }
    Ok(s)
}

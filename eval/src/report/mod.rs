//! `qtool report`: from one or more results JSONL files (each one configuration: a model
//! under a scheme), a markdown report with accuracy (mean ± std over seeds) and output length
//! per configuration and task, SVG charts against bits per weight, per-item flips against a
//! baseline configuration, the commands that produced the results, and links to the files.
//!
//! Modules: `load` (read-only JSONL), `bits` (bits per weight from the recorded scheme),
//! `stats` (per task numbers), `flips` (per-item changes), `charts` (plotters SVG), `render`
//! (the markdown).

pub mod bits;
pub mod charts;
pub mod flips;
pub mod load;
pub mod render;
pub mod runs;
pub mod stats;

use crate::error::{EvalError, Result};
use crate::runner::{Record, RunConfig};
use std::path::PathBuf;

/// One results file to report on.
#[derive(Debug, Clone)]
pub struct Input {
    /// The JSONL file.
    pub path: PathBuf,
    /// How the report links to it (relative to the report's folder).
    pub link: String,
}

/// How to report.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The report's name: charts are `<name>-accuracy.svg` and `<name>-length.svg`.
    pub name: String,
    /// The baseline configuration's label [default: the one with the most bits per weight].
    pub baseline: Option<String>,
    /// Bits per weight given by hand, by label (for schemes the description does not name).
    pub bits: Vec<(String, f64)>,
    /// The `qtool report` command line.
    pub command: String,
}

/// One configuration: a results file's records and what they were run with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Short name (the file's folder for `results.jsonl`, else its stem).
    pub label: String,
    /// Where the file is linked from the report.
    pub link: String,
    /// The configuration of its first record.
    pub run: RunConfig,
    /// Bits per weight (`None`: unknown).
    pub bits: Option<f64>,
    /// Its records.
    pub records: Vec<Record>,
    /// Distinct command lines recorded, in order.
    pub commands: Vec<String>,
    /// Bytes of a partial last line skipped.
    pub partial: usize,
    /// Records skipped because an earlier one had the same (task, seed, item): two runs wrote
    /// the same answers (each is counted once).
    pub duplicates: usize,
    /// The runs that produced it (`runs.jsonl` beside it), if logged.
    pub runs: Vec<runs::RunLog>,
}

/// A rendered report: the markdown and the files it refers to (name in its folder, content).
pub struct Report {
    /// The markdown.
    pub markdown: String,
    /// SVG charts.
    pub files: Vec<(String, String)>,
    /// What the reader of the command's output should know (duplicates skipped, ...).
    pub warnings: Vec<String>,
}

/// Keeps the first record of each (task, seed, item); returns how many were dropped.
pub fn dedupe(records: &mut Vec<Record>) -> usize {
    let mut seen = std::collections::HashSet::new();
    let before = records.len();
    records.retain(|r| seen.insert(r.key()));
    before - records.len()
}

fn label_of(path: &std::path::Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    match (stem.as_str(), path.parent().and_then(|p| p.file_name())) {
        ("results", Some(dir)) => dir.to_string_lossy().into_owned(),
        _ => stem,
    }
}

/// Reads every input and renders the report.
pub fn build(inputs: &[Input], opts: &Options) -> Result<Report> {
    if inputs.is_empty() {
        return Err(EvalError::BadOption("give at least one results JSONL file".into()));
    }
    let mut configs: Vec<Config> = Vec::new();
    let mut warnings = Vec::new();
    for input in inputs {
        let (mut records, partial) = load::read_records(&input.path)?;
        let duplicates = dedupe(&mut records);
        if duplicates > 0 {
            warnings.push(format!(
                "{}: {duplicates} duplicate records (the same task, seed and item as an earlier line; two runs wrote \
                 the same --out?) skipped: each answer is counted once",
                input.path.display()
            ));
        }
        let Some(first) = records.first() else {
            return Err(EvalError::Text { path: input.path.clone(), what: "holds no results".into() });
        };
        let mut label = label_of(&input.path);
        if configs.iter().any(|c| c.label == label) {
            label = format!("{label}-{}", configs.len() + 1);
        }
        let bits = opts
            .bits
            .iter()
            .find(|(l, _)| *l == label)
            .map(|&(_, b)| b)
            .or_else(|| bits::bits_per_weight(first.config.engine.scheme.as_deref()));
        let mut commands: Vec<String> = Vec::new();
        for c in records.iter().filter_map(|r| r.command.as_ref()) {
            if !commands.contains(c) {
                commands.push(c.clone());
            }
        }
        configs.push(Config {
            label,
            link: input.link.clone(),
            run: first.config.clone(),
            bits,
            records,
            commands,
            partial,
            duplicates,
            runs: runs::read_runs(&input.path),
        });
    }
    for (l, _) in &opts.bits {
        if !configs.iter().any(|c| c.label == *l) {
            return Err(EvalError::BadOption(format!("--bits names {l:?}, which is none of the configurations")));
        }
    }
    let baseline = match &opts.baseline {
        Some(b) => configs.iter().position(|c| c.label == *b).ok_or_else(|| {
            let labels: Vec<&str> = configs.iter().map(|c| c.label.as_str()).collect();
            EvalError::BadOption(format!("--baseline {b:?} is none of the configurations {labels:?}"))
        })?,
        None => (0..configs.len())
            .reduce(|best, i| if configs[i].bits.unwrap_or(0.0) > configs[best].bits.unwrap_or(0.0) { i } else { best })
            .expect("at least one"),
    };
    let mut report = render::render(&configs, baseline, opts);
    report.warnings = warnings;
    Ok(report)
}

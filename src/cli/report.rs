//! `qtool report`: a markdown report (tables, SVG charts, flips, commands, links) from one or
//! more `qtool eval` results files; the markdown and its charts are written atomically.

use anyhow::Context;
use std::path::{Component, Path, PathBuf};

/// Flags of `qtool report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Results JSONL files, one per configuration (`<eval --out>/results.jsonl`).
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// The markdown to write (`reports/NAME.md`); charts go beside it as `NAME-*.svg`.
    #[arg(long)]
    pub out: PathBuf,
    /// The configuration flips are counted against [default: the one with the most bits per weight].
    /// A configuration is named by its results file's folder (or the file's stem).
    #[arg(long)]
    pub baseline: Option<String>,
    /// Bits per weight of a configuration whose scheme does not say it: `LABEL=BITS` (repeatable).
    #[arg(long, value_parser = parse_bits)]
    pub bits: Vec<(String, f64)>,
}

fn parse_bits(s: &str) -> Result<(String, f64), String> {
    let (l, b) = s.split_once('=').ok_or_else(|| format!("{s:?} is not LABEL=BITS"))?;
    let b: f64 = b.parse().map_err(|_| format!("{b:?} is not a number of bits"))?;
    Ok((l.to_string(), b))
}

/// `to` relative to the folder `from` (both made absolute first).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let abs =
        |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(p));
    let (from, to) = (abs(from), abs(to));
    let (f, t): (Vec<Component>, Vec<Component>) = (from.components().collect(), to.components().collect());
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// Runs `qtool report`.
pub fn run(a: Args) -> anyhow::Result<()> {
    let name = a.out.file_stem().map(|s| s.to_string_lossy().into_owned()).context("--out needs a file name")?;
    let dir = a.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let inputs: Vec<eval::report::Input> = a
        .results
        .iter()
        .map(|p| eval::report::Input { path: p.clone(), link: relative(&dir, p).to_string_lossy().into_owned() })
        .collect();
    let opts = eval::report::Options {
        name: name.clone(),
        baseline: a.baseline.clone(),
        bits: a.bits.clone(),
        command: super::command_line(),
    };
    let report = eval::report::build(&inputs, &opts)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for (file, content) in &report.files {
        crate::atomic::write(&dir.join(file), content.as_bytes())?;
    }
    crate::atomic::write(&a.out, report.markdown.as_bytes())?;
    println!("{}", a.out.display());
    for (file, _) in &report.files {
        println!("{}", dir.join(file).display());
    }
    Ok(())
}

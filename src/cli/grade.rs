//! `qtool grade`: re-grade saved responses with a task's rules and print the accuracy; with
//! `--out`, also write one JSON line per response with the new verdict.

use anyhow::Context;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Flags of `qtool grade`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The task whose rules (and items, for lines with an "id") apply.
    #[arg(long)]
    pub task: String,
    /// JSONL of `{"id", "response"}` or `{"response", "gold"}` lines (a `qtool eval`
    /// results.jsonl works: lines of other tasks are skipped).
    pub file: PathBuf,
    /// Write the verdicts here as JSONL (nothing is written without it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Assets folder [default: $QTOOL_ASSETS, else ./assets].
    #[arg(long)]
    pub assets: Option<PathBuf>,
}

/// Runs `qtool grade`.
pub fn run(a: Args) -> anyhow::Result<()> {
    let name = eval::tasks::parse_task_list(&a.task)?;
    anyhow::ensure!(name.len() == 1, "--task takes one task, got {}", a.task);
    let task = eval::tasks::load_task(&name[0], &super::assets::resolve_dir(a.assets.clone()))?;
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let (lines, sum) = eval::regrade::regrade(&task, &a.file, &text)?;
    println!(
        "{}: {} responses, accuracy {:.1}% ({}/{})",
        task.name,
        sum.n,
        100.0 * sum.correct as f64 / sum.n as f64,
        sum.correct,
        sum.n
    );
    if sum.agree + sum.disagree > 0 {
        println!("recorded correctness: {} agree, {} differ", sum.agree, sum.disagree);
    }
    if sum.duplicates > 0 {
        println!(
            "skipped {} duplicate lines (the same task, seed and id as an earlier line; two runs wrote the same \
             --out?): each answer is graded once",
            sum.duplicates
        );
    }
    if sum.other_task > 0 {
        println!("skipped {} lines of other tasks", sum.other_task);
    }
    if let Some(out) = &a.out {
        let mut s = String::new();
        for l in &lines {
            let v = serde_json::json!({
                "line": l.line, "id": l.id, "seed": l.seed, "correct": l.verdict.correct,
                "extracted": l.verdict.extracted, "source": l.verdict.source, "recorded": l.recorded,
            });
            writeln!(s, "{v}").expect("writing to a String");
        }
        crate::atomic::write(out, s.as_bytes())?;
        println!("verdicts: {}", out.display());
    }
    Ok(())
}

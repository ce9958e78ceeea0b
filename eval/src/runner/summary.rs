//! The end-of-run table: per task and seed, items, accuracy, output length (mean and median
//! generated tokens, mean steps), the share cut off by the token limit, and per-sequence
//! speed. Everything but the speed column depends only on the records' content, so a resumed
//! run and an uninterrupted one print the same table up to that last column.

use super::record::Record;

/// One row: a task under one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Task name.
    pub task: String,
    /// Seed.
    pub seed: u64,
    /// Items graded.
    pub n: usize,
    /// Items correct.
    pub correct: usize,
    /// Mean generated tokens.
    pub mean_tokens: f64,
    /// Median generated tokens.
    pub median_tokens: f64,
    /// Mean `\n\n` steps.
    pub mean_steps: f64,
    /// Items that hit the token limit or the context.
    pub truncated: usize,
    /// Generated tokens per second of each sequence's own time (sum over sum).
    pub seq_tok_per_s: f64,
}

impl SummaryRow {
    /// Share of correct items.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }
}

/// Rows for every (task, seed) present in `records`, in first-seen order.
pub fn summarize(records: &[Record]) -> Vec<SummaryRow> {
    let mut keys: Vec<(String, u64)> = Vec::new();
    for r in records {
        if !keys.iter().any(|(t, s)| *t == r.task && *s == r.seed) {
            keys.push((r.task.clone(), r.seed));
        }
    }
    keys.into_iter()
        .map(|(task, seed)| {
            let rs: Vec<&Record> = records.iter().filter(|r| r.task == task && r.seed == seed).collect();
            let n = rs.len();
            let mut tokens: Vec<usize> = rs.iter().map(|r| r.gen_tokens).collect();
            tokens.sort_unstable();
            let median_tokens = match n {
                0 => 0.0,
                _ if n % 2 == 1 => tokens[n / 2] as f64,
                _ => (tokens[n / 2 - 1] + tokens[n / 2]) as f64 / 2.0,
            };
            let total_tokens: usize = tokens.iter().sum();
            let secs: f64 = rs.iter().map(|r| r.secs).sum();
            SummaryRow {
                n,
                correct: rs.iter().filter(|r| r.correct).count(),
                mean_tokens: total_tokens as f64 / n.max(1) as f64,
                median_tokens,
                mean_steps: rs.iter().map(|r| r.steps).sum::<usize>() as f64 / n.max(1) as f64,
                truncated: rs.iter().filter(|r| r.finish.truncated()).count(),
                seq_tok_per_s: total_tokens as f64 / secs.max(1e-9),
                task,
                seed,
            }
        })
        .collect()
}

/// The rows as an aligned text table (a markdown table; speed is the last column).
pub fn render_table(rows: &[SummaryRow]) -> String {
    let mut out = String::from(
        "| task | seed | n | accuracy | mean tokens | median tokens | mean steps | truncated | seq tok/s |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1}% ({}/{}) | {:.1} | {:.1} | {:.1} | {:.1}% | {:.1} |\n",
            crate::tasks::display_name(&r.task),
            r.seed,
            r.n,
            100.0 * r.accuracy(),
            r.correct,
            r.n,
            r.mean_tokens,
            r.median_tokens,
            r.mean_steps,
            100.0 * r.truncated as f64 / r.n.max(1) as f64,
            r.seq_tok_per_s
        ));
    }
    out
}

//! The numbers a report shows per configuration and task: accuracy per seed, its mean and
//! standard deviation over seeds (ddof = 1, as the study), and output length over every
//! answer (mean and median generated tokens, mean `\n\n` steps, share cut off).

use crate::runner::Record;

/// One configuration on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStats {
    /// Task name.
    pub task: String,
    /// (seed, answers, correct) per seed, in first-seen order.
    pub seeds: Vec<(u64, usize, usize)>,
    /// Mean accuracy over seeds (0..1).
    pub acc_mean: f64,
    /// Standard deviation of the accuracy over seeds (ddof = 1); `None` with one seed.
    pub acc_std: Option<f64>,
    /// Answers over all seeds.
    pub answers: usize,
    /// Mean generated tokens.
    pub mean_tokens: f64,
    /// Median generated tokens.
    pub median_tokens: f64,
    /// Mean reasoning steps.
    pub mean_steps: f64,
    /// Share of answers cut off (token limit or context).
    pub truncated: f64,
    /// Answers whose final answer was found without a `\boxed{}` (the fallback extractor),
    /// and how many of those were right.
    pub unboxed: (usize, usize),
}

/// Mean and sample standard deviation (ddof = 1; `None` for fewer than two values).
pub fn mean_std(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n.max(1.0);
    let std = (xs.len() > 1).then(|| (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    (mean, std)
}

/// Median of `xs` (0 when empty).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => 0.0,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// Stats per task of one configuration's records, tasks in first-seen order.
pub fn task_stats(records: &[Record]) -> Vec<TaskStats> {
    let mut tasks: Vec<&str> = Vec::new();
    for r in records {
        if !tasks.contains(&r.task.as_str()) {
            tasks.push(&r.task);
        }
    }
    tasks
        .into_iter()
        .map(|task| {
            let rs: Vec<&Record> = records.iter().filter(|r| r.task == task).collect();
            let mut seeds: Vec<(u64, usize, usize)> = Vec::new();
            for r in &rs {
                match seeds.iter_mut().find(|s| s.0 == r.seed) {
                    Some(s) => {
                        s.1 += 1;
                        s.2 += r.correct as usize;
                    }
                    None => seeds.push((r.seed, 1, r.correct as usize)),
                }
            }
            let accs: Vec<f64> = seeds.iter().map(|&(_, n, c)| c as f64 / n as f64).collect();
            let (acc_mean, acc_std) = mean_std(&accs);
            let n = rs.len() as f64;
            let mut tokens: Vec<f64> = rs.iter().map(|r| r.gen_tokens as f64).collect();
            TaskStats {
                task: task.to_string(),
                acc_mean,
                acc_std,
                answers: rs.len(),
                mean_tokens: tokens.iter().sum::<f64>() / n,
                median_tokens: median(&mut tokens),
                mean_steps: rs.iter().map(|r| r.steps as f64).sum::<f64>() / n,
                truncated: rs.iter().filter(|r| r.finish.truncated()).count() as f64 / n,
                unboxed: rs
                    .iter()
                    .filter(|r| r.source.as_deref() == Some("fallback"))
                    .fold((0, 0), |(a, c), r| (a + 1, c + r.correct as usize)),
                seeds,
            }
        })
        .collect()
}

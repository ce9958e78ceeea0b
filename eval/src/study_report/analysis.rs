//! The numbers of one configuration on one task: accuracy with its 95% interval (Wilson for one
//! seed, t over seeds for several), output length (tokens and `\n\n` steps, right vs wrong
//! answers, share truncated), and, against the base on the same (seed, item) answers, the
//! accuracy difference with a paired bootstrap interval, the discordant pairs with McNemar's
//! exact p-value, and the length ratio with its bootstrap interval.

use super::stats::{
    bootstrap, mcnemar_exact, t_interval, wilson, PairedItem, PairedStatistic, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED,
};
use crate::report::stats::{mean_std, median};
use crate::runner::Record;
use std::collections::BTreeMap;

/// One configuration on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskNumbers {
    /// (seed, answers, right) per seed, in seed order.
    pub seeds: Vec<(u64, usize, usize)>,
    /// Mean accuracy over seeds (0..1).
    pub acc_mean: f64,
    /// Standard deviation over seeds (ddof 1); `None` with one seed.
    pub acc_std: Option<f64>,
    /// 95% interval of the accuracy (0..1).
    pub acc_interval: (f64, f64),
    /// How the interval was made: "Wilson" (one seed), "t over seeds", or "Wilson, pooled: the
    /// seeds agree" (several seeds with the same accuracy, where t has no width).
    pub interval_kind: &'static str,
    /// Answers over all seeds.
    pub answers: usize,
    /// Mean generated tokens.
    pub mean_tokens: f64,
    /// 95% bootstrap interval of the mean tokens (items resampled).
    pub tokens_interval: Option<(f64, f64)>,
    /// Median generated tokens.
    pub median_tokens: f64,
    /// Mean `\n\n` steps.
    pub mean_steps: f64,
    /// Median steps.
    pub median_steps: f64,
    /// Share of answers cut off by the token limit or the context.
    pub truncated: f64,
    /// Mean tokens of right answers (`None`: none right).
    pub tokens_right: Option<f64>,
    /// Mean tokens of wrong answers (`None`: none wrong).
    pub tokens_wrong: Option<f64>,
}

/// A configuration against the base on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct VsBase {
    /// (seed, item) answers both have.
    pub paired: usize,
    /// Accuracy difference (configuration - base) over the paired answers (0..1 scale).
    pub delta: f64,
    /// Its 95% paired bootstrap interval.
    pub delta_interval: Option<(f64, f64)>,
    /// Right in the base, wrong here.
    pub right_to_wrong: usize,
    /// Wrong in the base, right here.
    pub wrong_to_right: usize,
    /// Exact McNemar p-value on those two counts.
    pub mcnemar_p: f64,
    /// Generated tokens here over the base's, on the paired answers.
    pub length_ratio: f64,
    /// Its 95% paired bootstrap interval.
    pub length_ratio_interval: Option<(f64, f64)>,
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The numbers of `records` (one configuration) on `task`; `None` if it has no answer there.
pub fn task_numbers(records: &[Record], task: &str) -> Option<TaskNumbers> {
    let rs: Vec<&Record> = records.iter().filter(|r| r.task == task).collect();
    if rs.is_empty() {
        return None;
    }
    let mut by_seed: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for r in &rs {
        let e = by_seed.entry(r.seed).or_default();
        e.0 += 1;
        e.1 += r.correct as usize;
    }
    let seeds: Vec<(u64, usize, usize)> = by_seed.iter().map(|(&s, &(n, k))| (s, n, k)).collect();
    let accs: Vec<f64> = seeds.iter().map(|&(_, n, k)| k as f64 / n as f64).collect();
    let (acc_mean, acc_std) = mean_std(&accs);
    // Seeds that all score the same give a t interval of zero width, which says nothing about
    // the items: then the Wilson interval of the pooled answers stands in.
    let pooled = || wilson(seeds.iter().map(|s| s.2).sum(), seeds.iter().map(|s| s.1).sum());
    let (acc_interval, interval_kind) = match t_interval(&accs) {
        Some(iv) if iv.1 > iv.0 => ((iv.0.max(0.0), iv.1.min(1.0)), "t over seeds"),
        Some(_) => (pooled(), "Wilson, pooled: the seeds agree"),
        None => (pooled(), "Wilson"),
    };
    let tokens_of = |pick: &dyn Fn(&Record) -> bool| -> Vec<f64> {
        rs.iter().filter(|r| pick(r)).map(|r| r.gen_tokens as f64).collect()
    };
    let mut tokens = tokens_of(&|_| true);
    let mut steps: Vec<f64> = rs.iter().map(|r| r.steps as f64).collect();
    let mut per_item: BTreeMap<&str, PairedItem> = BTreeMap::new();
    for r in &rs {
        let it = per_item.entry(r.id.as_str()).or_default();
        it.other += r.gen_tokens as f64;
        it.count += 1.0;
    }
    let items: Vec<PairedItem> = per_item.into_values().collect();
    Some(TaskNumbers {
        answers: rs.len(),
        mean_tokens: mean(&tokens).unwrap_or(0.0),
        tokens_interval: bootstrap(&items, PairedStatistic::Difference, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED),
        median_tokens: median(&mut tokens),
        mean_steps: mean(&steps).unwrap_or(0.0),
        median_steps: median(&mut steps),
        truncated: rs.iter().filter(|r| r.finish.truncated()).count() as f64 / rs.len() as f64,
        tokens_right: mean(&tokens_of(&|r| r.correct)),
        tokens_wrong: mean(&tokens_of(&|r| !r.correct)),
        seeds,
        acc_mean,
        acc_std,
        acc_interval,
        interval_kind,
    })
}

/// `other` against `base` on `task`, over the (seed, item) answers both have; `None` if none.
pub fn vs_base(base: &[Record], other: &[Record], task: &str) -> Option<VsBase> {
    let base: BTreeMap<(u64, &str), &Record> =
        base.iter().filter(|r| r.task == task).map(|r| ((r.seed, r.id.as_str()), r)).collect();
    let mut accuracy: BTreeMap<&str, PairedItem> = BTreeMap::new();
    let mut length: BTreeMap<&str, PairedItem> = BTreeMap::new();
    let (mut paired, mut right_to_wrong, mut wrong_to_right) = (0, 0, 0);
    for r in other.iter().filter(|r| r.task == task) {
        let Some(b) = base.get(&(r.seed, r.id.as_str())) else { continue };
        paired += 1;
        match (b.correct, r.correct) {
            (true, false) => right_to_wrong += 1,
            (false, true) => wrong_to_right += 1,
            _ => {}
        }
        let a = accuracy.entry(r.id.as_str()).or_default();
        a.base += b.correct as u8 as f64;
        a.other += r.correct as u8 as f64;
        a.count += 1.0;
        let l = length.entry(r.id.as_str()).or_default();
        l.base += b.gen_tokens as f64;
        l.other += r.gen_tokens as f64;
        l.count += 1.0;
    }
    if paired == 0 {
        return None;
    }
    let accuracy: Vec<PairedItem> = accuracy.into_values().collect();
    let length: Vec<PairedItem> = length.into_values().collect();
    Some(VsBase {
        paired,
        delta: PairedStatistic::Difference.estimate(&accuracy),
        delta_interval: bootstrap(&accuracy, PairedStatistic::Difference, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED),
        right_to_wrong,
        wrong_to_right,
        mcnemar_p: mcnemar_exact(right_to_wrong, wrong_to_right),
        length_ratio: PairedStatistic::Ratio.estimate(&length),
        length_ratio_interval: bootstrap(&length, PairedStatistic::Ratio, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{EngineInfo, Finish, RunConfig};

    fn record(seed: u64, id: &str, correct: bool, tokens: usize, finish: Finish) -> Record {
        Record {
            config: RunConfig {
                engine: EngineInfo { model: "m".into(), scheme: None, backend: "cpu".into(), context: 64 },
                temperature: 0.0,
                top_p: 1.0,
                top_k: 0,
                max_new_tokens: 16,
            },
            task: "gsm8k".into(),
            seed,
            id: id.into(),
            prompt_tokens: 3,
            response: "a\n\nb".into(),
            extracted: None,
            source: None,
            correct,
            gen_tokens: tokens,
            steps: 2,
            finish,
            secs: 0.1,
            command: None,
        }
    }

    #[test]
    fn one_seed_uses_wilson_and_counts_lengths() {
        let rs = vec![
            record(42, "a", true, 10, Finish::Eos),
            record(42, "b", false, 30, Finish::Length),
            record(42, "c", true, 20, Finish::Eos),
        ];
        let n = task_numbers(&rs, "gsm8k").unwrap();
        assert_eq!(n.interval_kind, "Wilson");
        assert_eq!(n.acc_interval, wilson(2, 3));
        assert!((n.acc_mean - 2.0 / 3.0).abs() < 1e-12 && n.acc_std.is_none());
        assert_eq!((n.mean_tokens, n.median_tokens, n.median_steps), (20.0, 20.0, 2.0));
        assert_eq!((n.tokens_right, n.tokens_wrong), (Some(15.0), Some(30.0)));
        assert!((n.truncated - 1.0 / 3.0).abs() < 1e-12);
        assert!(task_numbers(&rs, "math500").is_none());
    }

    #[test]
    fn several_seeds_use_t_over_seeds() {
        let rs = vec![
            record(42, "a", true, 10, Finish::Eos),
            record(42, "b", false, 10, Finish::Eos),
            record(43, "a", true, 10, Finish::Eos),
            record(43, "b", true, 10, Finish::Eos),
        ];
        let n = task_numbers(&rs, "gsm8k").unwrap();
        assert_eq!(n.interval_kind, "t over seeds");
        assert_eq!(n.seeds, vec![(42, 2, 1), (43, 2, 2)]);
        assert!((n.acc_mean - 0.75).abs() < 1e-12);
        // sd of (0.5, 1.0) = 0.3536; t(0.975, 1) = 12.71: the interval covers [0, 1] (clamped).
        assert_eq!(n.acc_interval, (0.0, 1.0));
        let same: Vec<Record> = rs.iter().filter(|r| r.id == "a").cloned().collect();
        let n = task_numbers(&same, "gsm8k").unwrap();
        assert_eq!((n.interval_kind, n.acc_interval), ("Wilson, pooled: the seeds agree", wilson(2, 2)));
    }

    #[test]
    fn against_the_base_pairs_by_seed_and_item() {
        let base: Vec<Record> = (0..12).map(|i| record(42, &format!("q{i}"), i < 10, 100, Finish::Eos)).collect();
        // Right on q0..q1 only (8 lost), plus q10 and q11 gained: b = 8, c = 2.
        let other: Vec<Record> =
            (0..12).map(|i| record(42, &format!("q{i}"), !(2..10).contains(&i), 150, Finish::Eos)).collect();
        let v = vs_base(&base, &other, "gsm8k").unwrap();
        assert_eq!((v.paired, v.right_to_wrong, v.wrong_to_right), (12, 8, 2));
        assert!((v.delta - (4.0 - 10.0) / 12.0).abs() < 1e-12);
        assert!((v.mcnemar_p - mcnemar_exact(8, 2)).abs() < 1e-15);
        assert!((v.length_ratio - 1.5).abs() < 1e-12);
        let (lo, hi) = v.length_ratio_interval.unwrap();
        assert!((lo - 1.5).abs() < 1e-12 && (hi - 1.5).abs() < 1e-12, "every item 1.5x");
        let (lo, hi) = v.delta_interval.unwrap();
        assert!(lo < v.delta && v.delta < hi, "({lo}, {hi}) around {}", v.delta);
        assert!(vs_base(&base, &other[..0], "gsm8k").is_none());
    }
}

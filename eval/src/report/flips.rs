//! Per-item flips between a baseline configuration and another: over the (task, seed, item)
//! answers both have, how many the baseline got right and the other wrong (right→wrong) and
//! the reverse (wrong→right).

use crate::runner::Record;
use std::collections::HashMap;

/// Flip counts on one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flips {
    /// Answers present in both.
    pub paired: usize,
    /// Right in the baseline, wrong in the other.
    pub right_to_wrong: usize,
    /// Wrong in the baseline, right in the other.
    pub wrong_to_right: usize,
    /// Right in both.
    pub both_right: usize,
}

/// Flips of `other` against `base` on `task`.
pub fn flips(base: &[Record], other: &[Record], task: &str) -> Flips {
    let base: HashMap<(u64, &str), bool> =
        base.iter().filter(|r| r.task == task).map(|r| ((r.seed, r.id.as_str()), r.correct)).collect();
    let mut f = Flips::default();
    for r in other.iter().filter(|r| r.task == task) {
        if let Some(&b) = base.get(&(r.seed, r.id.as_str())) {
            f.paired += 1;
            match (b, r.correct) {
                (true, false) => f.right_to_wrong += 1,
                (false, true) => f.wrong_to_right += 1,
                (true, true) => f.both_right += 1,
                (false, false) => {}
            }
        }
    }
    f
}

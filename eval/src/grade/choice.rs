//! Multiple-choice (GPQA-style) answers: the letter of the last answer statement.
//!
//! `Answer: B` is the format the prompt asks for; decorations around it are tolerated
//! (`**Answer:** (B)`, `Answer: **C**`, `ANSWER: $\boxed{D}$`, `Final answer: [A]`). Without
//! one, a boxed letter (`\boxed{B}`, `\boxed{\text{(B)}}`) also counts as the asked-for
//! format; "the answer is (C)" is a fallback. Letters are A to D, upper case, and must not be
//! followed by another letter or digit (so "Answer: Because..." yields nothing).

use super::extract::{after_think, last_boxed, Extracted, Source};
use super::scan::rfind_all_ci;

/// The letter of a multiple-choice response, `None` when no statement names one.
pub fn extract_choice(response: &str) -> Option<Extracted> {
    after_think(response, extract_in)
}

fn extract_in(text: &str) -> Option<Extracted> {
    let mut fallback = None;
    for pos in rfind_all_ci(text, "answer") {
        let rest = &text[pos + "answer".len()..];
        let rest = rest.trim_start_matches(|c: char| c == '*' || c == '_' || c.is_whitespace());
        let (rest, source) = if let Some(r) = rest.strip_prefix(':') {
            (r, Source::Boxed)
        } else if let Some(r) = strip_ci(rest, "is") {
            (r, Source::Fallback)
        } else {
            continue;
        };
        if let Some(letter) = letter_after(rest) {
            let found = Extracted { answer: letter.to_string(), source };
            if source == Source::Boxed {
                return Some(found);
            }
            // "the answer is X": the last statement wins over earlier `Answer:` lines, but a
            // boxed letter anywhere is still preferred (below).
            fallback = Some(found);
            break;
        }
    }
    if let Some(letter) = last_boxed(text).as_deref().and_then(letter_after) {
        return Some(Extracted { answer: letter.to_string(), source: Source::Boxed });
    }
    fallback
}

fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// The letter at the start of `s` after decorations: spaces, `*`, `_`, `$`, `(`, `[`, `{`,
/// `\boxed{`, `\text{`, `\textbf{`, `\mathrm{`, "option", "choice".
fn letter_after(s: &str) -> Option<char> {
    let mut rest = s;
    loop {
        let before = rest.len();
        rest = rest
            .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '_' | '$' | '(' | '[' | '{' | ':'));
        for p in ["\\boxed", "\\textbf", "\\text", "\\mathrm", "\\mathbf", "option", "choice"] {
            if let Some(r) = strip_ci(rest, p) {
                rest = r;
            }
        }
        if rest.len() == before {
            break;
        }
    }
    let mut chars = rest.chars();
    let c = chars.next()?;
    if !('A'..='D').contains(&c) {
        return None;
    }
    match chars.next() {
        Some(n) if n.is_alphanumeric() => None,
        _ => Some(c),
    }
}

/// The letter a gold answer names: `B`, `(B)`, ` b ` all give `B`.
pub fn gold_letter(gold: &str) -> Option<char> {
    let t = gold.trim().trim_matches(|c: char| matches!(c, '(' | ')' | '[' | ']' | '.' | ' '));
    let mut chars = t.chars();
    let c = chars.next()?.to_ascii_uppercase();
    (chars.next().is_none() && c.is_ascii_uppercase()).then_some(c)
}

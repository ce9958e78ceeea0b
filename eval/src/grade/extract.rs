//! Pulling the final answer out of a free-form math response: the last `\boxed{...}` (nested
//! braces, `\boxed 5`, `\fbox{...}`), else looser fallbacks (`#### N`, "the answer is X", the
//! last number), and the GSM8K gold convention `#### N`.
//!
//! Reasoning models think first: when the response has a `</think>`, the text after the last
//! one is searched first and the whole response only if that part yields nothing.

use super::scan::{command_at, match_brace, rfind_all_ci};

/// Where an extracted answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The format the prompt asks for: the last `\boxed{}` of a math response, or the last
    /// `Answer: X` line (or boxed letter) of a multiple-choice response.
    Boxed,
    /// A looser heuristic on a response that did not use that format (`#### N`, "the answer
    /// is X", the last number).
    Fallback,
}

/// An extracted answer and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The raw answer text (not normalised).
    pub answer: String,
    /// How it was found.
    pub source: Source,
}

/// The content of the last top-level `\boxed{...}` / `\fbox{...}` (or `\boxed X`, the token
/// after a space) in `text`. Boxes that are never closed (a truncated response) and empty
/// boxes are skipped, so an earlier complete box is returned instead.
pub fn last_boxed(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut found: Option<&str> = None;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(name) = command_at(text, i) else {
            i += 1;
            continue;
        };
        let after = i + 1 + name.len();
        if name != "boxed" && name != "fbox" {
            i = after;
            continue;
        }
        // Skip spaces between the command and its argument.
        let mut j = after;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if b.get(j) == Some(&b'{') {
            match match_brace(text, j) {
                Some(end) => {
                    let inner = text[j + 1..end - 1].trim();
                    if !inner.is_empty() {
                        found = Some(inner);
                    }
                    i = end; // nested boxes are part of this one
                }
                None => i = after,
            }
        } else if name == "boxed" && j > after && j < b.len() {
            // `\boxed 5`: the token up to whitespace or a math delimiter.
            let mut end = j;
            while end < b.len() && !b[end].is_ascii_whitespace() && b[end] != b'$' {
                end += 1;
            }
            let tok = text[j..end].trim_end_matches(['.', ',']);
            if !tok.is_empty() {
                found = Some(tok);
            }
            i = end.max(after);
        } else {
            i = after;
        }
    }
    found.map(str::to_string)
}

/// The gold answer of a GSM8K record: the text after the last `####`, trimmed, with thousands
/// commas removed (`#### 1,600` gives `1600`). `None` when there is no `####` or nothing after.
pub fn gsm8k_gold(answer: &str) -> Option<String> {
    let pos = answer.rfind("####")?;
    let tail = answer[pos + 4..].lines().next().unwrap_or("").trim();
    let tail: String = tail.chars().filter(|&c| c != ',').collect();
    (!tail.is_empty()).then_some(tail)
}

/// The answer of a math response: the last box, else a fallback (see [`fallback_answer`]).
pub fn extract_math(response: &str) -> Option<Extracted> {
    after_think(response, |t| {
        if let Some(a) = last_boxed(t) {
            return Some(Extracted { answer: a, source: Source::Boxed });
        }
        fallback_answer(t).map(|a| Extracted { answer: a, source: Source::Fallback })
    })
}

/// Runs `f` on the text after the last `</think>` and, when that gives nothing, on the whole
/// response.
pub(crate) fn after_think<T>(response: &str, f: impl Fn(&str) -> Option<T>) -> Option<T> {
    if let Some(pos) = response.rfind("</think>") {
        if let Some(x) = f(&response[pos + "</think>".len()..]) {
            return Some(x);
        }
    }
    f(response)
}

/// The answer of a response without a box, tried in order: the text after the last `####`,
/// the last "answer is X" / "answer: X" statement (X a `$...$` span or the rest of the
/// sentence, at most 80 characters), the last number (`-1,234.5`).
pub fn fallback_answer(text: &str) -> Option<String> {
    if let Some(pos) = text.rfind("####") {
        let tail = text[pos + 4..].lines().next().unwrap_or("").trim();
        if !tail.is_empty() {
            return Some(tail.to_string());
        }
    }
    for pos in rfind_all_ci(text, "answer") {
        if let Some(a) = answer_statement(text, pos + "answer".len()) {
            return Some(a);
        }
    }
    last_number(text)
}

/// What follows "answer" at `i`: optional `**`, then "is" or ":" (one is required), then the
/// answer span.
fn answer_statement(text: &str, i: usize) -> Option<String> {
    let rest = &text[i..];
    let rest = rest.trim_start_matches(|c: char| c == '*' || c == '_' || c.is_whitespace());
    let rest = if let Some(r) = rest.strip_prefix(':') {
        r
    } else {
        let lower = rest.get(..3).map(str::to_ascii_lowercase);
        match lower.as_deref() {
            Some("is ") | Some("is:") | Some("is$") => &rest[2..],
            _ => return None,
        }
    };
    let rest = rest.trim_start_matches(|c: char| c == '*' || c == ':' || c.is_whitespace());
    let span = math_span(rest).unwrap_or_else(|| sentence(rest));
    let span = span.trim().trim_end_matches(['.', ',', ';', '*']).trim();
    (!span.is_empty() && span.chars().count() <= 80).then(|| span.to_string())
}

/// The content of a math span at the start of `s`: `$$..$$`, `$..$`, `\(..\)` or `\[..\]`.
fn math_span(s: &str) -> Option<&str> {
    for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if let Some(r) = s.strip_prefix(open) {
            return r.find(close).map(|e| &r[..e]);
        }
    }
    None
}

/// `s` up to the end of its line or the first sentence-ending period (a `.` followed by
/// whitespace or the end; decimal points are kept).
fn sentence(s: &str) -> &str {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' {
            return &s[..i];
        }
        if c == b'.' && b.get(i + 1).is_none_or(|n| n.is_ascii_whitespace()) {
            return &s[..i];
        }
    }
    s
}

/// The last number in `text` (optional minus sign, thousands commas, decimal part), with the
/// commas removed.
pub fn last_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = b.len();
    // Find the last digit, then grow the number leftwards.
    while i > 0 && !b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i == 0 {
        return None;
    }
    let end = i;
    let mut start = end;
    while start > 0 {
        let c = b[start - 1];
        let comma_group = c == b','
            && start >= 2
            && b[start - 2].is_ascii_digit()
            && b[start..].iter().take_while(|d| d.is_ascii_digit()).count() == 3;
        if c.is_ascii_digit() || (c == b'.' && start >= 2 && b[start - 2].is_ascii_digit()) || comma_group {
            start -= 1;
        } else {
            break;
        }
    }
    if start > 0 && b[start - 1] == b'-' {
        start -= 1;
    }
    Some(text[start..end].chars().filter(|&c| c != ',').collect())
}

//! Low-level scanning of LaTeX-ish text shared by extraction, normalisation and the structural
//! comparison: matching braces, reading one macro argument, splitting at top-level separators.
//!
//! Everything works on byte indices but only ever stops at ASCII bytes, so every index handed
//! back is a char boundary and slicing with it cannot panic.

/// The byte index just past the `}` matching the `{` at `open` (which must be a `{`); `\{` and
/// `\}` are escaped and do not count. `None` when the group is never closed.
pub(crate) fn match_brace(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(open) != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The name of the control word starting at `i` (`\frac` gives `"frac"`), or `None` when `i`
/// is not a backslash followed by a letter.
pub(crate) fn command_at(s: &str, i: usize) -> Option<&str> {
    let b = s.as_bytes();
    if b.get(i) != Some(&b'\\') {
        return None;
    }
    let start = i + 1;
    let mut end = start;
    while end < b.len() && b[end].is_ascii_alphabetic() {
        end += 1;
    }
    (end > start).then(|| &s[start..end])
}

/// One macro argument starting at or after `i` (leading spaces skipped): a braced group (its
/// content is returned), a control word (`\pi`) or a single character. Returns the argument
/// and the index just past it.
pub(crate) fn read_arg(s: &str, i: usize) -> Option<(&str, usize)> {
    let rest = s.get(i..)?;
    let skipped = rest.len() - rest.trim_start().len();
    let i = i + skipped;
    let c = s[i..].chars().next()?;
    match c {
        '{' => {
            let end = match_brace(s, i)?;
            Some((&s[i + 1..end - 1], end))
        }
        '\\' => {
            let name = command_at(s, i)?;
            let end = i + 1 + name.len();
            Some((&s[i..end], end))
        }
        '}' | '^' | '_' | '&' => None,
        _ => Some((&s[i..i + c.len_utf8()], i + c.len_utf8())),
    }
}

/// Splits `s` at every occurrence of `sep` that is outside any `()`, `[]`, `{}` or `\{ \}`.
/// Unbalanced closers are ignored rather than driving the depth negative.
pub(crate) fn split_top<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    let b = s.as_bytes();
    let sb = sep.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if depth == 0 && !sb.is_empty() && b[i..].starts_with(sb) {
            // A separator that is a control word must not be the prefix of a longer one.
            let control_word = sb.len() > 1 && sb[0] == b'\\' && sb[1].is_ascii_alphabetic();
            let whole = !control_word || !b.get(i + sb.len()).is_some_and(|c| c.is_ascii_alphabetic());
            if whole {
                parts.push(&s[start..i]);
                i += sb.len();
                start = i;
                continue;
            }
        }
        match b[i] {
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'{') => depth += 1,
                    Some(b'}') => depth = depth.saturating_sub(1),
                    _ => {}
                }
                // Skip the escaped character (or the first letter of a control word) so that
                // `\{` is not seen as a plain brace.
                i += 2;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

/// True when the brackets of `s` (`()`, `[]`, `{}`, counting any closer against any opener)
/// never close more than they opened and end balanced: `(1,2)` is one group, `(1)+(2)` is not.
pub(crate) fn outer_group_spans_all(s: &str) -> bool {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'{') => depth += 1,
                    Some(b'}') => {
                        if depth == 0 {
                            return false;
                        }
                        depth -= 1;
                        if depth == 0 && i + 2 < b.len() {
                            return false;
                        }
                    }
                    _ => {}
                }
                i += 2;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
                if depth == 0 && i + 1 < b.len() {
                    return false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

/// Byte index of the last case-insensitive (ASCII) occurrences of `needle` in `hay`, last
/// first.
pub(crate) fn rfind_all_ci(hay: &str, needle: &str) -> Vec<usize> {
    let lower = hay.to_ascii_lowercase();
    let mut out: Vec<usize> = lower.match_indices(needle).map(|(i, _)| i).collect();
    out.reverse();
    out
}

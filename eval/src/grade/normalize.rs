//! Normalisation of an answer string before comparison, as a fixed sequence of passes:
//!
//! 1. outer math delimiters (`$..$`, `\(..\)`, `\[..\]`) and stray `$` go, `\$` is a dollar
//!    sign and goes too;
//! 2. spacing macros (`\,`, `\!`, `\quad`, `~`) become spaces; `\left`/`\right`/`\big..`/
//!    `\displaystyle` vanish; `\dfrac`/`\tfrac`/`\cfrac` become `\frac`, `\dbinom`/`\tbinom`
//!    `\binom`, `\le`/`\ge`/`\ne` their long forms, `\lvert`/`\rvert`/`\vert` `|`;
//! 3. wrappers are unwrapped, keeping their content: `\text`, `\textbf`, `\mathrm`, `\mathbf`,
//!    `\mbox`, `\boxed`, `\fbox` and friends;
//! 4. degrees (`^\circ`, `^{\circ}`, `°`) and percent signs (`\%`, `%`) are dropped, so `50\%`
//!    equals `50` and is *not* equal to `0.5`;
//! 5. trailing unit words are dropped when what is left ends in a number or a closing bracket
//!    (`12 cm^2`, `5 square feet`, `30 miles per hour`, `18 dollars`); one-letter units (`m`,
//!    `g`, `s`) only when separated by a space, since `12m` may be a product;
//! 6. whitespace is removed, except one space between a control word and a following letter
//!    (`\pi r` must not become `\pir`);
//! 7. macro arguments get braces: `\frac12` → `\frac{1}{2}`, `\sqrt2` → `\sqrt{2}`;
//! 8. trailing full stops go; `x = 3` → `3` and `x \in [1,2]` → `[1,2]` when the left side is
//!    a single variable (a letter with an optional subscript, a Greek letter, or `f(x)`);
//! 9. numbers: `1{,}000` and a whole-answer `1,000` or `1,000,000.5` lose their thousands
//!    separators (a tuple such as `(1,2)` or `1,20` is left alone), `18.00` → `18`, `.5` →
//!    `0.5`, a leading `+` goes; a whole-answer mixed number `4\frac{2}{3}` becomes
//!    `4+\frac{2}{3}`; a lone `(C)` becomes `C`.

use super::scan::{command_at, match_brace, read_arg, split_top};

/// Recursion bound for the passes that recurse into macro arguments.
const MAX_DEPTH: usize = 64;

/// The normal form of an answer string (see the module documentation).
pub fn normalize(s: &str) -> String {
    let mut t = strip_delims(s.trim());
    t = rewrite_commands(&t);
    t = t.replace('$', " ");
    t = unwrap_wrappers(&t);
    t = drop_degrees(&t);
    t = t.replace('%', " ");
    t = strip_units(&t);
    t = squeeze_spaces(&t);
    t = brace_args(&t, 0);
    t = t.replace("{,}", "");
    for (from, to) in [("(+\\infty", "(\\infty"), (",+\\infty", ",\\infty")] {
        t = t.replace(from, to);
    }
    if let Some(r) = t.strip_prefix("+\\infty") {
        t = format!("\\infty{r}");
    }
    t = trim_trailing(&t);
    t = strip_lhs(&t);
    t = numbers(&t);
    t = mixed_number(t);
    lone_choice(t)
}

/// Removes one layer of `$$..$$`, `$..$`, `\(..\)` or `\[..\]` around the whole string.
fn strip_delims(s: &str) -> String {
    for (open, close) in [("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")] {
        if s.len() >= open.len() + close.len() {
            if let Some(inner) = s.strip_prefix(open).and_then(|r| r.strip_suffix(close)) {
                return inner.trim().to_string();
            }
        }
    }
    s.to_string()
}

/// Pass 2 (and the `\$`, `\%` escapes): one walk that rewrites or drops control sequences.
fn rewrite_commands(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(if c == '~' { ' ' } else { c });
            i += c.len_utf8();
            continue;
        }
        if let Some(name) = command_at(s, i) {
            let mut end = i + 1 + name.len();
            let rep = match name {
                "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" | "big" | "Big" | "bigg" | "Bigg" | "biggl"
                | "biggr" | "displaystyle" | "textstyle" | "scriptstyle" | "limits" | "middle" => {
                    if (name == "left" || name == "right") && b.get(end) == Some(&b'.') {
                        end += 1;
                    }
                    ""
                }
                "dfrac" | "tfrac" | "cfrac" => "\\frac",
                "dbinom" | "tbinom" => "\\binom",
                "le" | "leqslant" => "\\leq",
                "ge" | "geqslant" => "\\geq",
                "ne" => "\\neq",
                "lvert" | "rvert" | "vert" => "|",
                "lbrace" => "\\{",
                "rbrace" => "\\}",
                "quad" | "qquad" => " ",
                "varnothing" => "\\emptyset",
                "degree" => "^\\circ",
                _ => &s[i..end],
            };
            out.push_str(rep);
            i = end;
            continue;
        }
        // A backslash followed by a non-letter.
        match b.get(i + 1) {
            Some(b',' | b';' | b':' | b'!' | b' ') => out.push(' '),
            Some(b'$') => out.push(' '),
            Some(b'%') => out.push('%'),
            Some(&c) if c.is_ascii() => {
                out.push('\\');
                out.push(c as char);
            }
            Some(_) => out.push('\\'), // followed by a multi-byte char: keep it, advance 1
            None => {}
        }
        i += if b.get(i + 1).is_some_and(u8::is_ascii) { 2 } else { 1 };
    }
    out
}

/// Pass 3: `\text{...}` and the other wrappers are replaced by their content, innermost too.
fn unwrap_wrappers(s: &str) -> String {
    const WRAPPERS: &[&str] = &[
        "text",
        "textbf",
        "textit",
        "textrm",
        "textnormal",
        "textup",
        "textsf",
        "texttt",
        "mathrm",
        "mathbf",
        "mathit",
        "mathsf",
        "mathtt",
        "mathnormal",
        "mbox",
        "hbox",
        "emph",
        "boxed",
        "fbox",
        "bm",
        "boldsymbol",
    ];
    let mut cur = s.to_string();
    for _ in 0..MAX_DEPTH {
        let b = cur.as_bytes();
        let mut out = String::with_capacity(cur.len());
        let mut changed = false;
        let mut i = 0;
        while i < b.len() {
            if let Some(name) = command_at(&cur, i) {
                let after = i + 1 + name.len();
                if WRAPPERS.contains(&name) {
                    let mut j = after;
                    while b.get(j) == Some(&b' ') {
                        j += 1;
                    }
                    if let Some(end) = match_brace(&cur, j) {
                        out.push_str(&cur[j + 1..end - 1]);
                        i = end;
                        changed = true;
                        continue;
                    }
                }
                out.push_str(&cur[i..after]);
                i = after;
                continue;
            }
            let c = cur[i..].chars().next().unwrap_or(' ');
            if c == '\\' && b.get(i + 1).is_some_and(u8::is_ascii) {
                out.push_str(&cur[i..i + 2]);
                i += 2;
                continue;
            }
            out.push(c);
            i += c.len_utf8();
        }
        cur = out;
        if !changed {
            break;
        }
    }
    cur
}

/// Pass 4: `^\circ`, `^{\circ}`, `^ { \circ }` and `°` are removed.
fn drop_degrees(s: &str) -> String {
    let mut t = s.replace('°', " ");
    while let Some(pos) = find_degree(&t) {
        t.replace_range(pos.0..pos.1, " ");
    }
    t
}

/// The span of the first `^`-`\circ` construct in `s`.
fn find_degree(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('^') {
        let mut j = i + 1;
        let skip = |j: &mut usize| {
            while b.get(*j) == Some(&b' ') {
                *j += 1;
            }
        };
        skip(&mut j);
        let braced = b.get(j) == Some(&b'{');
        if braced {
            j += 1;
            skip(&mut j);
        }
        if command_at(s, j) != Some("circ") {
            continue;
        }
        j += 5;
        if braced {
            skip(&mut j);
            if b.get(j) != Some(&b'}') {
                continue;
            }
            j += 1;
        }
        return Some((i, j));
    }
    None
}

/// Unit words dropped at the end of an answer (lower case).
const UNITS: &[&str] = &[
    "cm",
    "mm",
    "km",
    "meter",
    "meters",
    "metre",
    "metres",
    "centimeter",
    "centimeters",
    "millimeter",
    "millimeters",
    "kilometer",
    "kilometers",
    "in",
    "inch",
    "inches",
    "ft",
    "foot",
    "feet",
    "yd",
    "yard",
    "yards",
    "mile",
    "miles",
    "mi",
    "mph",
    "kph",
    "unit",
    "units",
    "sq",
    "square",
    "cubic",
    "dollar",
    "dollars",
    "cent",
    "cents",
    "euro",
    "euros",
    "degree",
    "degrees",
    "deg",
    "second",
    "seconds",
    "sec",
    "minute",
    "minutes",
    "min",
    "mins",
    "hour",
    "hours",
    "hr",
    "hrs",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "gram",
    "grams",
    "kg",
    "kilogram",
    "kilograms",
    "lb",
    "lbs",
    "pound",
    "pounds",
    "ounce",
    "ounces",
    "oz",
    "liter",
    "liters",
    "litre",
    "litres",
    "ml",
    "gallon",
    "gallons",
    "per",
    "percent",
    "radian",
    "radians",
    "rad",
];

/// One-letter units, dropped only after a space.
const SHORT_UNITS: &[&str] = &["m", "g", "s", "h", "l", "L"];

/// Pass 5: trailing unit words (with an optional `^2`/`^{3}`) are dropped while what is left
/// still ends in a digit, `}` or `)`; the longest such cut is taken.
fn strip_units(s: &str) -> String {
    let mut cur = s.trim_end();
    let mut best: Option<&str> = None;
    for _ in 0..6 {
        let mut t = cur;
        // An exponent on the unit.
        for exp in ["^{2}", "^{3}", "^2", "^3"] {
            if let Some(r) = t.strip_suffix(exp) {
                t = r.trim_end();
                break;
            }
        }
        let word_start = t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len();
        let word = &t[word_start..];
        if word.is_empty() {
            break;
        }
        let before = &t[..word_start];
        if before.ends_with('\\') {
            break; // a control word, not a unit
        }
        let lower = word.to_ascii_lowercase();
        let spaced = before.ends_with(' ');
        let known = UNITS.contains(&lower.as_str()) || (spaced && SHORT_UNITS.contains(&word));
        if !known {
            break;
        }
        cur = before.trim_end();
        if cur.ends_with(|c: char| c.is_ascii_digit() || c == '}' || c == ')') {
            best = Some(cur);
        }
        if cur.is_empty() {
            break;
        }
    }
    best.unwrap_or(s).to_string()
}

/// Pass 6: whitespace is removed except a single space between a control word and a letter.
fn squeeze_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_cmd = false;
    let mut pending_space = false;
    let mut prev_backslash = false;
    for c in s.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && in_cmd && c.is_ascii_alphabetic() {
            out.push(' ');
        }
        // `\log_2 8`: a one-character subscript followed by a space gets braces, so that the
        // space can go without gluing the subscript to what follows.
        if pending_space && c.is_ascii_alphanumeric() {
            let ob = out.as_bytes();
            let n = ob.len();
            if n >= 2 && ob[n - 2] == b'_' && ob[n - 1].is_ascii_alphanumeric() {
                let x = out.pop().unwrap_or(' ');
                out.push('{');
                out.push(x);
                out.push('}');
            }
        }
        if pending_space {
            in_cmd = false;
        }
        pending_space = false;
        if prev_backslash {
            in_cmd = c.is_ascii_alphabetic();
            prev_backslash = false;
        } else if c == '\\' {
            prev_backslash = true;
            in_cmd = false;
        } else if !c.is_ascii_alphabetic() {
            in_cmd = false;
        }
        out.push(c);
    }
    out
}

/// Pass 7: `\frac`, `\binom` (two arguments) and `\sqrt` (an optional `[n]`, one argument) get
/// braced arguments, recursively.
fn brace_args(s: &str, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < b.len() {
        let Some(name) = command_at(s, i) else {
            let c = s[i..].chars().next().unwrap_or(' ');
            if c == '\\' && b.get(i + 1).is_some_and(u8::is_ascii) {
                out.push_str(&s[i..i + 2]);
                i += 2;
                continue;
            }
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        let after = i + 1 + name.len();
        let nargs = match name {
            "frac" | "binom" => 2,
            "sqrt" => 1,
            _ => 0,
        };
        out.push_str(&s[i..after]);
        i = after;
        if name == "sqrt" && b.get(i) == Some(&b'[') {
            if let Some(close) = s[i..].find(']') {
                out.push('[');
                out.push_str(&brace_args(&s[i + 1..i + close], depth + 1));
                out.push(']');
                i += close + 1;
            }
        }
        for _ in 0..nargs {
            match read_arg(s, i) {
                Some((arg, end)) => {
                    out.push('{');
                    out.push_str(&brace_args(arg, depth + 1));
                    out.push('}');
                    i = end;
                }
                None => break,
            }
        }
    }
    out
}

/// Pass 8a: trailing full stops (and a trailing `\\`) go.
fn trim_trailing(s: &str) -> String {
    let mut t = s.trim();
    loop {
        let before = t.len();
        t = t.trim_end_matches('.').trim_end();
        if let Some(r) = t.strip_suffix("\\\\") {
            t = r.trim_end();
        }
        if t.len() == before {
            break;
        }
    }
    t.to_string()
}

/// True when `s` is a single variable: `x`, `x_1`, `a_{n}`, `x'`, `\theta`, `f(x)`.
fn is_single_var(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    if b[0] == b'\\' {
        return command_at(s, 0).is_some_and(|n| n.len() + 1 == s.len() && n != "infty");
    }
    if !b[0].is_ascii_alphabetic() {
        return false;
    }
    let rest = &s[1..];
    if rest.is_empty() || rest == "'" {
        return true;
    }
    if let Some(sub) = rest.strip_prefix('_') {
        let sub = sub.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(sub);
        return !sub.is_empty() && sub.bytes().all(|c| c.is_ascii_alphanumeric());
    }
    // f(x)
    let b = rest.as_bytes();
    b.len() == 3 && b[0] == b'(' && b[1].is_ascii_alphabetic() && b[2] == b')'
}

/// Pass 8b: `x=3` → `3` and `x\in[1,2]` → `[1,2]` for a single-variable left side.
fn strip_lhs(s: &str) -> String {
    if s.contains('<') || s.contains('>') || s.contains("\\leq") || s.contains("\\geq") {
        return s.to_string();
    }
    for sep in ["=", "\\in"] {
        let parts = split_top(s, sep);
        if parts.len() == 2 && is_single_var(parts[0].trim()) && !parts[1].trim().is_empty() {
            return parts[1].trim().to_string();
        }
    }
    s.to_string()
}

/// True when `s` is digits only (and not empty).
fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// Pass 9: thousands separators of a whole-answer number, `18.00`, `.5`, a leading `+`.
fn numbers(s: &str) -> String {
    let mut t = s.strip_prefix('+').filter(|r| !r.is_empty()).unwrap_or(s).to_string();
    // Thousands separators: -?d{1,3}(,ddd)+(.d+)?
    let (sign, body) = match t.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", t.as_str()),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let groups: Vec<&str> = int.split(',').collect();
    if groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups.iter().all(|g| all_digits(g))
        && groups[1..].iter().all(|g| g.len() == 3)
        && frac.is_none_or(all_digits)
    {
        let mut n = format!("{sign}{}", groups.concat());
        if let Some(f) = frac {
            n.push('.');
            n.push_str(f);
        }
        t = n;
    }
    // 18.00 -> 18, .5 -> 0.5
    let (sign, body) = match t.strip_prefix('-') {
        Some(r) => ("-", r.to_string()),
        None => ("", t.clone()),
    };
    if let Some((i, f)) = body.split_once('.') {
        if (i.is_empty() || all_digits(i)) && all_digits(f) {
            let i = if i.is_empty() { "0" } else { i };
            let f = f.trim_end_matches('0');
            t = if f.is_empty() { format!("{sign}{i}") } else { format!("{sign}{i}.{f}") };
        }
    }
    t
}

/// A whole-answer mixed number `4\frac{2}{3}` (integer, then a fraction of integers) becomes
/// `4+\frac{2}{3}` (`-(1+\frac{1}{2})` when negative); other juxtapositions stay products.
fn mixed_number(t: String) -> String {
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.as_str()),
    };
    let Some(pos) = body.find("\\frac{") else {
        return t;
    };
    let (int, frac) = body.split_at(pos);
    let args = frac["\\frac".len()..].strip_prefix('{').and_then(|r| r.strip_suffix('}'));
    let ok =
        all_digits(int) && args.and_then(|a| a.split_once("}{")).is_some_and(|(n, d)| all_digits(n) && all_digits(d));
    if !ok {
        return t;
    }
    if neg {
        format!("-({int}+{frac})")
    } else {
        format!("{int}+{frac}")
    }
}

/// `(C)` → `C` for a single capital letter.
fn lone_choice(t: String) -> String {
    let b = t.as_bytes();
    if b.len() == 3 && b[0] == b'(' && b[1].is_ascii_uppercase() && b[2] == b')' {
        return (b[1] as char).to_string();
    }
    t
}

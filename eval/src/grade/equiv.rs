//! Mathematical equivalence of two answers, after normalisation.
//!
//! Equal normal forms are equivalent. Otherwise both sides are read as a shape and compared
//! shape by shape: matrices (`\begin{pmatrix}`, element-wise), unions of intervals (`\cup`,
//! any order), sets `\{..\}` and bare comma lists (order-insensitive, a set matches a list),
//! bracketed tuples and intervals (ordered; the bracket kinds must agree, so `(1,2]` is not
//! `(1,2)` and a point is indistinguishable from an open interval), lists of equations
//! (`x=1, y=2`: matched by variable), and scalars. A scalar containing one `\pm` stands for
//! the list of its two branches.
//!
//! Scalars are equal when their normal forms match case-insensitively as words (`Evelyn`), as
//! equations side by side, or as expressions by value ([`super::expr`]): constants are
//! evaluated once; expressions with variables at a dozen points drawn from a fixed seed
//! (magnitudes in [0.3, 2.8], both signs), skipping points where either side is undefined,
//! and must agree on every defined point and on at least three. Values agree within a relative
//! tolerance of 1e-6 (or 1e-9 absolute); infinities agree with infinities of the same sign.

use super::expr::{parse, Expr};
use super::normalize::normalize;
use super::scan::{outer_group_spans_all, split_top};

/// Relative tolerance of a numeric comparison.
const REL_TOL: f64 = 1e-6;
/// Absolute tolerance, for values near zero.
const ABS_TOL: f64 = 1e-9;
/// Nesting bound (tuples of tuples...).
const MAX_DEPTH: usize = 4;
/// Largest list compared element by element.
const MAX_ITEMS: usize = 64;

/// True when `pred` and `gold` are the same mathematical answer (see the module docs).
pub fn equivalent(pred: &str, gold: &str) -> bool {
    equiv_at(pred, gold, 0)
}

fn equiv_at(pred: &str, gold: &str, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let p = normalize(pred);
    let g = normalize(gold);
    if p.is_empty() || g.is_empty() {
        return false;
    }
    if p == g {
        return true;
    }
    match (shape(&p), shape(&g)) {
        (Shape::Scalar(a), Shape::Scalar(b)) => scalar_equiv(a, b),
        (Shape::Matrix(a), Shape::Matrix(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(ra, rb)| ra.len() == rb.len() && ra.iter().zip(rb).all(|(x, y)| equiv_at(x, y, depth + 1)))
        }
        (Shape::Union(a), Shape::Union(b)) => matched(&a, &b, depth),
        (Shape::Bracketed { open: oa, close: ca, items: a }, Shape::Bracketed { open: ob, close: cb, items: b }) => {
            oa == ob && ca == cb && a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| equiv_at(x, y, depth + 1))
        }
        (Shape::List(a), Shape::List(b)) => matched(&a, &b, depth),
        (Shape::Equations(a), Shape::Equations(b)) => {
            a.len() == b.len()
                && a.iter().all(|(lhs, rhs)| b.iter().any(|(l2, r2)| lhs == l2 && equiv_at(rhs, r2, depth + 1)))
        }
        _ => false,
    }
}

/// The structure of a normalised answer.
#[derive(Debug)]
enum Shape<'a> {
    Scalar(&'a str),
    Matrix(Vec<Vec<&'a str>>),
    Union(Vec<String>),
    Bracketed {
        open: u8,
        close: u8,
        items: Vec<String>,
    },
    /// Sets and bare comma lists, `\pm` expanded.
    List(Vec<String>),
    /// `x=1,y=2`: (variable, value) pairs.
    Equations(Vec<(&'a str, &'a str)>),
}

fn owned(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(str::to_string).collect()
}

fn shape(s: &str) -> Shape<'_> {
    if let Some(m) = matrix(s) {
        return Shape::Matrix(m);
    }
    let union = split_top(s, "\\cup");
    if union.len() > 1 {
        return Shape::Union(owned(union));
    }
    if let Some(inner) = s.strip_prefix("\\{").and_then(|r| r.strip_suffix("\\}")) {
        if outer_group_spans_all(s) {
            return Shape::List(expand_pm(split_top(inner, ",")));
        }
    }
    let b = s.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'(' | b'[') && matches!(b[b.len() - 1], b')' | b']') && outer_group_spans_all(s)
    {
        let items = split_top(&s[1..s.len() - 1], ",");
        if items.len() >= 2 {
            return Shape::Bracketed { open: b[0], close: b[b.len() - 1], items: owned(items) };
        }
    }
    let items = split_top(s, ",");
    if items.len() >= 2 {
        let eqs: Vec<(&str, &str)> = items
            .iter()
            .filter_map(|it| {
                let sides = split_top(it, "=");
                (sides.len() == 2).then(|| (sides[0], sides[1]))
            })
            .collect();
        if eqs.len() == items.len() {
            return Shape::Equations(eqs);
        }
        return Shape::List(expand_pm(items));
    }
    if s.matches("\\pm").count() == 1 {
        return Shape::List(expand_pm(vec![s]));
    }
    Shape::Scalar(s)
}

/// Items with one `\pm` become two items, `+` and `-`.
fn expand_pm(items: Vec<&str>) -> Vec<String> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        if it.matches("\\pm").count() == 1 {
            out.push(it.replacen("\\pm", "+", 1));
            out.push(it.replacen("\\pm", "-", 1));
        } else {
            out.push(it.to_string());
        }
    }
    out
}

/// Rows and cells of a `\begin{pmatrix}..\end{pmatrix}` (or `bmatrix`, `matrix`, ...).
fn matrix(s: &str) -> Option<Vec<Vec<&str>>> {
    let rest = s.strip_prefix("\\begin{")?;
    let close = rest.find('}')?;
    let env = &rest[..close];
    if !env.ends_with("matrix") {
        return None;
    }
    let body = rest[close + 1..].strip_suffix(&format!("\\end{{{env}}}"))?;
    let rows: Vec<Vec<&str>> =
        split_top(body, "\\\\").into_iter().filter(|r| !r.trim().is_empty()).map(|r| split_top(r, "&")).collect();
    (!rows.is_empty()).then_some(rows)
}

/// Every item of `a` is equivalent to a distinct item of `b` (same count).
fn matched<S: AsRef<str>>(a: &[S], b: &[S], depth: usize) -> bool {
    if a.len() != b.len() || a.len() > MAX_ITEMS {
        return false;
    }
    let mut used = vec![false; b.len()];
    'outer: for x in a {
        for (j, y) in b.iter().enumerate() {
            if !used[j] && equiv_at(x.as_ref(), y.as_ref(), depth + 1) {
                used[j] = true;
                continue 'outer;
            }
        }
        return false;
    }
    true
}

fn scalar_equiv(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // Words (two letters or more, nothing else) compare case-insensitively: `Evelyn`, `odd`.
    let wordy = |s: &str| s.chars().count() >= 2 && s.chars().all(char::is_alphabetic);
    if wordy(a) && wordy(b) && a.to_lowercase() == b.to_lowercase() {
        return true;
    }
    let (ea, eb) = (split_top(a, "="), split_top(b, "="));
    if ea.len() != eb.len() || ea.len() > 2 {
        return false;
    }
    if ea.len() == 2 {
        let same = |x: &str, y: &str| scalar_equiv(x.trim(), y.trim());
        return (same(ea[0], eb[0]) && same(ea[1], eb[1])) || (same(ea[0], eb[1]) && same(ea[1], eb[0]));
    }
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => values_agree(&x, &y),
        _ => false,
    }
}

/// Two values within tolerance (NaN never agrees; equal infinities do).
pub(crate) fn close(a: f64, b: f64) -> bool {
    if a == b {
        return true;
    }
    if !a.is_finite() || !b.is_finite() {
        return false;
    }
    let d = (a - b).abs();
    d <= ABS_TOL || d <= REL_TOL * a.abs().max(b.abs())
}

/// A tiny deterministic generator (SplitMix64) for the evaluation points.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Evaluation points for expressions with variables.
const TRIALS: usize = 12;
/// Defined points needed before expressions with variables count as equal.
const MIN_AGREE: usize = 3;

fn values_agree(x: &Expr, y: &Expr) -> bool {
    let mut vars = x.vars();
    vars.extend(y.vars());
    if vars.is_empty() {
        let none = |_: &str| f64::NAN;
        return close(x.eval(&none), y.eval(&none));
    }
    let vars: Vec<String> = vars.into_iter().collect();
    let mut rng = SplitMix(0x5EED_0F6E_AD00);
    let mut agree = 0;
    for trial in 0..TRIALS {
        let values: Vec<f64> = vars
            .iter()
            .enumerate()
            .map(|(k, _)| {
                let mag = 0.3 + 2.5 * rng.next_f64();
                // Mix signs across trials and variables.
                if (trial + k) % 3 == 2 {
                    -mag
                } else {
                    mag
                }
            })
            .collect();
        let env = |name: &str| vars.iter().position(|v| v == name).map_or(f64::NAN, |i| values[i]);
        let (va, vb) = (x.eval(&env), y.eval(&env));
        if !va.is_finite() || !vb.is_finite() {
            continue;
        }
        if !close(va, vb) {
            return false;
        }
        agree += 1;
    }
    agree >= MIN_AGREE
}

/// GSM8K-style numeric comparison: both sides evaluate to constants (or the prediction
/// contains exactly one number) that agree within tolerance. A prediction with `=` is judged
/// by its last side.
pub fn numeric_equal(pred: &str, gold: &str) -> bool {
    let Some(g) = constant(gold) else {
        return false;
    };
    // `2 \times 9 = 18`: the last side of a chain of equalities is the answer.
    let pred = split_top(pred, "=").pop().unwrap_or(pred);
    if let Some(p) = constant(pred) {
        return close(p, g);
    }
    let p = normalize(pred);
    let nums = numbers_in(&p);
    nums.len() == 1 && close(nums[0], g)
}

/// The value of a constant expression, after normalisation.
fn constant(s: &str) -> Option<f64> {
    let e = parse(&normalize(s))?;
    if !e.vars().is_empty() {
        return None;
    }
    let v = e.eval(&|_| f64::NAN);
    (!v.is_nan()).then_some(v)
}

/// Every number (`-12`, `3.5`) in `s`.
fn numbers_in(s: &str) -> Vec<f64> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let mut start = i;
            if start > 0 && b[start - 1] == b'-' {
                start -= 1;
            }
            while i < b.len()
                && (b[i].is_ascii_digit() || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
            {
                i += 1;
            }
            if let Ok(v) = s[start..i].parse() {
                out.push(v);
            }
        } else {
            i += 1;
        }
    }
    out
}

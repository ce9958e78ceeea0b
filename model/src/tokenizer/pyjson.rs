//! The `tojson` filter of HF chat templates: Python's `json.dumps(x, ensure_ascii=False,
//! indent=None, separators=None, sort_keys=False)` with the same options, so templates that
//! print tool schemas or arguments render byte-identically to transformers (minijinja's own
//! `tojson` is compact and HTML-escapes).

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// Formatting options of `json.dumps`.
struct Opts {
    ensure_ascii: bool,
    /// The indent unit, `None` for single-line output.
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The filter: `value | tojson`, `tojson(indent=2)`, positional order as in transformers
/// (`ensure_ascii, indent, separators, sort_keys`).
pub fn tojson(value: Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let arg = |i: usize, name: &str| -> Result<Option<Value>, Error> {
        let kw: Option<Value> = kwargs.get(name)?;
        Ok(kw.or_else(|| args.get(i).cloned()).filter(|v| !v.is_none() && !v.is_undefined()))
    };
    let ensure_ascii = arg(0, "ensure_ascii")?.is_some_and(|v| v.is_true());
    let indent = match arg(1, "indent")? {
        None => None,
        Some(v) if v.kind() == ValueKind::String => Some(v.as_str().unwrap_or("").to_owned()),
        Some(v) => Some(
            " ".repeat(v.as_i64().ok_or_else(|| invalid("tojson: indent must be an int or a string"))?.max(0) as usize),
        ),
    };
    let (item_sep, key_sep) = match arg(2, "separators")? {
        Some(v) => {
            let parts: Vec<Value> = v.try_iter()?.collect();
            match parts.as_slice() {
                [a, b] => (a.to_string(), b.to_string()),
                _ => return Err(invalid("tojson: separators must be a pair of strings")),
            }
        }
        None if indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    let sort_keys = arg(3, "sort_keys")?.is_some_and(|v| v.is_true());
    kwargs.assert_all_used()?;
    let opts = Opts { ensure_ascii, indent, item_sep, key_sep, sort_keys };
    let mut out = String::new();
    dump(&value, &opts, 0, &mut out)?;
    Ok(Value::from(out))
}

fn newline(opts: &Opts, level: usize, out: &mut String) {
    if let Some(unit) = &opts.indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(unit);
        }
    }
}

fn dump(v: &Value, opts: &Opts, level: usize, out: &mut String) -> Result<(), Error> {
    match v.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => out.push_str(&number(v)?),
        ValueKind::String => string(v.as_str().unwrap_or(""), opts.ensure_ascii, out),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline(opts, level + 1, out);
                dump(item, opts, level + 1, out)?;
            }
            newline(opts, level, out);
            out.push(']');
        }
        ValueKind::Map => {
            let mut pairs = Vec::new();
            for key in v.try_iter()? {
                let item = v.get_item(&key)?;
                pairs.push((key_text(&key)?, item));
            }
            if opts.sort_keys {
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
            }
            if pairs.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (key, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline(opts, level + 1, out);
                string(key, opts.ensure_ascii, out);
                out.push_str(&opts.key_sep);
                dump(item, opts, level + 1, out)?;
            }
            newline(opts, level, out);
            out.push('}');
        }
        other => return Err(invalid(format!("tojson: a value of type {other} is not JSON serializable"))),
    }
    Ok(())
}

/// A dict key as `json.dumps` writes it (non-string scalars are converted).
fn key_text(k: &Value) -> Result<String, Error> {
    match k.kind() {
        ValueKind::String => Ok(k.as_str().unwrap_or("").to_owned()),
        ValueKind::None => Ok("null".into()),
        ValueKind::Bool => Ok(if k.is_true() { "true" } else { "false" }.into()),
        ValueKind::Number => number(k),
        other => Err(invalid(format!("tojson: keys must be str, int, float, bool or None, not {other}"))),
    }
}

fn number(v: &Value) -> Result<String, Error> {
    if v.is_integer() {
        return Ok(v.to_string());
    }
    let f = f64::try_from(v.clone())?;
    Ok(py_float_repr(f))
}

/// Python's `float.__repr__` as `json.dumps` uses it (`NaN`, `Infinity` for non-finite).
pub(crate) fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Shortest round-trip digits and decimal exponent, e.g. "1.2345e-5".
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let text = if exp < 0 {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else if exp + 1 >= n {
            format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mant = if rest.is_empty() { first.to_owned() } else { format!("{first}.{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

/// A JSON string literal as `json.dumps` writes it.
fn string(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dumps(value: &Value, ensure_ascii: bool, indent: Option<usize>) -> Result<String, Error> {
        let opts = Opts {
            ensure_ascii,
            indent: indent.map(|n| " ".repeat(n)),
            item_sep: if indent.is_some() { "," } else { ", " }.into(),
            key_sep: ": ".into(),
            sort_keys: false,
        };
        let mut out = String::new();
        dump(value, &opts, 0, &mut out)?;
        Ok(out)
    }

    #[test]
    fn floats_follow_python_repr() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e16, "1e+16"),
            (123456789012345.0, "123456789012345.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (-2.25, "-2.25"),
            (123.456, "123.456"),
            (6.02e23, "6.02e+23"),
        ] {
            assert_eq!(py_float_repr(f), want, "{f}");
        }
    }

    #[test]
    fn dumps_matches_python_spacing_and_escapes() {
        let v = Value::from_serialize(serde_json::json!({"a": [1, 2.5, null, true], "b": "é\"\n\u{1}"}));
        assert_eq!(dumps(&v, false, None).unwrap(), r#"{"a": [1, 2.5, null, true], "b": "é\"\n\u0001"}"#);
        assert_eq!(dumps(&v, true, None).unwrap(), r#"{"a": [1, 2.5, null, true], "b": "\u00e9\"\n\u0001"}"#);
        let v = Value::from_serialize(serde_json::json!({"k": [1], "e": {}}));
        assert_eq!(dumps(&v, false, Some(2)).unwrap(), "{\n  \"e\": {},\n  \"k\": [\n    1\n  ]\n}");
    }
}

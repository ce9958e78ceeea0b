//! Reading task files: a missing file says how to get it, and every malformed line or field is
//! reported with its file and line number.

use crate::error::{EvalError, Result};
use serde_json::Value;
use std::path::Path;

/// Reads an asset file as text; a missing file says how to fetch the assets.
pub fn read_asset(path: &Path) -> Result<String> {
    let bytes = read_asset_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| EvalError::Text { path: path.into(), what: format!("not UTF-8: {e}") })
}

/// Reads an asset file's bytes; a missing file says how to fetch the assets.
pub fn read_asset_bytes(path: &Path) -> Result<Vec<u8>> {
    if !path.exists() {
        return Err(EvalError::Text {
            path: path.into(),
            what: "task file is missing: run `qtool assets fetch` (or point $QTOOL_ASSETS / --assets at the folder)"
                .into(),
        });
    }
    std::fs::read(path).map_err(|source| EvalError::Io { path: path.into(), source })
}

/// Parses every non-empty line of a JSONL text as a JSON object: `(line number, object)`.
pub fn objects(path: &Path, text: &str) -> Result<Vec<(usize, Value)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .map_err(|e| EvalError::Text { path: path.into(), what: format!("line {}: not JSON: {e}", i + 1) })?;
        if !v.is_object() {
            return Err(EvalError::Text { path: path.into(), what: format!("line {}: expected a JSON object", i + 1) });
        }
        out.push((i + 1, v));
    }
    Ok(out)
}

/// The string field `key` of a record at `line` of `path` (numbers are accepted and written out).
pub fn string_field(path: &Path, line: usize, v: &Value, key: &str) -> Result<String> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(EvalError::Text { path: path.into(), what: format!("line {line}: no string field {key:?}") }),
    }
}

/// Checks that a task file held the number of items the benchmark has.
pub fn expect_count(path: &Path, what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(EvalError::Text {
            path: path.into(),
            what: format!("expected {want} {what} items, found {got} (a different version of the asset?)"),
        });
    }
    Ok(())
}

//! MMATH (`mmath/mmath/<lang>.json`): one JSON array of 374 `{question, answer, data_source,
//! data_source_id, lang, gid}` per language: MATH500 311 (a subset of MATH-500), AIME2024 30,
//! AIME2025 15, CNMO 18. `math500` and `aime24` are the English file's subsets.

use super::jsonl::{expect_count, read_asset, string_field};
use super::{Body, Item};
use crate::error::{EvalError, Result};
use serde_json::Value;
use std::path::Path;

/// Items per MMATH language file.
pub const COUNT: usize = 374;

fn records(assets: &Path, lang: &str) -> Result<(std::path::PathBuf, Vec<Value>)> {
    let path = assets.join(format!("mmath/mmath/{lang}.json"));
    let text = read_asset(&path)?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| EvalError::Text { path: path.clone(), what: format!("not JSON: {e}") })?;
    match v {
        Value::Array(a) => Ok((path, a)),
        _ => Err(EvalError::Text { path, what: "expected a JSON array of problems".into() }),
    }
}

fn item(path: &Path, n: usize, v: &Value, prefix: &str) -> Result<Item> {
    // Records are numbered from 1 in errors, like lines.
    let question = string_field(path, n + 1, v, "question")?;
    let gold = string_field(path, n + 1, v, "answer")?;
    let gid = string_field(path, n + 1, v, "gid").unwrap_or_else(|_| n.to_string());
    Ok(Item { id: format!("{prefix}/{gid}"), body: Body::Answer { question, gold } })
}

/// The problems of `lang` whose `data_source` is `source`, with ids `<prefix>/<gid>`.
pub fn load_source(assets: &Path, lang: &str, source: &str, prefix: &str) -> Result<Vec<Item>> {
    let (path, recs) = records(assets, lang)?;
    let mut items = Vec::new();
    for (n, v) in recs.iter().enumerate() {
        if v.get("data_source").and_then(Value::as_str) == Some(source) {
            items.push(item(&path, n, v, prefix)?);
        }
    }
    let want = match source {
        "MATH500" => 311,
        "AIME2024" => 30,
        _ => items.len(),
    };
    expect_count(&path, source, items.len(), want)?;
    Ok(items)
}

/// Every problem of `lang`, ids `mmath-<lang>/<gid>`.
pub fn load_all(assets: &Path, lang: &str) -> Result<Vec<Item>> {
    let (path, recs) = records(assets, lang)?;
    let prefix = format!("mmath-{lang}");
    let items = recs.iter().enumerate().map(|(n, v)| item(&path, n, v, &prefix)).collect::<Result<Vec<_>>>()?;
    expect_count(&path, &format!("MMATH {lang}"), items.len(), COUNT)?;
    Ok(items)
}

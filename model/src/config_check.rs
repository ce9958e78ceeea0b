//! The one validation of a model configuration, run by every loader (GGUF, HF folders) before
//! a tensor is read, and so before `convert` and `quantize` write anything: the sizes are within
//! sane bounds (layers, heads, head size, widths, vocabulary, context) and their products do not
//! overflow, and the tensors the configuration implies exist with the shapes it implies (no
//! layer missing or extra, head counts that agree with the projections' widths).

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use std::collections::HashMap;
use std::path::Path;

/// Most decoder layers (the largest open models have under 200).
pub const MAX_LAYERS: usize = 1024;
/// Most attention heads (query or key/value).
pub const MAX_HEADS: usize = 1024;
/// Largest head size.
pub const MAX_HEAD_DIM: usize = 1024;
/// Largest residual width.
pub const MAX_HIDDEN: usize = 1 << 17;
/// Largest MLP width.
pub const MAX_INTERMEDIATE: usize = 1 << 20;
/// Largest vocabulary.
pub const MAX_VOCAB: usize = 1 << 22;
/// Longest context (the KV cache and the RoPE table grow with the tokens used, not with this).
pub const MAX_CONTEXT: usize = 1 << 24;
/// Most parameters a configuration may imply.
pub const MAX_PARAMS: u64 = 1 << 40;

/// The shapes of a checkpoint's tensors by HF name, read from headers only: a Linear stored
/// quantized is listed under `{prefix}.weight` with its logical `[out, in]` shape. `shown` is
/// how errors name the tensor (the file's own name, when it differs).
#[derive(Debug, Default)]
pub struct TensorShapes {
    shapes: HashMap<String, (Vec<usize>, String)>,
}

impl TensorShapes {
    /// Records tensor `hf_name` of `shape`, named `shown` in errors.
    pub fn insert(&mut self, hf_name: &str, shape: Vec<usize>, shown: String) {
        self.shapes.insert(hf_name.to_string(), (shape, shown));
    }
}

impl ModelConfig {
    /// Checks every size against its bound. `key` turns an HF field name into the name the
    /// source uses (a GGUF metadata key), so errors name what the user can find in the file.
    pub(crate) fn check_bounds(&self, path: &Path, key: &dyn Fn(&str) -> String) -> Result<()> {
        let bad = |field: &str, what: String| ModelError::Config { path: path.to_path_buf(), field: key(field), what };
        let within = |field: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(bad(field, format!("is {v}, expected {lo} to {hi}")))
            }
        };
        within("num_hidden_layers", self.num_hidden_layers, 1, MAX_LAYERS)?;
        within("hidden_size", self.hidden_size, 1, MAX_HIDDEN)?;
        within("intermediate_size", self.intermediate_size, 1, MAX_INTERMEDIATE)?;
        within("num_attention_heads", self.num_attention_heads, 1, MAX_HEADS)?;
        within("num_key_value_heads", self.num_key_value_heads, 1, self.num_attention_heads)?;
        within("head_dim", self.head_dim, 2, MAX_HEAD_DIM)?;
        within("vocab_size", self.vocab_size, 1, MAX_VOCAB)?;
        within("max_position_embeddings", self.max_position_embeddings, 1, MAX_CONTEXT)?;
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return Err(bad(
                "num_key_value_heads",
                format!(
                    "{} does not divide num_attention_heads {}",
                    self.num_key_value_heads, self.num_attention_heads
                ),
            ));
        }
        if !self.head_dim.is_multiple_of(2) {
            return Err(bad("head_dim", format!("{} is odd; RoPE needs an even head dimension", self.head_dim)));
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0 && self.rms_norm_eps < 1.0) {
            return Err(bad("rms_norm_eps", format!("is {}, expected a number in (0, 1)", self.rms_norm_eps)));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 0.0) {
            return Err(bad("rope_theta", format!("is {}, expected a positive number", self.rope_theta)));
        }
        let params = self.n_params().filter(|&p| p <= MAX_PARAMS);
        if params.is_none() {
            return Err(bad("(sizes)", format!("these sizes imply over {MAX_PARAMS} parameters")));
        }
        Ok(())
    }

    /// Parameters the configuration implies (`None` on overflow).
    fn n_params(&self) -> Option<u64> {
        let u = |x: usize| x as u64;
        let (d, hd) = (u(self.hidden_size), u(self.head_dim));
        let qd = u(self.num_attention_heads).checked_mul(hd)?;
        let kvd = u(self.num_key_value_heads).checked_mul(hd)?;
        let attn = d.checked_mul(qd.checked_mul(2)?.checked_add(kvd.checked_mul(2)?)?)?;
        let mlp = d.checked_mul(u(self.intermediate_size))?.checked_mul(3)?;
        let layer = attn.checked_add(mlp)?.checked_add(d.checked_mul(2)?)?;
        let embed = u(self.vocab_size).checked_mul(d)?.checked_mul(2)?;
        u(self.num_hidden_layers).checked_mul(layer)?.checked_add(embed)
    }

    /// The tensors this configuration implies: HF name and shape.
    pub fn expected_tensors(&self) -> Vec<(String, Vec<usize>)> {
        let (d, hd, f, v) = (self.hidden_size, self.head_dim, self.intermediate_size, self.vocab_size);
        let (qd, kvd) = (self.num_attention_heads * hd, self.num_key_value_heads * hd);
        let mut out =
            vec![("model.embed_tokens.weight".to_string(), vec![v, d]), ("model.norm.weight".into(), vec![d])];
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".into(), vec![v, d]));
        }
        for i in 0..self.num_hidden_layers {
            let p = format!("model.layers.{i}");
            out.push((format!("{p}.input_layernorm.weight"), vec![d]));
            out.push((format!("{p}.post_attention_layernorm.weight"), vec![d]));
            for (name, shape) in [
                ("self_attn.q_proj", [qd, d]),
                ("self_attn.k_proj", [kvd, d]),
                ("self_attn.v_proj", [kvd, d]),
                ("self_attn.o_proj", [d, qd]),
                ("mlp.gate_proj", [f, d]),
                ("mlp.up_proj", [f, d]),
                ("mlp.down_proj", [d, f]),
            ] {
                out.push((format!("{p}.{name}.weight"), shape.to_vec()));
            }
            if self.attention_bias {
                for (name, n) in [("q_proj", qd), ("k_proj", kvd), ("v_proj", kvd)] {
                    out.push((format!("{p}.self_attn.{name}.bias"), vec![n]));
                }
            }
        }
        out
    }

    /// Checks the configuration against the tensors' shapes (`path` is the checkpoint, for
    /// errors): every implied tensor is there with the implied shape, a tied `lm_head` has the
    /// embedding's shape, and no tensor belongs to a layer past `num_hidden_layers`.
    pub fn check_tensors(&self, path: &Path, shapes: &TensorShapes) -> Result<()> {
        let at = path.display();
        for (name, want) in self.expected_tensors() {
            match shapes.shapes.get(&name) {
                Some((shape, _)) if *shape == want => {}
                Some((shape, shown)) => {
                    return Err(ModelError::Tensor {
                        tensor: shown.clone(),
                        what: format!(
                            "{at}: shape {shape:?}, but the configuration implies {want:?} ({})",
                            self.sizes()
                        ),
                    })
                }
                None => {
                    return Err(ModelError::Tensor {
                        tensor: name,
                        what: format!("{at}: missing, but the configuration implies it ({})", self.sizes()),
                    })
                }
            }
        }
        if let Some((shape, shown)) = shapes.shapes.get("lm_head.weight").filter(|_| self.tie_word_embeddings) {
            if *shape != [self.vocab_size, self.hidden_size] {
                return Err(ModelError::Tensor {
                    tensor: shown.clone(),
                    what: format!(
                        "{at}: shape {shape:?}, expected the embedding's [{}, {}]",
                        self.vocab_size, self.hidden_size
                    ),
                });
            }
        }
        let extra = shapes.shapes.iter().find_map(|(name, (_, shown))| {
            let layer: usize = name.strip_prefix("model.layers.")?.split('.').next()?.parse().ok()?;
            (layer >= self.num_hidden_layers).then(|| (layer, shown.clone()))
        });
        if let Some((layer, shown)) = extra {
            return Err(ModelError::Tensor {
                tensor: shown,
                what: format!(
                    "{at}: belongs to layer {layer}, but the configuration has {} layers",
                    self.num_hidden_layers
                ),
            });
        }
        Ok(())
    }

    /// The sizes the shapes follow from, for error messages.
    fn sizes(&self) -> String {
        format!(
            "{} layers, hidden {}, {} heads / {} KV heads of {}, MLP {}, vocabulary {}",
            self.num_hidden_layers,
            self.hidden_size,
            self.num_attention_heads,
            self.num_key_value_heads,
            self.head_dim,
            self.intermediate_size,
            self.vocab_size
        )
    }
}

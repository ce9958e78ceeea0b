//! Architecture configuration, mirroring the fields of a Hugging Face `config.json` for the
//! Llama and Qwen2 families; also built from GGUF metadata.

use crate::error::{ModelError, Result};
use quant::gguf::GgufFile;
use serde_json::Value;
use std::path::Path;

/// The decoder families qtool runs. They share one forward pass and differ in the flags below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// `LlamaForCausalLM` (SmolLM2, Llama 2/3, ...): no attention biases.
    Llama,
    /// `Qwen2ForCausalLM` (Qwen2/2.5, R1-Distill-Qwen): biases on q/k/v projections.
    Qwen2,
}

impl Arch {
    /// The HF `architectures[0]` string.
    pub fn hf_name(self) -> &'static str {
        match self {
            Arch::Llama => "LlamaForCausalLM",
            Arch::Qwen2 => "Qwen2ForCausalLM",
        }
    }
    /// The HF `model_type`.
    pub fn model_type(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
        }
    }
}

const SUPPORTED: &str = "LlamaForCausalLM, Qwen2ForCausalLM (GGUF: llama, qwen2)";

/// Hyper-parameters of a decoder-only transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Family.
    pub arch: Arch,
    /// Residual width d.
    pub hidden_size: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (GQA when fewer than query heads).
    pub num_key_value_heads: usize,
    /// Per-head width (hidden_size / heads unless given).
    pub head_dim: usize,
    /// Decoder layers.
    pub num_hidden_layers: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Context length.
    pub max_position_embeddings: usize,
    /// Whether lm_head shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Whether q/k/v projections carry biases.
    pub attention_bias: bool,
    /// BOS token id, if any.
    pub bos_token_id: Option<u32>,
    /// EOS token ids.
    pub eos_token_ids: Vec<u32>,
}

fn field<'a>(v: &'a Value, path: &Path, name: &str) -> Result<&'a Value> {
    v.get(name).filter(|x| !x.is_null()).ok_or_else(|| ModelError::Config {
        path: path.to_path_buf(),
        field: name.to_string(),
        what: "missing".into(),
    })
}

fn usize_field(v: &Value, path: &Path, name: &str) -> Result<usize> {
    let x = field(v, path, name)?;
    x.as_u64().filter(|&n| n > 0).map(|n| n as usize).ok_or_else(|| ModelError::Config {
        path: path.to_path_buf(),
        field: name.to_string(),
        what: format!("is {x}, expected a positive integer"),
    })
}

fn f64_field(v: &Value, path: &Path, name: &str) -> Result<f64> {
    let x = field(v, path, name)?;
    x.as_f64().ok_or_else(|| ModelError::Config {
        path: path.to_path_buf(),
        field: name.to_string(),
        what: format!("is {x}, expected a number"),
    })
}

fn ids(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Number(n)) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_u64()).map(|x| x as u32).collect(),
        _ => Vec::new(),
    }
}

/// The GGUF metadata key holding the HF config field `field` (as named in errors).
fn gguf_key(arch: &str, field: &str) -> String {
    let k = match field {
        "num_hidden_layers" => "block_count",
        "hidden_size" => "embedding_length",
        "intermediate_size" => "feed_forward_length",
        "num_attention_heads" => "attention.head_count",
        "num_key_value_heads" => "attention.head_count_kv",
        "head_dim" => "attention.key_length (or embedding_length / attention.head_count)",
        "vocab_size" => "vocab_size (or the length of tokenizer.ggml.tokens)",
        "max_position_embeddings" => "context_length",
        "rms_norm_eps" => "attention.layer_norm_rms_epsilon",
        "rope_theta" => "rope.freq_base",
        other => return other.to_string(),
    };
    format!("{arch}.{k}")
}

impl ModelConfig {
    /// Parses a HF `config.json`.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ModelError::Io { path: path.to_path_buf(), source })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: path.to_path_buf(),
            field: "(file)".into(),
            what: format!("not valid JSON: {e}"),
        })?;
        Self::from_hf_value(&v, path)
    }

    /// Parses an already-read `config.json` value (`path` is used in errors).
    pub fn from_hf_value(v: &Value, path: &Path) -> Result<Self> {
        let arch_name =
            field(v, path, "architectures")?.get(0).and_then(|a| a.as_str()).ok_or_else(|| ModelError::Config {
                path: path.to_path_buf(),
                field: "architectures".into(),
                what: "expected a non-empty list of strings".into(),
            })?;
        let arch = match arch_name {
            "LlamaForCausalLM" => Arch::Llama,
            "Qwen2ForCausalLM" => Arch::Qwen2,
            other => {
                return Err(ModelError::UnsupportedArchitecture {
                    path: path.to_path_buf(),
                    arch: other.to_string(),
                    supported: SUPPORTED.into(),
                })
            }
        };
        let hidden_size = usize_field(v, path, "hidden_size")?;
        let num_attention_heads = usize_field(v, path, "num_attention_heads")?;
        let num_key_value_heads = match v.get("num_key_value_heads") {
            Some(x) if !x.is_null() => usize_field(v, path, "num_key_value_heads")?,
            _ => num_attention_heads,
        };
        let head_dim = match v.get("head_dim") {
            Some(x) if !x.is_null() => usize_field(v, path, "head_dim")?,
            _ => hidden_size / num_attention_heads,
        };
        let cfg = ModelConfig {
            arch,
            hidden_size,
            intermediate_size: usize_field(v, path, "intermediate_size")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            num_hidden_layers: usize_field(v, path, "num_hidden_layers")?,
            rms_norm_eps: f64_field(v, path, "rms_norm_eps")?,
            rope_theta: v.get("rope_theta").and_then(|x| x.as_f64()).unwrap_or(10000.0),
            vocab_size: usize_field(v, path, "vocab_size")?,
            max_position_embeddings: usize_field(v, path, "max_position_embeddings")?,
            tie_word_embeddings: v.get("tie_word_embeddings").and_then(|x| x.as_bool()).unwrap_or(false),
            attention_bias: match arch {
                Arch::Qwen2 => true,
                Arch::Llama => v.get("attention_bias").and_then(|x| x.as_bool()).unwrap_or(false),
            },
            bos_token_id: v.get("bos_token_id").and_then(|x| x.as_u64()).map(|x| x as u32),
            eos_token_ids: ids(v.get("eos_token_id")),
        };
        cfg.check_bounds(path, &|field| field.to_string())?;
        Ok(cfg)
    }

    /// Builds the config from GGUF metadata (`{arch}.embedding_length`, ...).
    pub fn from_gguf(g: &GgufFile) -> Result<Self> {
        let path = g.path();
        let arch_name = g.architecture()?;
        let arch = match arch_name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            other => {
                return Err(ModelError::UnsupportedArchitecture {
                    path: path.to_path_buf(),
                    arch: other.to_string(),
                    supported: SUPPORTED.into(),
                })
            }
        };
        let key = |k: &str| format!("{arch_name}.{k}");
        // Sizes saturate rather than wrap: the bounds check below refuses them by name.
        let size = |k: &str| g.get_u64(&key(k)).map(|v| usize::try_from(v).unwrap_or(usize::MAX));
        let hidden_size = size("embedding_length")?;
        let num_attention_heads = size("attention.head_count")?;
        let num_key_value_heads = match g.get(&key("attention.head_count_kv")) {
            Some(_) => size("attention.head_count_kv")?,
            None => num_attention_heads,
        };
        let vocab_size = match g.get(&key("vocab_size")) {
            Some(_) => size("vocab_size")?,
            None => g.get_array("tokenizer.ggml.tokens")?.len(),
        };
        let has_output = g.tensor("output.weight").is_some();
        let eos = g.get("tokenizer.ggml.eos_token_id").and_then(|v| v.as_u64()).map(|x| x as u32);
        let cfg = ModelConfig {
            arch,
            hidden_size,
            intermediate_size: size("feed_forward_length")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim: match g.get(&key("attention.key_length")) {
                Some(v) => v.as_u64().map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX)),
                None => hidden_size.checked_div(num_attention_heads).unwrap_or(0),
            },
            num_hidden_layers: size("block_count")?,
            rms_norm_eps: g.get_f64(&key("attention.layer_norm_rms_epsilon"))?,
            rope_theta: g.get(&key("rope.freq_base")).and_then(|v| v.as_f64()).unwrap_or(10000.0),
            vocab_size,
            max_position_embeddings: size("context_length")?,
            tie_word_embeddings: !has_output,
            attention_bias: arch == Arch::Qwen2,
            bos_token_id: g.get("tokenizer.ggml.bos_token_id").and_then(|v| v.as_u64()).map(|x| x as u32),
            eos_token_ids: eos.into_iter().collect(),
        };
        cfg.check_bounds(path, &|field| gguf_key(arch_name, field))?;
        Ok(cfg)
    }

    /// The HF `config.json` for this configuration (`torch_dtype` as given).
    pub fn to_hf_json(&self, torch_dtype: &str) -> Value {
        let eos: Value = match self.eos_token_ids.as_slice() {
            [one] => (*one).into(),
            many => many.to_vec().into(),
        };
        let mut v = serde_json::json!({
            "architectures": [self.arch.hf_name()],
            "model_type": self.arch.model_type(),
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "num_hidden_layers": self.num_hidden_layers,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "vocab_size": self.vocab_size,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "hidden_act": "silu",
            "torch_dtype": torch_dtype,
            "eos_token_id": eos,
            "use_cache": true,
        });
        if let Some(b) = self.bos_token_id {
            v["bos_token_id"] = b.into();
        }
        match self.arch {
            Arch::Llama => {
                v["attention_bias"] = self.attention_bias.into();
                v["mlp_bias"] = false.into();
                v["rope_scaling"] = Value::Null;
            }
            Arch::Qwen2 => {
                v["use_sliding_window"] = false.into();
                v["sliding_window"] = Value::Null;
                v["max_window_layers"] = self.num_hidden_layers.into();
            }
        }
        v
    }
}

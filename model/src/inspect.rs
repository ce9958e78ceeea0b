//! `qtool inspect`: architecture, per-tensor shapes and encodings, parameter count and bits per
//! weight of a GGUF file or a Hugging Face folder, read from headers only (no weights loaded).

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use crate::load::{hf::safetensors_files, is_gguf};
use quant::gguf::GgufFile;
use std::fmt;
use std::path::Path;

/// One tensor's row in the report.
#[derive(Debug, Clone)]
pub struct TensorRow {
    /// Name as stored.
    pub name: String,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Storage type (`Q4_K`, `BF16`, ...).
    pub dtype: String,
    /// Bytes of storage.
    pub bytes: u64,
}

/// What `inspect` found.
#[derive(Debug, Clone)]
pub struct Report {
    /// "GGUF v3" or "HF folder".
    pub kind: String,
    /// The architecture, when it parses.
    pub config: Option<ModelConfig>,
    /// Interesting metadata/config lines.
    pub facts: Vec<(String, String)>,
    /// Tensors in file order.
    pub tensors: Vec<TensorRow>,
}

impl Report {
    /// Total parameters.
    pub fn n_params(&self) -> u64 {
        self.tensors.iter().map(|t| t.shape.iter().product::<usize>() as u64).sum()
    }
    /// Total bytes of tensor storage.
    pub fn n_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.bytes).sum()
    }
}

/// Reads the headers of `path`.
pub fn inspect(path: &Path) -> Result<Report> {
    if is_gguf(path) {
        let g = GgufFile::open(path)?;
        let mut facts =
            vec![("tensors".to_string(), g.tensors.len().to_string()), ("alignment".into(), g.alignment.to_string())];
        for (k, v) in &g.metadata {
            if k.starts_with("tokenizer.ggml.") && v.as_array().is_some() {
                facts.push((k.clone(), format!("{} entries", v.as_array().map_or(0, |a| a.len()))));
            } else if k != "tokenizer.chat_template" {
                facts.push((k.clone(), v.summary()));
            } else {
                facts.push((k.clone(), format!("{} chars", v.as_str().map_or(0, |s| s.len()))));
            }
        }
        let tensors = g
            .tensors
            .iter()
            .map(|t| TensorRow { name: t.name.clone(), shape: t.shape(), dtype: t.ty.name().into(), bytes: t.n_bytes })
            .collect();
        let config = match ModelConfig::from_gguf(&g) {
            Ok(c) => Some(c),
            Err(e) => {
                facts.insert(0, ("architecture".into(), format!("not loadable: {e}")));
                None
            }
        };
        return Ok(Report { kind: format!("GGUF v{}", g.version), config, facts, tensors });
    }
    if !path.is_dir() {
        return Err(ModelError::Config {
            path: path.to_path_buf(),
            field: "(file)".into(),
            what: "expected a GGUF file or a Hugging Face model folder".into(),
        });
    }
    let cfg_path = path.join("config.json");
    let config = ModelConfig::from_hf_json(&cfg_path)?;
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap_or_default()).unwrap_or_default();
    let mut facts = Vec::new();
    if let Some(v) = raw.get("torch_dtype") {
        facts.push(("torch_dtype".to_string(), v.to_string()));
    }
    if let Some(q) = raw.get("quantization_config") {
        facts.extend(quantization_facts(q));
    }
    let mut tensors = Vec::new();
    for f in safetensors_files(path)? {
        let file = std::fs::File::open(&f).map_err(|source| ModelError::Io { path: f.clone(), source })?;
        // SAFETY: read-only map; only the header is read.
        let bytes =
            unsafe { memmap2::Mmap::map(&file) }.map_err(|source| ModelError::Io { path: f.clone(), source })?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| ModelError::Safetensors {
            path: f.clone(),
            what: format!("invalid safetensors file: {e:?}"),
        })?;
        let mut rows: Vec<TensorRow> = meta
            .tensors()
            .into_iter()
            .map(|(name, info)| TensorRow {
                name,
                shape: info.shape.clone(),
                dtype: format!("{:?}", info.dtype),
                bytes: (info.data_offsets.1 - info.data_offsets.0) as u64,
            })
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        tensors.extend(rows);
    }
    Ok(Report { kind: "HF folder".into(), config: Some(config), facts, tensors })
}

/// A JSON value as plain text (strings unquoted, null as "none").
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `QuantizationArgs` of compressed-tensors as one line: "int4 group 128 sym static".
fn ct_args(a: &serde_json::Value) -> String {
    if a.is_null() {
        return "none".into();
    }
    let grain = match text(&a["strategy"]).as_str() {
        "group" => format!("group {}", text(&a["group_size"])),
        other => other.to_string(),
    };
    let sym = if a["symmetric"].as_bool().unwrap_or(true) { "sym" } else { "asym" };
    let dynamic = if a["dynamic"].as_bool().unwrap_or(false) { "dynamic" } else { "static" };
    format!("{}{} {grain} {sym} {dynamic}", text(&a["type"]), text(&a["num_bits"]))
}

/// `quantization_config` as readable lines: method and format, bits, group, symmetry, what is
/// quantized besides weights, and the ignore list.
fn quantization_facts(q: &serde_json::Value) -> Vec<(String, String)> {
    let method = text(&q["quant_method"]);
    let mut out = vec![("quantization".to_string(), method.clone())];
    let mut add = |k: &str, v: String| out.push((format!("  {k}"), v));
    match method.as_str() {
        "compressed-tensors" => {
            add("format", text(&q["format"]));
            if let Some(groups) = q["config_groups"].as_object() {
                for (name, g) in groups {
                    add(&format!("{name} targets"), text(&g["targets"]));
                    add(&format!("{name} weights"), ct_args(&g["weights"]));
                    add(&format!("{name} input_activations"), ct_args(&g["input_activations"]));
                }
            }
            add("kv_cache_scheme", ct_args(&q["kv_cache_scheme"]));
            add("ignore", text(&q["ignore"]));
        }
        "gptq" => {
            add("format", text(&q["checkpoint_format"]));
            add("bits", text(&q["bits"]));
            let g = q["group_size"].as_i64().map_or_else(
                || text(&q["group_size"]),
                |g| match g {
                    -1 => "per-channel".into(),
                    g => g.to_string(),
                },
            );
            add("group", g);
            add("sym", text(&q["sym"]));
            add("desc_act", text(&q["desc_act"]));
        }
        "qtool" => {
            for k in ["format", "scheme", "weights", "input_activations", "kv_cache", "method", "ignore"] {
                add(k, text(&q[k]));
            }
        }
        _ => add("config", q.to_string()),
    }
    out
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "format: {}", self.kind)?;
        if let Some(c) = &self.config {
            writeln!(
                f,
                "architecture: {} ({}), layers {}, hidden {}, heads {} / kv {} (head_dim {}), ffn {}, vocab {}, context {}, rope theta {}, rms eps {}, tied embeddings {}, qkv bias {}",
                c.arch.hf_name(),
                c.arch.model_type(),
                c.num_hidden_layers,
                c.hidden_size,
                c.num_attention_heads,
                c.num_key_value_heads,
                c.head_dim,
                c.intermediate_size,
                c.vocab_size,
                c.max_position_embeddings,
                c.rope_theta,
                c.rms_norm_eps,
                c.tie_word_embeddings,
                c.attention_bias
            )?;
        }
        for (k, v) in &self.facts {
            writeln!(f, "  {k}: {v}")?;
        }
        writeln!(f, "\n{:<48} {:>18} {:>8} {:>12} {:>7}", "tensor", "shape", "type", "bytes", "bits/w")?;
        let mut by_type: std::collections::BTreeMap<&str, (u64, u64, usize)> = Default::default();
        for t in &self.tensors {
            let n: u64 = t.shape.iter().product::<usize>() as u64;
            let shape = format!("{:?}", t.shape);
            writeln!(
                f,
                "{:<48} {:>18} {:>8} {:>12} {:>7.3}",
                t.name,
                shape,
                t.dtype,
                t.bytes,
                t.bytes as f64 * 8.0 / n.max(1) as f64
            )?;
            let e = by_type.entry(&t.dtype).or_default();
            e.0 += n;
            e.1 += t.bytes;
            e.2 += 1;
        }
        writeln!(f)?;
        for (ty, (n, b, c)) in &by_type {
            writeln!(
                f,
                "{ty:>8}: {c:>4} tensors, {:>12} params, {:>12} bytes, {:.3} bits/weight",
                n,
                b,
                *b as f64 * 8.0 / *n as f64
            )?;
        }
        let (n, b) = (self.n_params(), self.n_bytes());
        writeln!(
            f,
            "   total: {} tensors, {} params ({:.1}M), {} bytes ({:.1} MB), {:.3} bits/weight",
            self.tensors.len(),
            n,
            n as f64 / 1e6,
            b,
            b as f64 / 1e6,
            b as f64 * 8.0 / n.max(1) as f64
        )
    }
}

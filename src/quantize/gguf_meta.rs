//! GGUF metadata for a Hugging Face source folder: hyper-parameters from `config.json` under
//! llama.cpp's `{arch}.*` keys, and the BPE tokenizer from `tokenizer.json` /
//! `tokenizer_config.json` under `tokenizer.ggml.*` (tokens padded to `vocab_size`, token types
//! normal / control / user-defined / unused, merges, the pre-tokenizer family, special ids,
//! `add_bos_token`) plus `tokenizer.chat_template`.

use super::source::Source;
use anyhow::{bail, Context};
use quant::gguf::{MetaValue, MetaValueType};
use serde_json::Value;
use std::path::Path;

/// llama.cpp token types.
const NORMAL: i32 = 1;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const UNUSED: i32 = 5;

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}

fn strings(v: Vec<String>) -> MetaValue {
    MetaValue::Array(MetaValueType::String, v.into_iter().map(MetaValue::String).collect())
}

/// The `tokenizer.ggml.pre` family of a `tokenizer.json` pre-tokenizer, by its split rules.
fn pre_family(pre: &Value) -> anyhow::Result<&'static str> {
    let s = pre.to_string();
    Ok(if s.contains(r"\\p{N}{1,3}") {
        "llama-bpe"
    } else if s.contains(r"[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|") {
        "qwen2"
    } else if s.contains("\"Digits\"") && s.contains("ByteLevel") {
        "smollm"
    } else if s.contains("ByteLevel") {
        "gpt-2"
    } else {
        bail!("tokenizer.json: pre-tokenizer {s:.200} is none qtool can name for llama.cpp (gpt-2, smollm, qwen2, llama-bpe)")
    })
}

/// The `tokenizer.ggml.*` and `tokenizer.chat_template` keys of an HF folder.
fn tokenizer_meta(dir: &Path, vocab_size: usize, out: &mut Vec<(String, MetaValue)>) -> anyhow::Result<()> {
    let tj = read_json(&dir.join("tokenizer.json")).context("a GGUF output needs the source's tokenizer.json")?;
    let model = &tj["model"];
    if model["type"] != "BPE" {
        bail!("tokenizer.json: model type {}, qtool writes GGUF tokenizers for BPE only", model["type"]);
    }
    let vocab = model["vocab"].as_object().context("tokenizer.json: model.vocab is not an object")?;
    let added = tj["added_tokens"].as_array().cloned().unwrap_or_default();
    let max_id = vocab
        .values()
        .filter_map(|v| v.as_u64())
        .chain(added.iter().filter_map(|a| a["id"].as_u64()))
        .max()
        .unwrap_or(0) as usize;
    let n = vocab_size.max(max_id + 1);
    let mut tokens: Vec<Option<String>> = vec![None; n];
    let mut types = vec![NORMAL; n];
    for (t, id) in vocab {
        tokens[id.as_u64().context("tokenizer.json: a vocab id is not an integer")? as usize] = Some(t.clone());
    }
    for a in &added {
        let id = a["id"].as_u64().context("tokenizer.json: an added token has no id")? as usize;
        tokens[id] = Some(a["content"].as_str().unwrap_or_default().to_string());
        types[id] = if a["special"].as_bool().unwrap_or(false) { CONTROL } else { USER_DEFINED };
    }
    let tokens: Vec<String> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.unwrap_or_else(|| {
                types[i] = UNUSED;
                format!("[PAD{i}]")
            })
        })
        .collect();
    let merges: Vec<String> = model["merges"]
        .as_array()
        .context("tokenizer.json: model.merges is not a list")?
        .iter()
        .map(|m| match m {
            Value::String(s) => Ok(s.clone()),
            Value::Array(p) if p.len() == 2 => {
                Ok(format!("{} {}", p[0].as_str().unwrap_or(""), p[1].as_str().unwrap_or("")))
            }
            other => bail!("tokenizer.json: merge {other} is neither \"a b\" nor [a, b]"),
        })
        .collect::<anyhow::Result<_>>()?;
    let tc = read_json(&dir.join("tokenizer_config.json")).unwrap_or(Value::Null);
    let id_of = |key: &str| -> Option<u32> {
        let content = match &tc[key] {
            Value::String(s) => s.clone(),
            Value::Object(o) => o.get("content")?.as_str()?.to_string(),
            _ => return None,
        };
        tokens.iter().position(|t| *t == content).map(|i| i as u32)
    };
    out.push(("tokenizer.ggml.model".into(), MetaValue::String("gpt2".into())));
    out.push(("tokenizer.ggml.pre".into(), MetaValue::String(pre_family(&tj["pre_tokenizer"])?.into())));
    out.push(("tokenizer.ggml.tokens".into(), strings(tokens.clone())));
    out.push((
        "tokenizer.ggml.token_type".into(),
        MetaValue::Array(MetaValueType::I32, types.into_iter().map(MetaValue::I32).collect()),
    ));
    out.push(("tokenizer.ggml.merges".into(), strings(merges)));
    for (key, gkey) in [
        ("bos_token", "bos_token_id"),
        ("eos_token", "eos_token_id"),
        ("unk_token", "unknown_token_id"),
        ("pad_token", "padding_token_id"),
    ] {
        if let Some(id) = id_of(key) {
            out.push((format!("tokenizer.ggml.{gkey}"), MetaValue::U32(id)));
        }
    }
    let add_bos = tc["add_bos_token"].as_bool().unwrap_or(false);
    out.push(("tokenizer.ggml.add_bos_token".into(), MetaValue::Bool(add_bos)));
    out.push(("tokenizer.ggml.add_space_prefix".into(), MetaValue::Bool(false)));
    let template = match &tc["chat_template"] {
        Value::String(s) => Some(s.clone()),
        _ => std::fs::read_to_string(dir.join("chat_template.jinja")).ok(),
    };
    if let Some(t) = template {
        out.push(("tokenizer.chat_template".into(), MetaValue::String(t)));
    }
    Ok(())
}

/// All metadata for a GGUF written from the HF folder `src`.
pub fn build(src: &Source, file_type: u32) -> anyhow::Result<Vec<(String, MetaValue)>> {
    let c = &src.config;
    if let Some(r) = src.config_json.get("rope_scaling").filter(|r| !r.is_null()) {
        bail!("config.json: rope_scaling {r} has no GGUF form qtool writes");
    }
    let a = c.arch.model_type();
    let name = src.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let u = |x: usize| MetaValue::U32(x as u32);
    let mut m: Vec<(String, MetaValue)> = vec![
        ("general.architecture".into(), MetaValue::String(a.into())),
        ("general.type".into(), MetaValue::String("model".into())),
        ("general.name".into(), MetaValue::String(name)),
        ("general.file_type".into(), MetaValue::U32(file_type)),
        ("general.quantization_version".into(), MetaValue::U32(2)),
        (format!("{a}.context_length"), u(c.max_position_embeddings)),
        (format!("{a}.embedding_length"), u(c.hidden_size)),
        (format!("{a}.block_count"), u(c.num_hidden_layers)),
        (format!("{a}.feed_forward_length"), u(c.intermediate_size)),
        (format!("{a}.attention.head_count"), u(c.num_attention_heads)),
        (format!("{a}.attention.head_count_kv"), u(c.num_key_value_heads)),
        (format!("{a}.rope.freq_base"), MetaValue::F32(c.rope_theta as f32)),
        (format!("{a}.attention.layer_norm_rms_epsilon"), MetaValue::F32(c.rms_norm_eps as f32)),
        (format!("{a}.rope.dimension_count"), u(c.head_dim)),
        (format!("{a}.vocab_size"), u(c.vocab_size)),
    ];
    if c.head_dim * c.num_attention_heads != c.hidden_size {
        m.push((format!("{a}.attention.key_length"), u(c.head_dim)));
        m.push((format!("{a}.attention.value_length"), u(c.head_dim)));
    }
    tokenizer_meta(&src.path, c.vocab_size, &mut m)?;
    Ok(m)
}

//! HF `tokenizer_config.json`: reading the special tokens, BOS flag and chat template of a
//! model folder, and writing one for a tokenizer rebuilt from GGUF (keys sorted, as
//! `save_pretrained` writes them).

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{ModelError, Result};

/// `model_max_length` values at or above this are HF's "no limit" placeholder (`int(1e30)`).
const NO_LIMIT: f64 = 1e18;

/// The named special tokens of a tokenizer, as the chat template sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `bos_token`.
    pub bos: Option<String>,
    /// `eos_token`.
    pub eos: Option<String>,
    /// `pad_token`.
    pub pad: Option<String>,
    /// `unk_token`.
    pub unk: Option<String>,
    /// `additional_special_tokens`.
    pub additional: Vec<String>,
}

/// What qtool uses from a `tokenizer_config.json` (every field optional).
#[derive(Debug, Clone, Default)]
pub struct HfTokenizerConfig {
    /// Named special tokens.
    pub specials: SpecialTokens,
    /// `add_bos_token`.
    pub add_bos_token: Option<bool>,
    /// `chat_template` (the `default` entry when it is a list of named templates).
    pub chat_template: Option<String>,
    /// `model_max_length`, unless it is HF's "no limit" placeholder.
    pub model_max_length: Option<u64>,
    /// `clean_up_tokenization_spaces`.
    pub clean_up_tokenization_spaces: Option<bool>,
    /// `tokenizer_class`.
    pub tokenizer_class: Option<String>,
}

/// A special-token entry: a string, an `AddedToken` dict with `content`, or null.
fn token_content(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// A `chat_template` entry: a string, or a list of `{name, template}` (the `default` one, else
/// the first).
fn template_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let named = |n: &str| items.iter().find(|t| t.get("name").and_then(Value::as_str) == Some(n));
            let t = named("default").or_else(|| items.first())?;
            t.get("template")?.as_str().map(str::to_owned)
        }
        _ => None,
    }
}

/// Reads a JSON file.
pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ModelError::TokenizerFile { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text)
        .map_err(|e| ModelError::TokenizerConfig { path: path.to_path_buf(), what: format!("not valid JSON: {e}") })
}

impl HfTokenizerConfig {
    /// Parses a `tokenizer_config.json` document.
    pub fn from_json(v: &Value) -> Self {
        let additional = v
            .get("additional_special_tokens")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|t| token_content(Some(t))).collect())
            .unwrap_or_default();
        HfTokenizerConfig {
            specials: SpecialTokens {
                bos: token_content(v.get("bos_token")),
                eos: token_content(v.get("eos_token")),
                pad: token_content(v.get("pad_token")),
                unk: token_content(v.get("unk_token")),
                additional,
            },
            add_bos_token: v.get("add_bos_token").and_then(Value::as_bool),
            chat_template: template_of(v.get("chat_template")),
            model_max_length: v
                .get("model_max_length")
                .and_then(Value::as_f64)
                .filter(|n| (0.0..NO_LIMIT).contains(n))
                .map(|n| n as u64),
            clean_up_tokenization_spaces: v.get("clean_up_tokenization_spaces").and_then(Value::as_bool),
            tokenizer_class: v.get("tokenizer_class").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// Reads `dir/tokenizer_config.json` (defaults when absent); `dir/chat_template.jinja`, when
    /// present, replaces the config's template, as transformers does.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer_config.json");
        let mut cfg = if path.exists() { Self::from_json(&read_json(&path)?) } else { Self::default() };
        let jinja = dir.join("chat_template.jinja");
        if jinja.exists() {
            let text = std::fs::read_to_string(&jinja)
                .map_err(|source| ModelError::TokenizerFile { path: jinja.clone(), source })?;
            cfg.chat_template = Some(text);
        }
        Ok(cfg)
    }
}

/// `eos_token_id` of `dir/generation_config.json` (an id or a list of ids), if any.
pub(crate) fn generation_eos_ids(dir: &Path) -> Result<Vec<u32>> {
    let path = dir.join("generation_config.json");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let v = read_json(&path)?;
    let ids = match v.get("eos_token_id") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
        Some(x) => x.as_u64().into_iter().collect(),
        None => Vec::new(),
    };
    Ok(ids.into_iter().map(|i| i as u32).collect())
}

/// One `added_tokens_decoder` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedTokenEntry {
    /// Token id.
    pub id: u32,
    /// Token text.
    pub content: String,
    /// Whether it is a special token.
    pub special: bool,
    /// `normalized` flag.
    pub normalized: bool,
    /// `lstrip` flag.
    pub lstrip: bool,
    /// `rstrip` flag.
    pub rstrip: bool,
    /// `single_word` flag.
    pub single_word: bool,
}

/// What goes into a written `tokenizer_config.json`.
pub(crate) struct ConfigParts<'a> {
    pub specials: &'a SpecialTokens,
    pub added: &'a [AddedTokenEntry],
    pub add_bos_token: bool,
    pub chat_template: Option<&'a str>,
    pub model_max_length: Option<u64>,
    pub clean_up_tokenization_spaces: bool,
    pub tokenizer_class: &'a str,
}

/// Builds a `tokenizer_config.json` document.
pub(crate) fn build_config(p: &ConfigParts) -> Value {
    let mut decoder = Map::new();
    for t in p.added {
        decoder.insert(
            t.id.to_string(),
            json!({
                "content": t.content,
                "lstrip": t.lstrip,
                "normalized": t.normalized,
                "rstrip": t.rstrip,
                "single_word": t.single_word,
                "special": t.special,
            }),
        );
    }
    let mut cfg = Map::new();
    cfg.insert("add_bos_token".into(), json!(p.add_bos_token));
    cfg.insert("add_prefix_space".into(), json!(false));
    cfg.insert("added_tokens_decoder".into(), Value::Object(decoder));
    if !p.specials.additional.is_empty() {
        cfg.insert("additional_special_tokens".into(), json!(p.specials.additional));
    }
    for (key, tok) in [
        ("bos_token", &p.specials.bos),
        ("eos_token", &p.specials.eos),
        ("pad_token", &p.specials.pad),
        ("unk_token", &p.specials.unk),
    ] {
        cfg.insert(key.into(), json!(tok));
    }
    if let Some(t) = p.chat_template {
        cfg.insert("chat_template".into(), json!(t));
    }
    cfg.insert("clean_up_tokenization_spaces".into(), json!(p.clean_up_tokenization_spaces));
    if let Some(n) = p.model_max_length {
        cfg.insert("model_max_length".into(), json!(n));
    }
    cfg.insert("split_special_tokens".into(), json!(false));
    cfg.insert("tokenizer_class".into(), json!(p.tokenizer_class));
    Value::Object(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_string_dict_and_null_tokens_and_named_templates() {
        let v = json!({
            "bos_token": null,
            "eos_token": { "content": "<|im_end|>", "special": true },
            "pad_token": "<|endoftext|>",
            "chat_template": [
                { "name": "tool_use", "template": "T" },
                { "name": "default", "template": "D" }
            ],
            "model_max_length": 1e30,
            "add_bos_token": false
        });
        let c = HfTokenizerConfig::from_json(&v);
        assert_eq!(c.specials.bos, None);
        assert_eq!(c.specials.eos.as_deref(), Some("<|im_end|>"));
        assert_eq!(c.specials.pad.as_deref(), Some("<|endoftext|>"));
        assert_eq!(c.chat_template.as_deref(), Some("D"));
        assert_eq!(c.model_max_length, None);
        assert_eq!(c.add_bos_token, Some(false));
    }
}

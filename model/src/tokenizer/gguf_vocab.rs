//! Rebuilding an HF `tokenizer.json` from GGUF `tokenizer.ggml.*` metadata: byte-level BPE
//! (`tokenizer.ggml.model = gpt2`) with the pre-tokenizer family named by `tokenizer.ggml.pre`.
//! Control tokens (type 3) become special added tokens and user-defined ones (type 4) plain
//! added tokens, with the flags the published tokenizer files use (not normalized, no strip).

use quant::gguf::{GgufFile, MetaValue};
use serde_json::{json, Map, Value};

use super::pre::PreTokenizer;
use crate::error::{ModelError, Result};

/// GGUF token type of a control token (`<|im_end|>`).
pub const TOKEN_TYPE_CONTROL: i32 = 3;
/// GGUF token type of a user-defined added token (`<tool_call>`).
pub const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// `tokenizer.ggml.model` values qtool can rebuild.
pub const SUPPORTED_MODELS: [&str; 1] = ["gpt2"];

/// The tokenizer part of a GGUF file's metadata.
#[derive(Debug, Clone)]
pub struct GgufVocab {
    /// Pre-tokenizer family (`tokenizer.ggml.pre`).
    pub pre: PreTokenizer,
    /// Token texts by id, byte-level encoded (`tokenizer.ggml.tokens`).
    pub tokens: Vec<String>,
    /// Token types by id (`tokenizer.ggml.token_type`; all 1 when absent).
    pub token_types: Vec<i32>,
    /// Merges in rank order, as `"left right"` (`tokenizer.ggml.merges`).
    pub merges: Vec<String>,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos_id: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos_id: Option<u32>,
    /// `tokenizer.ggml.padding_token_id`.
    pub pad_id: Option<u32>,
    /// `tokenizer.ggml.unknown_token_id`.
    pub unk_id: Option<u32>,
    /// End-of-turn and end-of-message ids (`tokenizer.ggml.eot_token_id`, `eom_token_id`).
    pub end_of_turn_ids: Vec<u32>,
    /// `tokenizer.ggml.add_bos_token`, else the family's default.
    pub add_bos: bool,
    /// `tokenizer.ggml.add_eos_token`, else false.
    pub add_eos: bool,
    /// `tokenizer.chat_template`.
    pub chat_template: Option<String>,
    /// `<arch>.context_length`.
    pub context_length: Option<u64>,
}

fn meta_err(key: &str, what: impl Into<String>) -> ModelError {
    ModelError::TokenizerMetadata { key: key.into(), what: what.into() }
}

fn string_array(f: &GgufFile, key: &str) -> Result<Vec<String>> {
    let arr = f.get_array(key)?;
    arr.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| meta_err(key, format!("element {i} is {}, expected a string", v.summary())))
        })
        .collect()
}

fn opt_id(f: &GgufFile, key: &str, n_tokens: usize) -> Result<Option<u32>> {
    let Some(v) = f.get(key) else { return Ok(None) };
    match v.as_u64() {
        Some(id) if (id as usize) < n_tokens => Ok(Some(id as u32)),
        // llama.cpp writes -1 (as u32::MAX) for "no such token" in some files.
        Some(id) if id == u32::MAX as u64 => Ok(None),
        _ => Err(meta_err(key, format!("is {}, expected a token id below {n_tokens}", v.summary()))),
    }
}

fn opt_bool(f: &GgufFile, key: &str) -> Result<Option<bool>> {
    match f.get(key) {
        None => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or_else(|| meta_err(key, format!("is {}, expected a bool", v.summary()))),
    }
}

impl GgufVocab {
    /// Reads the tokenizer metadata of `f`.
    pub fn from_gguf(f: &GgufFile) -> Result<Self> {
        let model = f.get_str("tokenizer.ggml.model")?;
        if !SUPPORTED_MODELS.contains(&model) {
            return Err(ModelError::UnsupportedTokenizer {
                key: "tokenizer.ggml.model".into(),
                value: model.into(),
                supported: SUPPORTED_MODELS.join(", "),
            });
        }
        // llama.cpp treats a missing pre-tokenizer name as `default`.
        let pre = match f.get("tokenizer.ggml.pre") {
            None => PreTokenizer::Default,
            Some(v) => PreTokenizer::from_gguf_name(
                v.as_str()
                    .ok_or_else(|| meta_err("tokenizer.ggml.pre", format!("is {}, expected a string", v.summary())))?,
            )?,
        };
        let tokens = string_array(f, "tokenizer.ggml.tokens")?;
        let n = tokens.len();
        let token_types = match f.get("tokenizer.ggml.token_type") {
            None => vec![1; n],
            Some(v) => {
                let key = "tokenizer.ggml.token_type";
                let arr = v.as_array().ok_or_else(|| meta_err(key, "expected an array"))?;
                if arr.len() != n {
                    return Err(meta_err(key, format!("has {} entries for {n} tokens", arr.len())));
                }
                arr.iter()
                    .map(|t| t.as_i64().map(|t| t as i32).ok_or_else(|| meta_err(key, "expected integers")))
                    .collect::<Result<_>>()?
            }
        };
        let merges = string_array(f, "tokenizer.ggml.merges")?;
        let mut end_of_turn_ids = Vec::new();
        for key in ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            end_of_turn_ids.extend(opt_id(f, key, n)?);
        }
        let context_length = f
            .get("general.architecture")
            .and_then(MetaValue::as_str)
            .and_then(|arch| f.get(&format!("{arch}.context_length")))
            .and_then(MetaValue::as_u64);
        Ok(GgufVocab {
            pre,
            bos_id: opt_id(f, "tokenizer.ggml.bos_token_id", n)?,
            eos_id: opt_id(f, "tokenizer.ggml.eos_token_id", n)?,
            pad_id: opt_id(f, "tokenizer.ggml.padding_token_id", n)?,
            unk_id: opt_id(f, "tokenizer.ggml.unknown_token_id", n)?,
            end_of_turn_ids,
            add_bos: opt_bool(f, "tokenizer.ggml.add_bos_token")?.unwrap_or(pre.default_add_bos()),
            add_eos: opt_bool(f, "tokenizer.ggml.add_eos_token")?.unwrap_or(false),
            chat_template: f.get("tokenizer.chat_template").and_then(MetaValue::as_str).map(str::to_owned),
            context_length,
            tokens,
            token_types,
            merges,
        })
    }

    /// The text of token `id`, if it exists.
    pub fn token(&self, id: Option<u32>) -> Option<&str> {
        id.and_then(|i| self.tokens.get(i as usize)).map(String::as_str)
    }

    fn added_tokens(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for (id, (tok, &ty)) in self.tokens.iter().zip(&self.token_types).enumerate() {
            if ty == TOKEN_TYPE_CONTROL || ty == TOKEN_TYPE_USER_DEFINED {
                out.push(json!({
                    "id": id,
                    "content": tok,
                    "single_word": false,
                    "lstrip": false,
                    "rstrip": false,
                    "normalized": false,
                    "special": ty == TOKEN_TYPE_CONTROL,
                }));
            }
        }
        out
    }

    fn bpe_model(&self) -> Result<Value> {
        let mut vocab = Map::with_capacity(self.tokens.len());
        for (id, tok) in self.tokens.iter().enumerate() {
            // A repeated text keeps its first id, as a dictionary built in id order would.
            vocab.entry(tok.clone()).or_insert_with(|| json!(id));
        }
        let merges = self
            .merges
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (l, r) = m.split_once(' ').filter(|(l, r)| !l.is_empty() && !r.is_empty()).ok_or_else(|| {
                    meta_err("tokenizer.ggml.merges", format!("entry {i} {m:?} is not \"left right\""))
                })?;
                Ok(json!([l, r]))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(json!({
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": self.pre.ignore_merges(),
            "vocab": vocab,
            "merges": merges,
        }))
    }

    fn post_processor(&self) -> Value {
        let byte_level = self.pre.post_processor();
        let bos = self.token(self.bos_id).filter(|_| self.add_bos);
        let eos = self.token(self.eos_id).filter(|_| self.add_eos);
        if bos.is_none() && eos.is_none() {
            return byte_level;
        }
        let special = |t: &str, type_id: u32| json!({ "SpecialToken": { "id": t, "type_id": type_id } });
        let seq = |s: &str, type_id: u32| json!({ "Sequence": { "id": s, "type_id": type_id } });
        let mut single = Vec::new();
        let mut pair = Vec::new();
        let mut specials = Map::new();
        for (type_id, s) in [(0, "A"), (1, "B")] {
            let part = if type_id == 0 { &mut single } else { &mut pair };
            if let Some(b) = bos {
                part.push(special(b, type_id));
            }
            part.push(seq(s, type_id));
            if let Some(e) = eos {
                part.push(special(e, type_id));
            }
        }
        let pair: Vec<Value> = single.iter().cloned().chain(pair).collect();
        for (t, id) in [(bos, self.bos_id), (eos, self.eos_id)] {
            if let (Some(t), Some(id)) = (t, id) {
                specials.insert(t.into(), json!({ "id": t, "ids": [id], "tokens": [t] }));
            }
        }
        json!({
            "type": "Sequence",
            "processors": [
                byte_level,
                { "type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials },
            ],
        })
    }

    /// The HF `tokenizer.json` document for this vocabulary.
    pub fn tokenizer_json(&self) -> Result<Value> {
        Ok(json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": self.added_tokens(),
            "normalizer": self.pre.normalizer(),
            "pre_tokenizer": self.pre.pre_tokenizer(),
            "post_processor": self.post_processor(),
            "decoder": self.pre.decoder(),
            "model": self.bpe_model()?,
        }))
    }
}

//! The tokenizer of a model: HF `tokenizers` underneath, built either from a model folder
//! (`tokenizer.json` + `tokenizer_config.json`) or from GGUF metadata, plus the chat template,
//! end-of-generation ids, streaming decode and the files `qtool convert` writes.

pub mod chat_template;
pub mod gguf_vocab;
pub mod hf_config;
pub mod pre;
mod pyjson;
pub mod stream;
mod strftime;

use std::path::Path;
use std::str::FromStr;

use quant::gguf::GgufFile;
use serde_json::Value;

pub use chat_template::{ChatMessage, ChatTemplate};
pub use gguf_vocab::GgufVocab;
pub use hf_config::{AddedTokenEntry, HfTokenizerConfig, SpecialTokens};
pub use pre::PreTokenizer;
pub use stream::StreamDecoder;

use crate::error::{ModelError, Result};

/// Texts of tokens that end a turn or a document in the chat models qtool runs; any of them
/// that is a special token of the vocabulary stops generation (as llama.cpp's end-of-generation
/// set and the models' `generation_config.json` do).
pub const END_OF_GENERATION: [&str; 8] = [
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end_of_text|>",
    "<|end|>",
    "<end_of_turn>",
    "<|return|>",
];

fn tk_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

/// A model's tokenizer with its chat template and special-token conventions.
#[derive(Debug)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    specials: SpecialTokens,
    chat_template: Option<ChatTemplate>,
    eos_ids: Vec<u32>,
    add_bos: bool,
    model_max_length: Option<u64>,
    clean_up_tokenization_spaces: bool,
    tokenizer_class: String,
}

/// Everything beyond `tokenizer.json` that a constructor gathered.
struct Extras {
    specials: SpecialTokens,
    chat_template: Option<String>,
    extra_eos: Vec<u32>,
    model_max_length: Option<u64>,
    clean_up_tokenization_spaces: bool,
    tokenizer_class: String,
}

impl Tokenizer {
    fn assemble(inner: tokenizers::Tokenizer, x: Extras) -> Result<Self> {
        let chat_template = x.chat_template.map(|t| ChatTemplate::new(t, &x.specials)).transpose()?;
        let mut eos_ids = x.extra_eos;
        eos_ids.extend(x.specials.eos.as_deref().and_then(|t| inner.token_to_id(t)));
        for (id, tok) in inner.get_added_tokens_decoder() {
            if tok.special && END_OF_GENERATION.contains(&tok.content.as_str()) {
                eos_ids.push(id);
            }
        }
        eos_ids.sort_unstable();
        eos_ids.dedup();
        let bos_id = x.specials.bos.as_deref().and_then(|t| inner.token_to_id(t));
        let probe = inner.encode("", true).map_err(tk_err)?;
        let add_bos = bos_id.is_some() && probe.get_ids().first() == bos_id.as_ref();
        Ok(Tokenizer {
            inner,
            specials: x.specials,
            chat_template,
            eos_ids,
            add_bos,
            model_max_length: x.model_max_length,
            clean_up_tokenization_spaces: x.clean_up_tokenization_spaces,
            tokenizer_class: x.tokenizer_class,
        })
    }

    /// Rebuilds the tokenizer from a GGUF file's `tokenizer.ggml.*` metadata; the chat template
    /// is `tokenizer.chat_template` and `model_max_length` the architecture's context length.
    pub fn from_gguf(f: &GgufFile) -> Result<Self> {
        Self::from_gguf_vocab(&GgufVocab::from_gguf(f)?)
    }

    /// Builds the tokenizer from already-read GGUF tokenizer metadata.
    pub fn from_gguf_vocab(v: &GgufVocab) -> Result<Self> {
        let json = v.tokenizer_json()?;
        let inner = tokenizers::Tokenizer::from_str(&json.to_string()).map_err(tk_err)?;
        let tok = |id| v.token(id).map(str::to_owned);
        let extras = Extras {
            specials: SpecialTokens {
                bos: tok(v.bos_id),
                eos: tok(v.eos_id),
                pad: tok(v.pad_id),
                unk: tok(v.unk_id),
                additional: Vec::new(),
            },
            chat_template: v.chat_template.clone(),
            extra_eos: v.end_of_turn_ids.clone(),
            model_max_length: v.context_length,
            clean_up_tokenization_spaces: v.pre.clean_up_tokenization_spaces(),
            tokenizer_class: v.pre.tokenizer_class().to_owned(),
        };
        Self::assemble(inner, extras)
    }

    /// Loads `dir/tokenizer.json` with `dir/tokenizer_config.json` (special tokens, chat
    /// template, `add_bos_token`), `dir/chat_template.jinja` and `dir/generation_config.json`
    /// (extra EOS ids) when present. With `add_bos_token: true` and a `tokenizer.json` that
    /// does not add BOS itself, BOS is added by a template post-processor, as transformers'
    /// Llama tokenizers do.
    pub fn from_hf_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let path = dir.join("tokenizer.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ModelError::TokenizerFile { path: path.clone(), source })?;
        let mut inner = tokenizers::Tokenizer::from_str(&text).map_err(|e| ModelError::TokenizerConfig {
            path: path.clone(),
            what: format!("not a tokenizer.json: {e}"),
        })?;
        let cfg = HfTokenizerConfig::from_dir(dir)?;
        if cfg.add_bos_token == Some(true) {
            if let Some(bos) = cfg.specials.bos.as_deref() {
                inner = with_bos_template(inner, bos)?;
            }
        }
        let extras = Extras {
            specials: cfg.specials,
            chat_template: cfg.chat_template,
            extra_eos: hf_config::generation_eos_ids(dir)?,
            model_max_length: cfg.model_max_length,
            clean_up_tokenization_spaces: cfg.clean_up_tokenization_spaces.unwrap_or(false),
            tokenizer_class: cfg.tokenizer_class.unwrap_or_else(|| "PreTrainedTokenizerFast".to_owned()),
        };
        Self::assemble(inner, extras)
    }

    /// Sets the `model_max_length` written to `tokenizer_config.json`.
    pub fn set_model_max_length(&mut self, n: Option<u64>) {
        self.model_max_length = n;
    }

    /// Token ids of `text`; with `add_special`, the BOS/EOS the tokenizer is configured to add.
    /// Special-token texts inside `text` (e.g. `<|im_start|>`) always map to their ids.
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, add_special).map_err(tk_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// The text of `ids`; with `skip_special`, special tokens are left out.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner.decode(ids, skip_special).map_err(tk_err)
    }

    /// A streaming decoder over this tokenizer.
    pub fn stream_decoder(&self, skip_special: bool) -> StreamDecoder<'_> {
        StreamDecoder::new(self, skip_special)
    }

    /// Ids that end generation: EOS, end-of-turn tokens, `generation_config.json` EOS ids.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// Whether `id` ends generation.
    pub fn is_eos(&self, id: u32) -> bool {
        self.eos_ids.contains(&id)
    }

    /// The BOS id, if the tokenizer has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.token_to_id(self.specials.bos.as_deref()?)
    }

    /// Whether `encode(.., true)` prepends BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// The named special tokens.
    pub fn special_tokens(&self) -> &SpecialTokens {
        &self.specials
    }

    /// The chat template, if the model has one.
    pub fn chat_template(&self) -> Option<&ChatTemplate> {
        self.chat_template.as_ref()
    }

    /// The id of a token text (vocabulary or added token).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The text of a token id.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The underlying HF tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// `tokenizer.json` text (pretty-printed, as `save_pretrained` writes it).
    pub fn to_json(&self) -> Result<String> {
        self.inner.to_string(true).map_err(tk_err)
    }

    /// Added tokens by id, with their flags.
    pub fn added_tokens(&self) -> Vec<AddedTokenEntry> {
        let mut out: Vec<AddedTokenEntry> = self
            .inner
            .get_added_tokens_decoder()
            .into_iter()
            .map(|(id, t)| AddedTokenEntry {
                id,
                content: t.content,
                special: t.special,
                normalized: t.normalized,
                lstrip: t.lstrip,
                rstrip: t.rstrip,
                single_word: t.single_word,
            })
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// An HF `tokenizer_config.json` (pretty-printed, keys sorted) describing this tokenizer:
    /// chat template, named special tokens, `added_tokens_decoder`, `add_bos_token` and
    /// `model_max_length` when known.
    pub fn tokenizer_config_json(&self) -> Result<String> {
        let added = self.added_tokens();
        let v = hf_config::build_config(&hf_config::ConfigParts {
            specials: &self.specials,
            added: &added,
            add_bos_token: self.add_bos,
            chat_template: self.chat_template.as_ref().map(ChatTemplate::source),
            model_max_length: self.model_max_length,
            clean_up_tokenization_spaces: self.clean_up_tokenization_spaces,
            tokenizer_class: &self.tokenizer_class,
        });
        serde_json::to_string_pretty(&v).map_err(tk_err)
    }
}

/// Wraps the post-processor of `inner` so that single and pair inputs start with `bos`, unless
/// it already adds it.
fn with_bos_template(inner: tokenizers::Tokenizer, bos: &str) -> Result<tokenizers::Tokenizer> {
    let Some(bos_id) = inner.token_to_id(bos) else {
        return Ok(inner);
    };
    let probe = inner.encode("", true).map_err(tk_err)?;
    if probe.get_ids().first() == Some(&bos_id) {
        return Ok(inner);
    }
    let mut doc: Value = serde_json::from_str(&inner.to_string(false).map_err(tk_err)?).map_err(tk_err)?;
    let special = |t: u32| serde_json::json!({ "SpecialToken": { "id": bos, "type_id": t } });
    let seq = |s: &str, t: u32| serde_json::json!({ "Sequence": { "id": s, "type_id": t } });
    let template = serde_json::json!({
        "type": "TemplateProcessing",
        "single": [special(0), seq("A", 0)],
        "pair": [special(0), seq("A", 0), special(1), seq("B", 1)],
        "special_tokens": { bos: { "id": bos, "ids": [bos_id], "tokens": [bos] } },
    });
    let old = doc["post_processor"].take();
    doc["post_processor"] =
        if old.is_null() { template } else { serde_json::json!({ "type": "Sequence", "processors": [old, template] }) };
    tokenizers::Tokenizer::from_str(&doc.to_string()).map_err(tk_err)
}

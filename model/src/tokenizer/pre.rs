//! Pre-tokenizer families named by GGUF `tokenizer.ggml.pre`, and the HF `tokenizer.json`
//! pieces (normalizer, pre-tokenizer, post-processor, decoder) each family's real tokenizer
//! uses. The split rules are those of llama.cpp's `llama-vocab.cpp` for the same name; the JSON
//! layout follows the model's published `tokenizer.json` (SmolLM2, Qwen2.5, Llama 3, GPT-2).

use serde_json::{json, Value};

use crate::error::{ModelError, Result};

/// GPT-2's split rule (also the middle rule of llama.cpp's `default`).
const GPT2_SPLIT: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

/// The split rule in Qwen2 / Qwen2.5 / Qwen3 `tokenizer.json`: digits one at a time.
const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The split rule in Llama 3 `tokenizer.json`: digits in groups of up to three.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// llama.cpp's fallback rules for `default` (and for files without `tokenizer.ggml.pre`),
/// applied one after the other.
const DEFAULT_SPLITS: [&str; 4] = [r"[\p{P}\$\+<=>\^~\|]+", GPT2_SPLIT, r"\p{N}+", r"[0-9][0-9][0-9]"];

/// A pre-tokenizer family qtool can rebuild from GGUF metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// GPT-2's byte-level regex (`gpt-2`).
    Gpt2,
    /// llama.cpp's fallback chain of four splits (`default`, or no `tokenizer.ggml.pre`).
    Default,
    /// Llama 3 (`llama-bpe`, `llama3`, `llama-v3`): digits in groups of three, merges ignored
    /// for words already in the vocabulary.
    Llama3,
    /// Qwen2 family (`qwen2`): NFC normalization, single digits.
    Qwen2,
    /// StarCoder family incl. SmolLM/SmolLM2 (`smollm`, `starcoder`): single digits, then
    /// GPT-2's byte-level regex.
    SmolLm,
}

/// `tokenizer.ggml.pre` names qtool accepts, with their family.
pub const SUPPORTED_PRE: [(&str, PreTokenizer); 8] = [
    ("gpt-2", PreTokenizer::Gpt2),
    ("default", PreTokenizer::Default),
    ("llama-bpe", PreTokenizer::Llama3),
    ("llama3", PreTokenizer::Llama3),
    ("llama-v3", PreTokenizer::Llama3),
    ("qwen2", PreTokenizer::Qwen2),
    ("smollm", PreTokenizer::SmolLm),
    ("starcoder", PreTokenizer::SmolLm),
];

/// HF's ByteLevel component (pre-tokenizer, post-processor and decoder share the layout).
fn byte_level(add_prefix_space: bool, trim_offsets: bool, use_regex: bool) -> Value {
    json!({
        "type": "ByteLevel",
        "add_prefix_space": add_prefix_space,
        "trim_offsets": trim_offsets,
        "use_regex": use_regex,
    })
}

/// HF's regex Split keeping each match as its own piece.
fn split(regex: &str) -> Value {
    json!({
        "type": "Split",
        "pattern": { "Regex": regex },
        "behavior": "Isolated",
        "invert": false,
    })
}

impl PreTokenizer {
    /// The family for a `tokenizer.ggml.pre` value.
    pub fn from_gguf_name(name: &str) -> Result<Self> {
        SUPPORTED_PRE.iter().find(|(n, _)| *n == name).map(|&(_, p)| p).ok_or_else(|| {
            ModelError::UnsupportedTokenizer {
                key: "tokenizer.ggml.pre".into(),
                value: name.into(),
                supported: SUPPORTED_PRE.map(|(n, _)| n).join(", "),
            }
        })
    }

    /// The canonical `tokenizer.ggml.pre` name of the family.
    pub fn gguf_name(self) -> &'static str {
        match self {
            PreTokenizer::Gpt2 => "gpt-2",
            PreTokenizer::Default => "default",
            PreTokenizer::Llama3 => "llama-bpe",
            PreTokenizer::Qwen2 => "qwen2",
            PreTokenizer::SmolLm => "smollm",
        }
    }

    /// The `normalizer` entry.
    pub(crate) fn normalizer(self) -> Value {
        match self {
            PreTokenizer::Qwen2 => json!({ "type": "NFC" }),
            _ => Value::Null,
        }
    }

    /// The `pre_tokenizer` entry.
    pub(crate) fn pre_tokenizer(self) -> Value {
        match self {
            PreTokenizer::Gpt2 => byte_level(false, true, true),
            PreTokenizer::Default => {
                let mut steps: Vec<Value> = DEFAULT_SPLITS.iter().map(|r| split(r)).collect();
                steps.push(byte_level(false, true, false));
                json!({ "type": "Sequence", "pretokenizers": steps })
            }
            PreTokenizer::Llama3 => json!({
                "type": "Sequence",
                "pretokenizers": [split(LLAMA3_SPLIT), byte_level(false, true, false)],
            }),
            PreTokenizer::Qwen2 => json!({
                "type": "Sequence",
                "pretokenizers": [split(QWEN2_SPLIT), byte_level(false, false, false)],
            }),
            PreTokenizer::SmolLm => json!({
                "type": "Sequence",
                "pretokenizers": [
                    { "type": "Digits", "individual_digits": true },
                    byte_level(false, true, true),
                ],
            }),
        }
    }

    /// The ByteLevel post-processor (BOS/EOS templates are added on top by the caller).
    pub(crate) fn post_processor(self) -> Value {
        match self {
            PreTokenizer::Qwen2 => byte_level(false, false, false),
            _ => byte_level(true, false, true),
        }
    }

    /// The `decoder` entry.
    pub(crate) fn decoder(self) -> Value {
        match self {
            PreTokenizer::Qwen2 => byte_level(false, false, false),
            _ => byte_level(true, true, true),
        }
    }

    /// Whether BPE takes a pre-tokenized word that is itself in the vocabulary as one token
    /// (HF `ignore_merges`, llama.cpp `tokenizer_ignore_merges`).
    pub(crate) fn ignore_merges(self) -> bool {
        self == PreTokenizer::Llama3
    }

    /// Whether a BOS token is prepended when the GGUF has no `tokenizer.ggml.add_bos_token`.
    pub fn default_add_bos(self) -> bool {
        self == PreTokenizer::Llama3
    }

    /// `clean_up_tokenization_spaces` of the family's real `tokenizer_config.json`.
    pub fn clean_up_tokenization_spaces(self) -> bool {
        matches!(self, PreTokenizer::Llama3 | PreTokenizer::Gpt2)
    }

    /// `tokenizer_class` of the family's real `tokenizer_config.json`.
    pub fn tokenizer_class(self) -> &'static str {
        match self {
            PreTokenizer::Qwen2 => "Qwen2Tokenizer",
            PreTokenizer::SmolLm | PreTokenizer::Gpt2 => "GPT2Tokenizer",
            PreTokenizer::Llama3 | PreTokenizer::Default => "PreTrainedTokenizerFast",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_pre_names_key_value_and_choices() {
        let e = PreTokenizer::from_gguf_name("deepseek-llm").unwrap_err().to_string();
        assert!(e.contains("tokenizer.ggml.pre"), "{e}");
        assert!(e.contains("deepseek-llm"), "{e}");
        assert!(e.contains("qwen2") && e.contains("smollm") && e.contains("llama-bpe"), "{e}");
    }

    #[test]
    fn every_name_round_trips_to_its_family() {
        for (name, fam) in SUPPORTED_PRE {
            assert_eq!(PreTokenizer::from_gguf_name(name).unwrap(), fam);
            let canon = PreTokenizer::from_gguf_name(fam.gguf_name()).unwrap();
            assert_eq!(canon, fam);
        }
    }
}

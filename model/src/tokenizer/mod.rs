//! The tokenizer of a model: HF `tokenizers` underneath, built either from a model folder
//! (`tokenizer.json` + `tokenizer_config.json`) or from GGUF metadata, plus the chat template,
//! end-of-generation ids, streaming decode and the files `qtool convert` writes.

pub mod gguf_vocab;
pub mod pre;

pub use gguf_vocab::GgufVocab;
pub use pre::PreTokenizer;

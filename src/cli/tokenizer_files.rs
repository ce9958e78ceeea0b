//! Tokenizer files written by `qtool convert`: `tokenizer.json` rebuilt from the GGUF
//! vocabulary, merges and pre-tokenizer, and `tokenizer_config.json` with the chat template and
//! special tokens.

use model::tokenizer::Tokenizer;
use model::{ModelConfig, ModelError};
use quant::gguf::GgufFile;
use std::path::Path;

fn write(path: &Path, text: &str) -> model::Result<()> {
    std::fs::write(path, text).map_err(|source| ModelError::Io { path: path.to_path_buf(), source })
}

/// Writes tokenizer.json and tokenizer_config.json for `g` into `dir`.
pub fn write_all(g: &GgufFile, cfg: &ModelConfig, dir: &Path) -> model::Result<()> {
    let mut tok = Tokenizer::from_gguf(g)?;
    tok.set_model_max_length(Some(cfg.max_position_embeddings as u64));
    write(&dir.join("tokenizer.json"), &tok.to_json()?)?;
    write(&dir.join("tokenizer_config.json"), &tok.tokenizer_config_json()?)
}

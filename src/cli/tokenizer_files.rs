//! Tokenizer files written by `qtool convert` (TEMPORARY: filled in once the tokenizer module lands).

use model::ModelConfig;
use quant::gguf::GgufFile;
use std::path::Path;

/// Writes tokenizer.json and tokenizer_config.json for `g` into `dir`.
pub fn write(_g: &GgufFile, _cfg: &ModelConfig, _dir: &Path) -> model::Result<()> {
    Ok(())
}

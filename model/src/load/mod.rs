//! Checkpoint loading: a Hugging Face folder (safetensors, single or sharded; dense,
//! compressed-tensors, GPTQ or qtool fake-quant) or a GGUF file, all turned into a
//! `ModelConfig`, dense tensors and quantized Linear weights with HF tensor names, and the
//! run-time quantization the checkpoint asks for.

pub mod compressed_tensors;
pub mod gguf;
pub mod gptq;
pub mod hf;
pub mod linears;
pub mod plan;
pub mod qtool_fake;
pub mod quant_config;
pub mod raw;

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use crate::weights::{DType, WeightMap};
use std::path::Path;

pub use linears::LinearMap;
pub use plan::QuantPlan;

/// What `load_checkpoint` returns.
pub struct Checkpoint {
    /// Architecture.
    pub config: ModelConfig,
    /// Dense tensors by HF name.
    pub weights: WeightMap,
    /// Quantized Linear weights (packed, GGML blocks, or dequantized from a packed file when a
    /// dense dtype was asked for) by HF name (`{prefix}.weight`); a name is in one map only.
    pub linears: LinearMap,
    /// Run-time activation and KV-cache quantization.
    pub quant: QuantPlan,
}

/// Whether `path` names a GGUF file (by extension or magic).
pub fn is_gguf(path: &Path) -> bool {
    if path.is_dir() {
        return false;
    }
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) {
        return true;
    }
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"GGUF"
}

/// Loads a checkpoint (HF folder or GGUF file). `None` keeps every tensor as stored: dense
/// f32/bf16/f16 as is, quantized Linears (GGML blocks, compressed-tensors, GPTQ) packed and run
/// by the dequantize-in-the-loop kernels. `Some(dtype)` makes every weight dense in `dtype`
/// (quantized ones dequantized at load, bit-exact), e.g. the f32 twin of a packed model.
pub fn load_checkpoint(path: &Path, dtype: Option<DType>) -> Result<Checkpoint> {
    if !path.exists() {
        return Err(ModelError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    if is_gguf(path) {
        let g = quant::gguf::GgufFile::open(path)?;
        gguf::load(&g, dtype)
    } else if path.is_dir() {
        hf::load(path, dtype)
    } else {
        Err(ModelError::Config {
            path: path.to_path_buf(),
            field: "(file)".into(),
            what: "expected a GGUF file or a Hugging Face model folder (config.json + *.safetensors)".into(),
        })
    }
}

/// A model and its tokenizer, ready to generate.
pub struct LoadedModel {
    /// The network.
    pub model: crate::transformer::Model,
    /// Its tokenizer and chat template.
    pub tokenizer: crate::tokenizer::Tokenizer,
}

/// Loads a checkpoint and its tokenizer (from GGUF metadata, or `tokenizer.json` +
/// `tokenizer_config.json` in a HF folder) onto `backend`.
pub fn load_model(path: &Path, dtype: Option<DType>, backend: Box<dyn kernels::Backend>) -> Result<LoadedModel> {
    let (ck, tokenizer) = if is_gguf(path) {
        let g = quant::gguf::GgufFile::open(path)?;
        (gguf::load(&g, dtype)?, crate::tokenizer::Tokenizer::from_gguf(&g)?)
    } else {
        let ck = load_checkpoint(path, dtype)?;
        (ck, crate::tokenizer::Tokenizer::from_hf_dir(path)?)
    };
    Ok(LoadedModel { model: crate::transformer::Model::new(ck, backend)?, tokenizer })
}

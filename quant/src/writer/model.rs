//! What a writer is given (named f32 tensors, the `QuantizedWeight` of every quantized Linear,
//! the model's `config.json`) and what it reports back (counts, bytes, bits per weight).

use crate::format::ScaleDtype;
use crate::qweight::QuantizedWeight;
use std::path::PathBuf;

/// A tensor written without quantization (embeddings, norms, biases, an unquantized lm_head).
#[derive(Clone, Debug, PartialEq)]
pub struct DenseTensor {
    /// Hugging Face name, e.g. `model.norm.weight`.
    pub name: String,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

impl DenseTensor {
    /// Elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// One quantized Linear `W[n, k]`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantLinear {
    /// Hugging Face module name without `.weight`, e.g. `model.layers.0.self_attn.q_proj`.
    pub module: String,
    /// The quantized weight (its scales exact in the dtype the writer stores them in).
    pub weight: QuantizedWeight,
}

/// A Hugging Face model to write: `config.json` (without `quantization_config`), the dtype
/// dense tensors and scales are stored in, and the tensors.
#[derive(Clone, Debug)]
pub struct HfModel {
    /// The model's `config.json` object; writers add `quantization_config` and `torch_dtype`.
    pub config: serde_json::Value,
    /// Element type of dense tensors (and of compressed-tensors scales).
    pub dtype: ScaleDtype,
    /// Tensors written as they are, converted to `dtype`.
    pub dense: Vec<DenseTensor>,
    /// Quantized Linears.
    pub linears: Vec<QuantLinear>,
}

/// What a writer wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteStats {
    /// Files written, with their sizes in bytes.
    pub files: Vec<(PathBuf, u64)>,
    /// Quantized Linears.
    pub quantized_tensors: usize,
    /// Tensors kept in floating point.
    pub kept_tensors: usize,
    /// Weights of the quantized Linears (`n * k` each).
    pub quantized_params: u64,
    /// Bytes the quantized Linears take in the file (codes, scales, zero points, shapes).
    pub quantized_bytes: u64,
    /// All weights: quantized Linears plus kept tensors.
    pub total_params: u64,
    /// Bytes of all tensor data.
    pub total_bytes: u64,
    /// Format-specific facts for the summary (e.g. which GGML types were used).
    pub notes: Vec<String>,
}

impl WriteStats {
    /// Bits per weight of the quantized Linears.
    pub fn linear_bits_per_weight(&self) -> f64 {
        self.quantized_bytes as f64 * 8.0 / self.quantized_params.max(1) as f64
    }

    /// Bits per weight of the whole model: every file written, headers and configs included.
    pub fn file_bits_per_weight(&self) -> f64 {
        self.files.iter().map(|f| f.1).sum::<u64>() as f64 * 8.0 / self.total_params.max(1) as f64
    }

    /// Total size of the files written.
    pub fn file_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }
}

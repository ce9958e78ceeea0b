//! GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative
//! Pre-trained Transformers") as a weight quantizer producing the same
//! [`QuantizedWeight`](crate::qweight::QuantizedWeight) as RTN, so every packer, writer and kernel
//! takes it unchanged.
//!
//! For a Linear `W[n, k]` (out × in) and calibration inputs `X[N, k]`, GPTQ minimises the layer
//! error `||X Wᵀ - X Qᵀ||²` one input column at a time: it quantizes column `j`, then spreads the
//! column's rounding error over the not yet quantized columns through the inverse Hessian
//! `H⁻¹`, `H = 2/N XᵀX`. Pieces, one file each:
//! - [`hessian`]: `H[k, k]` accumulated in f64 as a running average over batches of inputs;
//! - [`options`]: [`GptqOptions`] and [`GptqResult`];
//! - [`hinv`]: damping and the upper Cholesky factor `U` of `(H + λI)⁻¹` (faer), with retries;
//! - [`order`]: act-order (descending `diag(H)`) permutation and the `g_idx` it implies;
//! - [`sweep`]: one block of columns of one row: group parameters, codes, error propagation;
//! - [`quantize`]: the driver, [`quantize_gptq`], with the lazy block updates (matrix products).

pub mod hessian;
pub mod hinv;
pub mod options;
pub mod order;
pub mod quantize;
pub mod sweep;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod tests;

pub use hessian::Hessian;
pub use options::{GptqOptions, GptqResult};
pub use quantize::quantize_gptq;

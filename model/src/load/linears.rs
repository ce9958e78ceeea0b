//! Building the Linear weights of a quantized HF folder: one [`QuantizedWeight`] per Linear
//! from the layout's tensors, then either packed for qtool's kernels (the default; no dense
//! copy is ever made) or dequantized to a dense dtype when the caller asked for one.

use crate::linear_weight::LinearWeight;
use crate::weights::{DType, Tensor};
use quant::pack::PackedWeight;
use quant::QuantizedWeight;
use std::collections::HashMap;

/// Linear weights the loader built itself, by tensor name (`{prefix}.weight`).
pub type LinearMap = HashMap<String, LinearWeight>;

/// The weight of one quantized Linear as the model will hold it: packed when `dtype` is
/// `None`, else dequantized into `dtype`.
pub fn linear_weight(q: &QuantizedWeight, dtype: Option<DType>) -> LinearWeight {
    match dtype {
        None => LinearWeight::Packed(PackedWeight::pack(q)),
        Some(d) => LinearWeight::Dense(Tensor::from_f32(vec![q.n(), q.k()], q.dequantize()).to_dtype(d)),
    }
}

/// The Linear prefixes of `names` that end in `suffix`, sorted.
pub fn prefixes_with<'a>(names: impl Iterator<Item = &'a String>, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = names.filter_map(|n| n.strip_suffix(suffix).map(str::to_string)).collect();
    v.sort();
    v
}

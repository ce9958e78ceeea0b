//! Per-channel quantization with static parameters, one per feature column (KVQuant keys,
//! calibrated before RoPE): the parameters come from calibration min/max, then every token row
//! is quantized with them.

use super::fake_keep_nan;
use crate::format::{IntSpec, QParams, ScaleDtype};

/// One parameter set per channel from calibrated per-channel `min` and `max` (clip ratio
/// applied; `dtype` is what the scales will be stored in).
pub fn channel_qparams(min: &[f32], max: &[f32], spec: &IntSpec, dtype: ScaleDtype) -> Vec<QParams> {
    assert_eq!(min.len(), max.len(), "channel_qparams: min and max differ in length");
    min.iter().zip(max).map(|(&lo, &hi)| spec.qparams(lo, hi, dtype)).collect()
}

/// Quantizes one token row `x[channels]` with per-channel `params` into `codes`.
pub fn quantize_per_channel_ref(x: &[f32], params: &[QParams], spec: &IntSpec, codes: &mut [u8]) {
    assert_eq!(x.len(), params.len(), "quantize_per_channel_ref: one QParams per channel");
    assert_eq!(x.len(), codes.len(), "quantize_per_channel_ref: x and codes differ in length");
    for ((c, &v), p) in codes.iter_mut().zip(x).zip(params) {
        *c = p.quantize(v, spec.int);
    }
}

/// Quantize-dequantize one token row in place with per-channel `params`; values outside the
/// calibrated range clamp to the ends of the grid.
pub fn fake_quant_per_channel_ref(x: &mut [f32], params: &[QParams], spec: &IntSpec) {
    assert_eq!(x.len(), params.len(), "fake_quant_per_channel_ref: one QParams per channel");
    for (v, p) in x.iter_mut().zip(params) {
        *v = fake_keep_nan(p, *v, spec.int);
    }
}

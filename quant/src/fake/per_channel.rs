//! Per-channel quantization with static parameters, one set per feature column (KVQuant keys,
//! calibrated before RoPE): the parameters come from calibration min/max, then every token row
//! is quantized with them.
//!
//! Each channel's grid is the spec's usual one (`IntSpec::qparams`: 0 exactly representable)
//! over `x − offset`, with a static per-channel float `offset`: 0 when the calibrated
//! `[min, max]` holds 0, else the range's midpoint (KVQuant's per-channel zeropoint). So a
//! channel whose values all sit far from 0 (the K-projection bias of Qwen2.5 puts some key
//! channels near −354 with a spread of a few units) spends its grid on its own range, not on the
//! distance to 0, while channels around 0 keep an exact 0, where most keys are. Values read back
//! as `offset + (code − zero)·scale`.

use super::fake_keep_nan;
use crate::format::{IntSpec, QParams, ScaleDtype};

/// Static per-channel parameters (`[channels]` each).
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelParams {
    /// Scale and zero code of each channel's grid, over `x − offset`.
    pub qparams: Vec<QParams>,
    /// The value each channel's zero code stands for.
    pub offsets: Vec<f32>,
}

impl ChannelParams {
    /// Number of channels.
    pub fn len(&self) -> usize {
        self.qparams.len()
    }

    /// Whether there are no channels.
    pub fn is_empty(&self) -> bool {
        self.qparams.is_empty()
    }
}

/// The parameters of each channel from its calibrated `min` and `max` (clip ratio applied about
/// the offset; `dtype` is what the scales will be stored in): offset 0 when `min <= 0 <= max`,
/// else `(min + max) / 2`, then `spec.qparams` over `[min − offset, max − offset]`.
pub fn channel_params(min: &[f32], max: &[f32], spec: &IntSpec, dtype: ScaleDtype) -> ChannelParams {
    assert_eq!(min.len(), max.len(), "channel_params: min and max differ in length");
    let (qparams, offsets) = min
        .iter()
        .zip(max)
        .map(|(&lo, &hi)| {
            let offset = if lo <= 0.0 && hi >= 0.0 { 0.0 } else { 0.5 * (lo + hi) };
            (spec.qparams(lo - offset, hi - offset, dtype), offset)
        })
        .unzip();
    ChannelParams { qparams, offsets }
}

/// Quantizes one token row `x[channels]` with per-channel `params` into `codes`.
pub fn quantize_per_channel_ref(x: &[f32], params: &ChannelParams, spec: &IntSpec, codes: &mut [u8]) {
    assert_eq!(x.len(), params.len(), "quantize_per_channel_ref: one parameter set per channel");
    assert_eq!(x.len(), codes.len(), "quantize_per_channel_ref: x and codes differ in length");
    for (((c, &v), p), o) in codes.iter_mut().zip(x).zip(&params.qparams).zip(&params.offsets) {
        *c = p.quantize(v - o, spec.int);
    }
}

/// Quantize-dequantize one token row in place with per-channel `params`; values outside the
/// calibrated range clamp to the ends of the grid.
pub fn fake_quant_per_channel_ref(x: &mut [f32], params: &ChannelParams, spec: &IntSpec) {
    assert_eq!(x.len(), params.len(), "fake_quant_per_channel_ref: one parameter set per channel");
    for ((v, p), o) in x.iter_mut().zip(&params.qparams).zip(&params.offsets) {
        *v = fake_keep_nan(p, *v - o, spec.int) + o;
    }
}

//! Scalar reference ops for activation and KV cache quantization (the `*_ref` anchors later
//! kernels are tested against): dynamic per-token, per-token-group, and per-channel with given
//! (calibrated) parameters; each as quantize to codes, dequantize, and fake (quantize then
//! dequantize in place). Dynamic scales are f32 (they never reach a file).
//!
//! NaN inputs stay NaN in fake-quantized output so that downstream NaN checks still see them;
//! they are ignored when taking a row's min and max.

pub mod apply;
pub mod per_channel;
pub mod per_group;
pub mod per_token;

#[cfg(test)]
mod tests;

pub use apply::{fake_quant_act_ref, fake_quant_kv_ref};
pub use per_channel::{channel_params, fake_quant_per_channel_ref, quantize_per_channel_ref, ChannelParams};
pub use per_group::{fake_quant_groups_ref, quantize_groups_ref};
pub use per_token::{dequantize_row_ref, fake_quant_row_ref, quantize_row_ref, row_qparams};

use crate::format::{IntFormat, QParams};

/// Fake-quantizes one value, keeping NaN.
#[inline]
pub(crate) fn fake_keep_nan(qp: &QParams, x: f32, int: IntFormat) -> f32 {
    if x.is_nan() {
        x
    } else {
        qp.fake(x, int)
    }
}

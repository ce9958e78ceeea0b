//! How a range of real values maps onto an integer grid: symmetric or asymmetric, the
//! symmetric scale convention, and a fixed clip ratio. This is the scalar core every quantizer,
//! fake-quant op and kernel reference shares.
//!
//! Given a group's `min` and `max` (and clip ratio `c`):
//! - `lo = min(min, 0) * c`, `hi = max(max, 0) * c` (zero is always representable).
//! - Symmetric: `scale = max(|lo|, hi) / d` with `d = (2^b - 1) / 2` ([`SymScale::HalfRange`],
//!   compressed-tensors and AutoGPTQ: `/7.5` for int4, `/127.5` for int8) or `d = 2^(b-1) - 1`
//!   ([`SymScale::MaxCode`], vLLM's dynamic int8 activations and the study's QuaRot code: `/7`,
//!   `/127`); zero point `z = 2^(b-1)`.
//! - Asymmetric: `scale = (hi - lo) / (2^b - 1)`, signed zero `zp = round(clamp(qmin - lo / scale,
//!   qmin, qmax))`, stored zero `z = zp + 2^(b-1)` (= `round(-lo / scale)`, GPTQ's zero).
//! - The scale is rounded to the storage dtype first; a zero scale becomes that dtype's epsilon.
//! - Quantize: `u = round(clamp(x / scale + (z - 2^(b-1)), qmin, qmax)) + 2^(b-1)`; dequantize:
//!   `(u - z) * scale`. Rounding is half-to-even everywhere (`torch.round`, CUDA `rni`).

use super::{IntFormat, ScaleDtype};
use crate::QuantError;

/// How a symmetric scale is derived from the largest magnitude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymScale {
    /// `scale = amax / ((2^b - 1) / 2)`: compressed-tensors `calculate_qparams` and AutoGPTQ's
    /// `Quantizer` (`2 * amax / maxq`). `-amax` maps to the lowest code, `+amax` clamps to the
    /// highest.
    HalfRange,
    /// `scale = amax / (2^(b-1) - 1)`: vLLM's dynamic per-token int8 kernel (`absmax / 127`), the
    /// study's QuaRot/SmoothQuant code and llama.cpp's Q8_0. The lowest code is never used.
    MaxCode,
}

/// The integer grid of one tensor and how a value range maps onto it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntSpec {
    /// The integer format.
    pub int: IntFormat,
    /// Symmetric (zero point fixed at `2^(b-1)`) or asymmetric (zero point per group).
    pub symmetric: bool,
    /// The symmetric scale convention (ignored when asymmetric).
    pub sym_scale: SymScale,
    /// Fixed clip ratio in `(0, 1]` applied to the observed min and max (QuaRot: 0.9 for
    /// activations, 0.95 for KV); 1.0 means no clipping.
    pub clip_ratio: f32,
}

/// The scale and zero point of one group.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    /// Positive, finite scale.
    pub scale: f32,
    /// Zero point in stored (unsigned) code units, `0..=2^b - 1`; `2^(b-1)` when symmetric.
    pub zero: u8,
}

impl IntSpec {
    /// A symmetric spec with the half-range convention and no clipping.
    pub fn symmetric(int: IntFormat) -> IntSpec {
        IntSpec { int, symmetric: true, sym_scale: SymScale::HalfRange, clip_ratio: 1.0 }
    }

    /// An asymmetric spec with no clipping.
    pub fn asymmetric(int: IntFormat) -> IntSpec {
        IntSpec { int, symmetric: false, sym_scale: SymScale::HalfRange, clip_ratio: 1.0 }
    }

    /// Checks the clip ratio.
    pub fn validate(&self) -> Result<(), QuantError> {
        if !(self.clip_ratio > 0.0 && self.clip_ratio <= 1.0) {
            return Err(QuantError::BadFormat {
                what: format!("clip ratio must be in (0, 1], got {}", self.clip_ratio),
            });
        }
        Ok(())
    }

    /// The parameters for a group whose values span `[min, max]`, clip ratio applied.
    pub fn qparams(&self, min: f32, max: f32, dtype: ScaleDtype) -> QParams {
        let lo = min.min(0.0) * self.clip_ratio;
        let hi = max.max(0.0) * self.clip_ratio;
        self.qparams_for_range(lo, hi, dtype)
    }

    /// The parameters for an already clipped range `lo <= 0 <= hi` (a clip search shrinks it).
    pub fn qparams_for_range(&self, lo: f32, hi: f32, dtype: ScaleDtype) -> QParams {
        let info = self.int.info();
        let fix = |s: f32| {
            let s = dtype.round(s);
            if s == 0.0 {
                dtype.eps()
            } else {
                s
            }
        };
        if self.symmetric {
            let amax = lo.abs().max(hi);
            let d = match self.sym_scale {
                SymScale::HalfRange => info.code_max as f32 / 2.0,
                SymScale::MaxCode => info.signed_max as f32,
            };
            QParams { scale: fix(amax / d), zero: info.offset as u8 }
        } else {
            let scale = fix((hi - lo) / info.code_max as f32);
            let (qmin, qmax) = (info.signed_min as f32, info.signed_max as f32);
            let zp = (qmin - lo / scale).clamp(qmin, qmax).round_ties_even();
            QParams { scale, zero: (zp as i32 + info.offset as i32) as u8 }
        }
    }
}

impl QParams {
    /// The stored code of `x` in format `int`.
    #[inline]
    pub fn quantize(&self, x: f32, int: IntFormat) -> u8 {
        let info = int.info();
        let zp = self.zero as i32 - info.offset as i32;
        let q = (x / self.scale + zp as f32).clamp(info.signed_min as f32, info.signed_max as f32).round_ties_even();
        (q as i32 + info.offset as i32) as u8
    }

    /// The value code `u` stands for.
    #[inline]
    pub fn dequantize(&self, u: u8) -> f32 {
        (u as i32 - self.zero as i32) as f32 * self.scale
    }

    /// Quantize then dequantize.
    #[inline]
    pub fn fake(&self, x: f32, int: IntFormat) -> f32 {
        self.dequantize(self.quantize(x, int))
    }
}

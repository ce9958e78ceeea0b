//! Dynamic per-token quantization of one row `x[cols]`: one scale (and zero point) from the
//! row's own min and max.

use super::fake_keep_nan;
use crate::format::{IntSpec, QParams, ScaleDtype};

/// The f32 parameters of a row (clip ratio applied; NaN ignored).
pub fn row_qparams(x: &[f32], spec: &IntSpec) -> QParams {
    let (min, max) = x.iter().fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    spec.qparams(min, max, ScaleDtype::F32)
}

/// Quantizes `x` into `codes` (same length) and returns the row's parameters.
pub fn quantize_row_ref(x: &[f32], spec: &IntSpec, codes: &mut [u8]) -> QParams {
    assert_eq!(x.len(), codes.len(), "quantize_row_ref: x and codes differ in length");
    let qp = row_qparams(x, spec);
    for (c, &v) in codes.iter_mut().zip(x) {
        *c = qp.quantize(v, spec.int);
    }
    qp
}

/// Dequantizes `codes` into `out` (same length).
pub fn dequantize_row_ref(codes: &[u8], qp: &QParams, out: &mut [f32]) {
    assert_eq!(codes.len(), out.len(), "dequantize_row_ref: codes and out differ in length");
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = qp.dequantize(c);
    }
}

/// Quantize-dequantize `x` in place with its own parameters, which are returned.
pub fn fake_quant_row_ref(x: &mut [f32], spec: &IntSpec) -> QParams {
    let qp = row_qparams(x, spec);
    for v in x.iter_mut() {
        *v = fake_keep_nan(&qp, *v, spec.int);
    }
    qp
}

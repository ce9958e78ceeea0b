//! Dynamic per-token-group quantization of one row `x[cols]`: groups of `group` consecutive
//! elements (the last one shorter when `group` does not divide `cols`), each with its own
//! parameters. With `group` = head_dim this is per head per token (the V cache of the study).

use super::per_token::{fake_quant_row_ref, quantize_row_ref};
use crate::format::{IntSpec, QParams};

/// Quantizes `x` into `codes` (same length); writes one parameter set per group into `params`
/// (`ceil(cols / group)` entries).
pub fn quantize_groups_ref(x: &[f32], group: usize, spec: &IntSpec, codes: &mut [u8], params: &mut [QParams]) {
    assert!(group > 0, "quantize_groups_ref: group size 0");
    assert_eq!(x.len(), codes.len(), "quantize_groups_ref: x and codes differ in length");
    assert_eq!(params.len(), x.len().div_ceil(group), "quantize_groups_ref: one QParams per group");
    for ((xg, cg), p) in x.chunks(group).zip(codes.chunks_mut(group)).zip(params.iter_mut()) {
        *p = quantize_row_ref(xg, spec, cg);
    }
}

/// Quantize-dequantize `x` in place, group by group.
pub fn fake_quant_groups_ref(x: &mut [f32], group: usize, spec: &IntSpec) {
    assert!(group > 0, "fake_quant_groups_ref: group size 0");
    for xg in x.chunks_mut(group) {
        fake_quant_row_ref(xg, spec);
    }
}

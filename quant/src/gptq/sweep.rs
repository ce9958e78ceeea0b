//! The inner GPTQ loop over one block of sweep positions `[i1, i2)` of one row. Rows are
//! independent here (each has its own group parameters and its own error), so the driver runs
//! this on all rows in parallel, then applies the block's error to later columns as one matrix
//! product.
//!
//! For each position `p` of the block, with `d = U[p, p]`:
//! 1. at a group's first position (dynamic groups), compute the group's scale and zero point
//!    from the row's current, error-updated values `w[p .. p + g]` (RTN's `group_qparams`,
//!    clip search included); static groups were computed up front;
//! 2. `q = dequant(quant(w[p]))`, `e = (w[p] - q) / d`, loss `+= (w[p] - q)² / (2 d²)`;
//! 3. `w[p + 1 .. i2] -= e · U[p, p + 1 .. i2]`, and `e` is kept for the lazy update.
//!
//! [`block_end`] chooses `i2` so that a group starting inside a block also ends inside it: then
//! all of its values are current when its parameters are computed, and the result does not
//! depend on the block size. (The reference implementations read a mid-block group's values from
//! the weights as they were at the block's start, missing the updates from the block's earlier
//! columns; with the group size a multiple of the block size, g128 or per-channel with block
//! 128, no group starts mid-block and the two agree.)

use crate::format::{QParams, ScaleDtype, WeightFormat};
use crate::rtn::{group_qparams, ClipSearch};

/// What every row's sweep shares.
pub struct Sweep<'a> {
    /// The target format.
    pub format: &'a WeightFormat,
    /// Scale storage dtype.
    pub scale_dtype: ScaleDtype,
    /// Per-group clip search, if any.
    pub clip_search: Option<&'a ClipSearch>,
    /// `U[k, k]` row-major upper Cholesky factor of the damped inverse Hessian (sweep order).
    pub u: &'a [f64],
    /// Input features.
    pub k: usize,
    /// Group size (`k` when per-channel).
    pub g: usize,
    /// Static groups: `[k]` group of each sweep position, parameters precomputed. `None`:
    /// dynamic groups, position `p` in group `p / g`, parameters computed at `p % g == 0`.
    pub static_groups: Option<&'a [usize]>,
}

/// One row's state, all in sweep order.
pub struct RowState<'a> {
    /// `[k]` the row's weights, updated in place with the propagated error.
    pub w: &'a mut [f64],
    /// `[k]` stored codes.
    pub codes: &'a mut [u8],
    /// `[n_groups]` scales (dynamic: filled here; static: read).
    pub scales: &'a mut [f32],
    /// `[n_groups]` zero points, stored code units (filled or read like `scales`).
    pub zeros: &'a mut [u8],
    /// `[i2 - i1]` this block's scaled errors `e`, for the lazy update.
    pub err: &'a mut [f64],
}

impl Sweep<'_> {
    /// Quantizes positions `[i1, i2)` of one row; returns the row's loss over the block.
    pub fn row_block(&self, i1: usize, i2: usize, s: RowState<'_>) -> f64 {
        let (k, g, int) = (self.k, self.g, self.format.int());
        let mut loss = 0.0;
        let mut buf: Vec<f32> = Vec::with_capacity(g);
        for p in i1..i2 {
            let gi = match self.static_groups {
                Some(groups) => groups[p],
                None => {
                    if p.is_multiple_of(g) {
                        buf.clear();
                        buf.extend(s.w[p..(p + g).min(k)].iter().map(|&x| x as f32));
                        let qp = group_qparams(&buf, &self.format.spec, self.scale_dtype, self.clip_search);
                        (s.scales[p / g], s.zeros[p / g]) = (qp.scale, qp.zero);
                    }
                    p / g
                }
            };
            let qp = QParams { scale: s.scales[gi], zero: s.zeros[gi] };
            let x = s.w[p];
            let code = qp.quantize(x as f32, int);
            let q = qp.dequantize(code) as f64;
            s.codes[p] = code;
            let urow = &self.u[p * k..(p + 1) * k];
            let e = (x - q) / urow[p];
            loss += 0.5 * e * e;
            s.err[p - i1] = e;
            for (wj, &uj) in s.w[p + 1..i2].iter_mut().zip(&urow[p + 1..i2]) {
                *wj -= e * uj;
            }
        }
        loss
    }
}

/// The end of the block starting at `i1`: `min(i1 + block, k)`, pulled back to the start of a
/// (dynamic) group that begins inside the block but would end after it.
pub fn block_end(i1: usize, block: usize, k: usize, g: usize, dynamic_groups: bool) -> usize {
    let i2 = (i1 + block).min(k);
    if !dynamic_groups {
        return i2;
    }
    let next_start = (i1 / g + 1) * g;
    let mut c = next_start;
    while c < i2 {
        if (c + g).min(k) > i2 {
            return c;
        }
        c += g;
    }
    i2
}

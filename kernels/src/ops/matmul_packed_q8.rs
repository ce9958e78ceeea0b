//! `matmul_packed_q8_ref`: `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for an int4 [`PackedWeight`]
//! with the activations quantized to int8 (llama.cpp's Q8_0 scheme) and the products summed in
//! integers; and `quantize_rows_q8_ref`, that activation quantization.
//!
//! Each x row is cut into blocks of [`Q8_BLOCK`] = 32 columns; block `b` of row `i` gets the
//! scale `dx[i, b] = max |x| / 127` (1 for an all-zero block) and the codes
//! `xq = round(x / dx)` (ties away from zero), in -127..=127. For output `(i, j)` and every
//! block `b` (in order of `k`, inside W group `g = 32 b / group_size` with zero point `z` and
//! scale `ws[j, g]`):
//!
//! ```text
//! s   = Σ_t xq[i, 32b + t] · code[j, 32b + t]  −  z · Σ_t xq[i, 32b + t]     (exact, i32)
//! acc = acc + (s as f32) · (dx[i, b] · ws[j, g])                         (f32, unfused)
//! ```
//!
//! starting from `acc = 0`; `y[i, j] = acc`. Only weights the integer path serves
//! ([`q8_supported`]: int4 codes, no act-order, groups and `k` multiples of 32) take it; the
//! others fall back to [`matmul_packed_ref`](super::matmul_packed_ref).

use quant::pack::PackedWeight;

/// Columns per activation block (one int8 scale each).
pub const Q8_BLOCK: usize = 32;

/// Whether `w` takes the int8-activation path: int4 codes, no act-order `g_idx`, a group size
/// (or per-channel `k`) and `k` that are multiples of [`Q8_BLOCK`].
pub fn q8_supported(w: &PackedWeight) -> bool {
    w.format().bits() == 4
        && w.g_idx().is_none()
        && w.group_size().is_multiple_of(Q8_BLOCK)
        && w.k().is_multiple_of(Q8_BLOCK)
}

/// Quantizes one block `x` (at most [`Q8_BLOCK`] values) into `q` and returns its scale:
/// `d = max |x| / 127` (1 when the block is all zero), `q = round(x / d)` (ties away from
/// zero) clamped to ±127. `#[inline(always)]` so that kernels compile it for their
/// instruction set; the result is the same bits everywhere (IEEE division, exact rounding).
#[inline(always)]
pub fn quantize_block_q8(x: &[f32], q: &mut [i8]) -> f32 {
    // The largest |x| (NaNs ignored, as `f32::max` does) in eight lanes, so that it vectorizes:
    // over values >= +0 the maximum is exact and does not depend on the order.
    let mut lanes = [0f32; 8];
    let chunks = x.chunks_exact(8);
    for &v in chunks.remainder() {
        lanes[0] = lanes[0].max(v.abs());
    }
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = l.max(v.abs());
        }
    }
    let amax = lanes.iter().fold(0f32, |a, &l| a.max(l));
    let d = if amax > 0.0 { amax / 127.0 } else { 1.0 };
    for (o, &v) in q.iter_mut().zip(x) {
        let r = (v / d).round().clamp(-127.0, 127.0);
        // NaN (from a NaN in x) becomes 0, as `as i8` would make it; written out so that the
        // conversion itself needs no NaN or range fix-ups and compilers vectorize it.
        let r = if r.is_nan() { 0.0 } else { r };
        // SAFETY: r is an integer in [-127, 127], representable in i32.
        *o = unsafe { r.to_int_unchecked::<i32>() } as i8;
    }
    d
}

/// Quantizes `x[m, k]` (`k` a multiple of [`Q8_BLOCK`]) block by block with
/// [`quantize_block_q8`]: returns `xq[m, k]` and the scales `dx[m, k / 32]`.
pub fn quantize_rows_q8_ref(x: &[f32], m: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    assert!(k.is_multiple_of(Q8_BLOCK), "quantize_rows_q8_ref: k = {k} is not a multiple of {Q8_BLOCK}");
    let mut q = vec![0i8; m * k];
    let scales = x[..m * k]
        .chunks_exact(Q8_BLOCK)
        .zip(q.chunks_exact_mut(Q8_BLOCK))
        .map(|(b, o)| quantize_block_q8(b, o))
        .collect();
    (q, scales)
}

/// Reference int8-activation packed matmul (the integer math of the module doc, summed in
/// exactly that order so that SIMD kernels can match it bit for bit); weights that
/// [`q8_supported`] rejects go to [`matmul_packed_ref`](super::matmul_packed_ref). Shapes must
/// already be valid (`x.len() == m * w.k()`, `y.len() == m * w.n()`).
pub fn matmul_packed_q8_ref(x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
    if !q8_supported(w) {
        return super::matmul_packed_ref(x, m, w, y);
    }
    let (n, k) = (w.n(), w.k());
    let (gs, ng, nb) = (w.group_size(), w.n_groups(), k / Q8_BLOCK);
    let (xq, dx) = quantize_rows_q8_ref(x, m, k);
    for j in 0..n {
        let codes: Vec<i32> = (0..k).map(|c| i32::from(w.code_ref(j, c))).collect();
        for i in 0..m {
            let mut acc = 0f32;
            for b in 0..nb {
                let g = b * Q8_BLOCK / gs;
                let z = i32::from(w.zeros().map_or(w.format().int().offset(), |z| z[j * ng + g]));
                let xb = &xq[i * k + b * Q8_BLOCK..i * k + (b + 1) * Q8_BLOCK];
                let cb = &codes[b * Q8_BLOCK..(b + 1) * Q8_BLOCK];
                let dot: i32 = xb.iter().zip(cb).map(|(&a, &c)| i32::from(a) * c).sum();
                let sx: i32 = xb.iter().map(|&a| i32::from(a)).sum();
                let s = dot - z * sx;
                acc += s as f32 * (dx[i * nb + b] * w.scales()[j * ng + g]);
            }
            y[i * n + j] = acc;
        }
    }
}

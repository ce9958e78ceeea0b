//! `matmul_w8a8_ref`: `y[m, n]` from int8 activations `xq[m, k]` (one scale per row, as
//! dynamic per-token quantization gives) and int8 weights `wq[n, k]` (one scale per output
//! channel), with exact i32 accumulation; and `quantize_rows_i8_ref`, that per-token
//! quantization.

/// Reference W8A8 matmul: `y[i, j] = (Σ_k xq[i, k] · wq[j, k]) as f32 · x_scales[i] ·
/// w_scales[j]`, the sum exact in `i32` (multiplied in that order, so integer backends can
/// match it bit for bit). Shapes must already be valid (see [`crate::shapes::matmul_w8a8`]).
#[allow(clippy::too_many_arguments)]
pub fn matmul_w8a8_ref(
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    k: usize,
    wq: &[i8],
    w_scales: &[f32],
    n: usize,
    y: &mut [f32],
) {
    for i in 0..m {
        for j in 0..n {
            let acc: i32 = xq[i * k..(i + 1) * k]
                .iter()
                .zip(&wq[j * k..(j + 1) * k])
                .map(|(&a, &b)| i32::from(a) * i32::from(b))
                .sum();
            y[i * n + j] = acc as f32 * x_scales[i] * w_scales[j];
        }
    }
}

/// Symmetric per-row int8 quantization of `x[m, k]`: `scale[i] = max_k |x[i, k]| / 127` (1 for
/// an all-zero row) and `q = round(x / scale)` (ties away from zero), clamped to ±127.
pub fn quantize_rows_i8_ref(x: &[f32], m: usize, k: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = vec![0i8; m * k];
    let mut scales = vec![1f32; m];
    for i in 0..m {
        let row = &x[i * k..(i + 1) * k];
        let amax = row.iter().fold(0f32, |a, &v| a.max(v.abs()));
        if amax > 0.0 {
            scales[i] = amax / 127.0;
        }
        for (o, &v) in q[i * k..(i + 1) * k].iter_mut().zip(row) {
            *o = (v / scales[i]).round().clamp(-127.0, 127.0) as i8;
        }
    }
    (q, scales)
}

/// Whether a packed weight can be a W8A8 operand: int8, symmetric, one scale per output
/// channel, no act-order (its codes are then `q + 128` and its scales `w_scales`).
pub fn w8a8_packed_supported(w: &quant::pack::PackedWeight) -> bool {
    let f = w.format();
    f.int() == quant::IntFormat::Int8
        && f.symmetric()
        && w.n_groups() == 1
        && w.g_idx().is_none()
        && w.zeros().is_none()
}

/// The signed codes `wq[n, k]` of a weight with [`w8a8_packed_supported`] (scales are
/// `w.scales()`), for the reference and the backends without a packed W8A8 kernel.
pub fn w8a8_packed_codes(w: &quant::pack::PackedWeight) -> Vec<i8> {
    let (n, k) = (w.n(), w.k());
    if cfg!(target_endian = "little") {
        // 8-bit codes fill the little-endian words byte by byte: code c of a row is its byte c.
        let bytes: &[u8] = bytemuck::cast_slice(w.codes());
        let rb = w.row_words() * 4;
        return (0..n).flat_map(|j| bytes[j * rb..j * rb + k].iter().map(|&b| (b ^ 0x80) as i8)).collect();
    }
    (0..n).flat_map(|j| (0..k).map(move |c| (j, c))).map(|(j, c)| (w.code_ref(j, c) ^ 0x80) as i8).collect()
}

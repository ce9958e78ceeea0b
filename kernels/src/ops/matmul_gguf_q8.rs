//! `matmul_gguf_q8_ref`: `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for a weight stored as GGML
//! blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K; rows as in
//! [`matmul_gguf_ref`](super::matmul_gguf_ref)) with the activations quantized to int8 and the
//! products summed in integers: the math, and the f32 summation order, that the `cpu-q8`
//! kernels equal bit for bit.
//!
//! x is quantized once per call with [`quantize_rows_q8_ref`]: block `b` (32 columns) of row
//! `i` gets the codes `xq[i, 32b + t]` (−127..=127) and the scale `dx = dx[i, b]`. Let
//! `Σ` run over the block's 32 columns, `Σ₀` / `Σ₁` over its first / last 16, `sx = Σ xq`,
//! `sx₀ = Σ₀ xq`, `sx₁ = Σ₁ xq`. Block `b` of W row `j` is read as a [`Block32`]: raw codes `q`
//! and terms (see [`block32`]; `d`, `m`, `dmin` are the f16 fields widened exactly, `sc`, `mn`
//! the integer sub-block scales). For output `(i, j)`, starting from `acc = 0` and for
//! `b = 0, 1, …, k/32 − 1` in order, every line one f32 operation as written (no fusing):
//!
//! ```text
//! Q8_0           s = Σ xq·q                                   (i32, q signed)
//!                acc = acc + f32(s) · (dx · d)
//! Q4_0, Q5_0     s = Σ xq·q − z·sx                            (i32, z = 8, 16)
//!                acc = acc + f32(s) · (dx · d)
//! Q4_1, Q5_1     s = Σ xq·q                                   (i32)
//!                acc = acc + (f32(s) · (dx · d) + (dx · f32(sx)) · m)
//! Q4_K, Q5_K     s = sc · Σ xq·q                              (i32, sub-block b mod 8)
//!                acc = acc + (f32(s) · (dx · d) − (dx · f32(sx)) · (dmin · f32(mn)))
//! Q6_K           s = sc₀·(Σ₀ xq·q − 32·sx₀) + sc₁·(Σ₁ xq·q − 32·sx₁)   (i32, signed sc)
//!                acc = acc + f32(s) · (dx · d)
//! ```
//!
//! and `y[i, j] = acc`. Every integer is exact in i32 and below 2²⁴ in magnitude (the largest,
//! Q6_K's `s`, is at most 2 · 128 · 16 · 127 · 32 < 2²⁴; Q5_K's `s` at most 63 · 32 · 31 · 127),
//! so a kernel may add the products in any order and every `f32(·)` is exact; what must match
//! is the f32 lines. The minimum's factors are per x block (`dx · f32(sx)`) and per W
//! sub-block (`dmin · f32(mn)`, the dequantizer's own product), so a kernel computes each once. Against the exact f32 path each output differs by the rounding of x to
//! int8 (relative error about `1/(2·127·√3)` per element of a
//! block whose largest value sets `dx`); see the conformance tests for the bound they check.

use super::gguf_q8_blocks::{block32, Block32, Terms};
use super::{quantize_rows_q8_ref, Q8_BLOCK};
use quant::gguf::GgmlType;

/// Whether `ty` has an int8-activation path: every block type [`matmul_gguf`](super::matmul_gguf_ref)
/// decodes (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K).
pub fn gguf_q8_supported(ty: GgmlType) -> bool {
    quant::gguf::dequant::is_block_quantized(ty)
}

/// `acc` after block `w` against the int8 block `xq` (32 codes) with scale `dx`: one step of
/// the module doc's table, in its order.
pub fn block_step(acc: f32, w: &Block32, xq: &[i8], dx: f32) -> f32 {
    let (mut dot, mut sx) = ([0i32; 2], [0i32; 2]);
    for (t, (&a, &q)) in xq[..Q8_BLOCK].iter().zip(&w.q).enumerate() {
        dot[t / 16] += i32::from(a) * q;
        sx[t / 16] += i32::from(a);
    }
    let (dot_all, sx_all) = (dot[0] + dot[1], sx[0] + sx[1]);
    match w.terms {
        Terms::Offset { d, z } => acc + (dot_all - z * sx_all) as f32 * (dx * d),
        Terms::Min { d, m } => acc + (dot_all as f32 * (dx * d) + (dx * sx_all as f32) * m),
        Terms::SubMin { d, dmin, sc, mn } => {
            acc + ((sc * dot_all) as f32 * (dx * d) - (dx * sx_all as f32) * (dmin * mn as f32))
        }
        Terms::Halves { d, sc } => {
            let s = sc[0] * (dot[0] - 32 * sx[0]) + sc[1] * (dot[1] - 32 * sx[1]);
            acc + s as f32 * (dx * d)
        }
    }
}

/// Reference int8-activation GGUF matmul (module doc). Shapes and the type must already be
/// valid (see [`crate::shapes::matmul_gguf`]).
pub fn matmul_gguf_q8_ref(x: &[f32], m: usize, k: usize, ty: GgmlType, blocks: &[u8], n: usize, y: &mut [f32]) {
    assert!(gguf_q8_supported(ty), "matmul_gguf_q8_ref: {ty} has no int8 path");
    let nb = k / Q8_BLOCK;
    let row_bytes = k / ty.block_size() * ty.type_size();
    let (xq, dx) = quantize_rows_q8_ref(x, m, k);
    for j in 0..n {
        let row = &blocks[j * row_bytes..(j + 1) * row_bytes];
        let w: Vec<Block32> = (0..nb).map(|b| block32(ty, row, b)).collect();
        for i in 0..m {
            let mut acc = 0f32;
            for (b, wb) in w.iter().enumerate() {
                acc = block_step(acc, wb, &xq[i * k + b * Q8_BLOCK..], dx[i * nb + b]);
            }
            y[i * n + j] = acc;
        }
    }
}

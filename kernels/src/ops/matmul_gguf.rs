//! `matmul_gguf_ref`: `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for a weight stored as GGML
//! blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K): row `j` of W is bytes
//! `j * row_bytes .. (j + 1) * row_bytes` with `row_bytes = k / block_size * type_size`, i.e. a
//! row is whole blocks, exactly as a GGUF file stores a 2-D tensor.

use quant::gguf::dequant::dequantize_row;
use quant::gguf::GgmlType;

/// Reference GGUF matmul: each W row is decoded with `quant`'s bit-exact dequantizer, then every
/// output is an `f64` dot product in order of `k`, rounded to `f32`. Shapes and the type must
/// already be valid (see [`crate::shapes::matmul_gguf`]).
pub fn matmul_gguf_ref(x: &[f32], m: usize, k: usize, ty: GgmlType, blocks: &[u8], n: usize, y: &mut [f32]) {
    let row_bytes = blocks.len() / n.max(1);
    let mut row = vec![0f32; k];
    for j in 0..n {
        dequantize_row(ty, &blocks[j * row_bytes..(j + 1) * row_bytes], &mut row)
            .expect("matmul_gguf_ref: type and lengths were validated");
        for i in 0..m {
            let acc: f64 = x[i * k..(i + 1) * k].iter().zip(&row).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum();
            y[i * n + j] = acc as f32;
        }
    }
}

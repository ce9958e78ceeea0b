//! Shape validation shared by every backend, so that all of them accept and reject exactly the
//! same calls and word their errors the same way.

use crate::backend::DenseWeight;
use crate::error::{KernelError, Result};
use crate::hadamard::Hadamard;
use crate::kv::{KvAxis, KvTensor, KvView};
use crate::ops::rope::RopeTable;
use quant::gguf::dequant::is_block_quantized;
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;

fn shape_err(op: &'static str, what: String) -> KernelError {
    KernelError::Shape { op, what }
}

/// Checks that `buf` (named `name`) holds `want` elements.
pub fn expect_len(op: &'static str, name: &str, got: usize, want: usize) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(shape_err(op, format!("{name} has {got} elements, expected {want}")))
    }
}

fn product(op: &'static str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| shape_err(op, format!("{a} x {b} overflows usize")))
}

/// Validates a `matmul` call: `x[m, k]`, `W[n, k]`, `y[m, n]`.
pub fn matmul(x: &[f32], m: usize, k: usize, w: &DenseWeight<'_>, n: usize, y: &[f32]) -> Result<()> {
    const OP: &str = "matmul";
    expect_len(OP, &format!("x [m={m}, k={k}]"), x.len(), product(OP, m, k)?)?;
    expect_len(OP, &format!("W ({}) [n={n}, k={k}]", w.dtype_name()), w.len(), product(OP, n, k)?)?;
    expect_len(OP, &format!("y [m={m}, n={n}]"), y.len(), product(OP, m, n)?)
}

/// Validates a `matmul_packed` call: `x[m, k]`, `y[m, n]` with `n, k` from the weight.
pub fn matmul_packed(x: &[f32], m: usize, w: &PackedWeight, y: &[f32]) -> Result<()> {
    const OP: &str = "matmul_packed";
    let (n, k) = (w.n(), w.k());
    expect_len(OP, &format!("x [m={m}, k={k}]"), x.len(), product(OP, m, k)?)?;
    expect_len(OP, &format!("y [m={m}, n={n}]"), y.len(), product(OP, m, n)?)
}

/// Validates a `matmul_gguf` call: a block type with a decoder, `k` a whole number of blocks,
/// `blocks` exactly `n` rows of `k / block_size` blocks, `x[m, k]`, `y[m, n]`.
pub fn matmul_gguf(x: &[f32], m: usize, k: usize, ty: GgmlType, blocks: &[u8], n: usize, y: &[f32]) -> Result<()> {
    const OP: &str = "matmul_gguf";
    gguf_blocks(ty, blocks, n, k)?;
    expect_len(OP, &format!("x [m={m}, k={k}]"), x.len(), product(OP, m, k)?)?;
    expect_len(OP, &format!("y [m={m}, n={n}]"), y.len(), product(OP, m, n)?)
}

/// Validates GGML blocks of a `[n, k]` weight: a block-quantized type, `k` whole blocks,
/// `n` rows of bytes.
pub fn gguf_blocks(ty: GgmlType, blocks: &[u8], n: usize, k: usize) -> Result<()> {
    const OP: &str = "matmul_gguf";
    if !is_block_quantized(ty) {
        return Err(KernelError::Unsupported {
            op: OP,
            what: format!("GGML type {ty} (supported: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)"),
        });
    }
    if !k.is_multiple_of(ty.block_size()) {
        return Err(shape_err(OP, format!("k = {k} is not a whole number of {}-element {ty} blocks", ty.block_size())));
    }
    let row_bytes = k / ty.block_size() * ty.type_size();
    expect_len(OP, &format!("W ({ty}) bytes [n={n} rows of {row_bytes}]"), blocks.len(), product(OP, n, row_bytes)?)
}

/// Validates a `matmul_w8a8_packed` call: a weight with
/// [`crate::ops::w8a8_packed_supported`], `xq[m, k]`, `x_scales[m]`, `y[m, n]`.
pub fn matmul_w8a8_packed(xq: &[i8], x_scales: &[f32], m: usize, w: &PackedWeight, y: &[f32]) -> Result<()> {
    const OP: &str = "matmul_w8a8_packed";
    if !crate::ops::w8a8_packed_supported(w) {
        return Err(KernelError::Unsupported {
            op: OP,
            what: format!("weight {} (needs int8 symmetric per-channel without act-order)", w.format().label()),
        });
    }
    let (n, k) = (w.n(), w.k());
    expect_len(OP, &format!("xq [m={m}, k={k}]"), xq.len(), product(OP, m, k)?)?;
    expect_len(OP, &format!("x_scales [m={m}]"), x_scales.len(), m)?;
    expect_len(OP, &format!("y [m={m}, n={n}]"), y.len(), product(OP, m, n)?)
}

/// Validates a `matmul_w8a8_prepared` call on a prepared weight of shape `[n, k]`: `xq[m, k]`,
/// `x_scales[m]`, `y[m, n]`.
pub fn matmul_w8a8_prepared(xq: &[i8], x_scales: &[f32], m: usize, [n, k]: [usize; 2], y: &[f32]) -> Result<()> {
    const OP: &str = "matmul_w8a8_prepared";
    expect_len(OP, &format!("xq [m={m}, k={k}]"), xq.len(), product(OP, m, k)?)?;
    expect_len(OP, &format!("x_scales [m={m}]"), x_scales.len(), m)?;
    expect_len(OP, &format!("y [m={m}, n={n}]"), y.len(), product(OP, m, n)?)
}

/// Validates a `matmul_w8a8` call: `xq[m, k]`, `x_scales[m]`, `wq[n, k]`, `w_scales[n]`,
/// `y[m, n]`.
#[allow(clippy::too_many_arguments)]
pub fn matmul_w8a8(
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    k: usize,
    wq: &[i8],
    w_scales: &[f32],
    n: usize,
    y: &[f32],
) -> Result<()> {
    const OP: &str = "matmul_w8a8";
    expect_len(OP, &format!("xq [m={m}, k={k}]"), xq.len(), product(OP, m, k)?)?;
    expect_len(OP, &format!("x_scales [m={m}]"), x_scales.len(), m)?;
    expect_len(OP, &format!("wq [n={n}, k={k}]"), wq.len(), product(OP, n, k)?)?;
    expect_len(OP, &format!("w_scales [n={n}]"), w_scales.len(), n)?;
    expect_len(OP, &format!("y [m={m}, n={n}]"), y.len(), product(OP, m, n)?)
}

/// Validates an `rms_norm` call: `x[m, d]`, `weight[d]`, `out[m, d]`.
pub fn rms_norm(x: &[f32], m: usize, d: usize, weight: &[f32], out: &[f32]) -> Result<()> {
    const OP: &str = "rms_norm";
    let md = product(OP, m, d)?;
    expect_len(OP, &format!("x [m={m}, d={d}]"), x.len(), md)?;
    expect_len(OP, &format!("weight [d={d}]"), weight.len(), d)?;
    expect_len(OP, &format!("out [m={m}, d={d}]"), out.len(), md)
}

/// Validates a `silu_mul` call: three slices of one length.
pub fn silu_mul(gate: &[f32], up: &[f32], out: &[f32]) -> Result<()> {
    const OP: &str = "silu_mul";
    expect_len(OP, "up (length of gate)", up.len(), gate.len())?;
    expect_len(OP, "out (length of gate)", out.len(), gate.len())
}

/// Validates a `softmax` call: `x[m, n]` with `n >= 1` unless `m == 0`.
pub fn softmax(x: &[f32], m: usize, n: usize) -> Result<()> {
    const OP: &str = "softmax";
    if n == 0 && m > 0 {
        return Err(shape_err(OP, format!("rows of length 0 (m={m})")));
    }
    expect_len(OP, &format!("x [m={m}, n={n}]"), x.len(), product(OP, m, n)?)
}

/// Validates a `rope` call: `x[m, n_heads * head_dim]`, `positions[m]`, a table for
/// `head_dim` that covers every position.
pub fn rope(
    x: &[f32],
    m: usize,
    n_heads: usize,
    head_dim: usize,
    positions: &[usize],
    table: &RopeTable,
) -> Result<()> {
    const OP: &str = "rope";
    if !head_dim.is_multiple_of(2) {
        return Err(shape_err(OP, format!("head_dim {head_dim} is odd")));
    }
    if table.head_dim() != head_dim {
        return Err(shape_err(
            OP,
            format!("table built for head_dim {}, called with head_dim {head_dim}", table.head_dim()),
        ));
    }
    let width = product(OP, n_heads, head_dim)?;
    expect_len(OP, &format!("x [m={m}, n_heads={n_heads} x head_dim={head_dim}]"), x.len(), product(OP, m, width)?)?;
    expect_len(OP, &format!("positions [m={m}]"), positions.len(), m)?;
    if let Some((r, &p)) = positions.iter().enumerate().find(|(_, &p)| p >= table.max_positions()) {
        return Err(shape_err(
            OP,
            format!("positions[{r}] = {p} is beyond the table's {} positions", table.max_positions()),
        ));
    }
    Ok(())
}

/// Validates an `add` call: two slices of one length.
pub fn add(x: &[f32], y: &[f32]) -> Result<()> {
    expect_len("add", "y (length of x)", y.len(), x.len())
}

/// Validates a `hadamard` call: `x[rows, n]` with `n` the matrix's order.
pub fn hadamard(x: &[f32], rows: usize, h: &Hadamard) -> Result<()> {
    const OP: &str = "hadamard";
    let n = h.n();
    expect_len(OP, &format!("x [rows={rows}, n={n}]"), x.len(), product(OP, rows, n)?)
}

/// Validates an `attention` call: `q[m, n_heads, head_dim]`, `out` the same, `1 <= m <= len`,
/// `n_heads` a multiple of `n_kv_heads`, and K and V each `[len, kv_dim]` in their storage
/// ([`crate::kv`]: f16 elements, or int8/int4 words with scales and zeros per their axis).
pub fn attention(q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &[f32]) -> Result<()> {
    const OP: &str = "attention";
    let (hd, len, kvh) = (kv.head_dim, kv.len, kv.n_kv_heads);
    if hd == 0 || kvh == 0 || n_heads == 0 || !n_heads.is_multiple_of(kvh) {
        return Err(shape_err(
            OP,
            format!("n_heads {n_heads} must be a positive multiple of n_kv_heads {kvh}, head_dim {hd} positive"),
        ));
    }
    if m == 0 || m > len {
        return Err(shape_err(OP, format!("m = {m} queries over a cache of {len} positions (need 1 <= m <= len)")));
    }
    let width = product(OP, n_heads, hd)?;
    expect_len(OP, &format!("q [m={m}, n_heads={n_heads} x head_dim={hd}]"), q.len(), product(OP, m, width)?)?;
    expect_len(OP, &format!("out [m={m}, n_heads={n_heads} x head_dim={hd}]"), out.len(), product(OP, m, width)?)?;
    let kv_dim = product(OP, kvh, hd)?;
    let elems = product(OP, len, kv_dim)?;
    for (name, t) in [("K", &kv.k), ("V", &kv.v)] {
        match *t {
            KvTensor::F32(v) => expect_len(OP, &format!("{name} (f32) [len={len}, kv_dim={kv_dim}]"), v.len(), elems)?,
            KvTensor::F16(h) => expect_len(OP, &format!("{name} (f16) [len={len}, kv_dim={kv_dim}]"), h.len(), elems)?,
            KvTensor::Int { bits, codes, scales, zeros, axis } => {
                if bits != 8 && bits != 4 {
                    return Err(shape_err(OP, format!("{name}: int{bits} codes; int8 or int4 supported")));
                }
                let per = (32 / bits) as usize;
                if !kv_dim.is_multiple_of(per) {
                    return Err(shape_err(
                        OP,
                        format!("{name}: kv_dim {kv_dim} is not a multiple of {per} (whole words)"),
                    ));
                }
                expect_len(
                    OP,
                    &format!("{name} codes (int{bits} words) [len={len}, {}]", kv_dim / per),
                    codes.len(),
                    elems / per,
                )?;
                let (what, n) = match axis {
                    KvAxis::PerChannel => (format!("[kv_dim={kv_dim}]"), kv_dim),
                    KvAxis::PerToken => (format!("[len={len}, n_kv_heads={kvh}]"), product(OP, len, kvh)?),
                };
                expect_len(OP, &format!("{name} scales {what}"), scales.len(), n)?;
                if let Some(z) = zeros {
                    expect_len(OP, &format!("{name} zeros {what}"), z.len(), n)?;
                    let max = (1u32 << bits) - 1;
                    if let Some(i) = z.iter().position(|&v| u32::from(v) > max) {
                        return Err(shape_err(OP, format!("{name} zeros[{i}] = {} exceeds int{bits}'s {max}", z[i])));
                    }
                }
            }
        }
    }
    Ok(())
}

//! The `ref` backend: validates shapes, then runs the scalar `*_ref` functions of
//! [`crate::ops`] (single-threaded, `f64` accumulation). Slow; it exists to anchor tests.

use crate::backend::{Backend, DenseWeight};
use crate::error::Result;
use crate::hadamard::Hadamard;
use crate::kv::KvView;
use crate::ops::{self, RopeTable};
use crate::shapes;
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;

/// The scalar reference backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct RefBackend;

impl Backend for RefBackend {
    fn name(&self) -> &'static str {
        "ref"
    }

    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) -> Result<()> {
        shapes::matmul(x, m, k, &w, n, y)?;
        ops::matmul_ref(x, m, k, w, n, y);
        Ok(())
    }

    fn matmul_packed(&self, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()> {
        shapes::matmul_packed(x, m, w, y)?;
        ops::matmul_packed_ref(x, m, w, y);
        Ok(())
    }

    fn matmul_gguf(
        &self,
        x: &[f32],
        m: usize,
        k: usize,
        ty: GgmlType,
        blocks: &[u8],
        n: usize,
        y: &mut [f32],
    ) -> Result<()> {
        shapes::matmul_gguf(x, m, k, ty, blocks, n, y)?;
        ops::matmul_gguf_ref(x, m, k, ty, blocks, n, y);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn matmul_w8a8(
        &self,
        xq: &[i8],
        x_scales: &[f32],
        m: usize,
        k: usize,
        wq: &[i8],
        w_scales: &[f32],
        n: usize,
        y: &mut [f32],
    ) -> Result<()> {
        shapes::matmul_w8a8(xq, x_scales, m, k, wq, w_scales, n, y)?;
        ops::matmul_w8a8_ref(xq, x_scales, m, k, wq, w_scales, n, y);
        Ok(())
    }

    fn rms_norm(&self, x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) -> Result<()> {
        shapes::rms_norm(x, m, d, weight, out)?;
        ops::rms_norm_ref(x, m, d, weight, eps, out);
        Ok(())
    }

    fn silu_mul(&self, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()> {
        shapes::silu_mul(gate, up, out)?;
        ops::silu_mul_ref(gate, up, out);
        Ok(())
    }

    fn softmax(&self, x: &mut [f32], m: usize, n: usize) -> Result<()> {
        shapes::softmax(x, m, n)?;
        ops::softmax_ref(x, m, n);
        Ok(())
    }

    fn rope(
        &self,
        x: &mut [f32],
        m: usize,
        n_heads: usize,
        head_dim: usize,
        positions: &[usize],
        table: &RopeTable,
    ) -> Result<()> {
        shapes::rope(x, m, n_heads, head_dim, positions, table)?;
        ops::rope_ref(x, m, n_heads, head_dim, positions, table);
        Ok(())
    }

    fn attention(&self, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()> {
        shapes::attention(q, m, n_heads, kv, out)?;
        ops::attention_ref(q, m, n_heads, kv, out);
        Ok(())
    }

    fn add(&self, x: &mut [f32], y: &[f32]) -> Result<()> {
        shapes::add(x, y)?;
        ops::add_ref(x, y);
        Ok(())
    }

    fn hadamard(&self, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()> {
        shapes::hadamard(x, rows, h)?;
        ops::hadamard_ref(x, rows, h);
        Ok(())
    }
}

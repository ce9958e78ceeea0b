//! The `cuda` backend (feature `cuda`): CUDA C kernels compiled at run time with NVRTC and run
//! through the driver API (cudarc, with `libcuda` and `libnvrtc` loaded by `dlopen`, so the
//! build needs no CUDA toolkit and a machine without a driver, a device or NVRTC gets a
//! [`KernelError::Device`](crate::KernelError::Device) from [`CudaBackend::new`], never a panic).
//!
//! - `device`: context, stream, NVRTC compilation and the module cache (once per source and
//!   process, by source hash), the guarded library probes.
//! - `buffers`: uploads, zeroed outputs, read-backs, checked `u32` shapes, launch shapes.
//! - `bench`: device-side timing for benchmarks (launches captured in a CUDA graph and timed
//!   with events; device-to-device copy bandwidth; input rotation past L2).
//! - `sources`: the `.cu` files in `kernels/` (`include_str!`), all listed in [`sources::ALL`].
//! - one launcher per op: `matmul` (f32/bf16/f16 weights; GEMV and tiled GEMM), `matmul_packed`
//!   (W8/W4/W3/W2 A16; two int4 kernels, [`W4Variant`]), `matmul_gguf` (Q8_0 and Q4_0 on the
//!   device, other block types dequantized on the host), `matmul_w8a8` (int8 tensor cores or
//!   `__dp4a`, i32 accumulation, [`W8a8Variant`]), `rms_norm`, `silu_mul`, `softmax`, `rope`,
//!   `add`, `hadamard` (fast Walsh–Hadamard butterflies, then the base mix), `attention` (one
//!   block per query and head over an f16/int8/int4 KV cache).
//!
//! Like the WGSL backend, every [`Backend`] call round-trips through host memory (upload, run,
//! read back, which waits for the stream); weights can instead stay on the device
//! ([`CudaBackend::upload_dense`], [`CudaBackend::upload_packed`] and the `*_resident` calls),
//! and their inputs and outputs too ([`DenseIo`], [`PackedIo`] with `matmul::enqueue` and
//! `matmul_packed::enqueue`, which only launch). The model keeps its weights on the device
//! through [`Backend::prepare`] (`prepared`, [`CudaPrepared`]).
//! Shapes are checked with [`crate::shapes`] first, exactly as every other backend does.

mod add;
mod attention;
pub mod bench;
pub mod buffers;
pub mod device;
mod hadamard;
pub mod matmul;
pub mod matmul_gguf;
pub mod matmul_packed;
pub mod matmul_w4_mma;
pub mod matmul_w8a8;
mod prepared;
mod rms_norm;
mod rope;
mod silu_mul;
mod softmax;
pub mod sources;

pub use device::CudaDevice;
pub use matmul::{DenseIo, DenseVariant, GpuDense};
pub use matmul_gguf::GpuBlocks;
pub use matmul_packed::{GpuPacked, PackedIo, W4Variant};
pub use matmul_w8a8::{GpuW8, W8a8Io, W8a8Variant};
pub use prepared::CudaPrepared;

use crate::backend::{Backend, DenseWeight};
use crate::error::Result;
use crate::hadamard::Hadamard;
use crate::kv::KvView;
use crate::ops::RopeTable;
use crate::prepared::{downcast, PreparedWeight, WeightView};
use crate::shapes;
use device::guarded;
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;
use std::sync::Arc;

/// The CUDA backend: the process-wide device, the dense-matmul variant and the int4 kernel.
#[derive(Clone, Debug)]
pub struct CudaBackend {
    dev: Arc<CudaDevice>,
    dense: DenseVariant,
    w4: W4Variant,
}

impl CudaBackend {
    /// Device 0 with the automatic dense variant and [`W4Variant::Mma`] (the tensor-core int4
    /// kernel on sm_80+ where the weight allows it, else the wide kernel for one x row, 1.2–1.9×
    /// the tuned one on an H200, `reports/kernels-h200.md`, and the tuned one for more rows).
    /// Fails with
    /// [`KernelError::Device`](crate::KernelError::Device) when the driver, a device or NVRTC is missing.
    pub fn new() -> Result<Self> {
        Ok(CudaBackend { dev: CudaDevice::shared()?, dense: DenseVariant::Auto, w4: W4Variant::Mma })
    }

    /// The same backend with another dense-matmul variant.
    pub fn with_dense_variant(mut self, variant: DenseVariant) -> Self {
        self.dense = variant;
        self
    }

    /// The same backend with another int4 kernel (weights that are not int4 without act-order
    /// always take the simple kernel).
    pub fn with_w4_variant(mut self, variant: W4Variant) -> Self {
        self.w4 = variant;
        self
    }

    /// The int4 kernel in use.
    pub fn w4_variant(&self) -> W4Variant {
        self.w4
    }

    /// The device.
    pub fn device(&self) -> &CudaDevice {
        &self.dev
    }

    /// Uploads a dense weight `W[n, k]` to stay on the device.
    pub fn upload_dense(&self, w: DenseWeight<'_>, n: usize, k: usize) -> Result<GpuDense> {
        shapes::expect_len("matmul", &format!("W ({}) [n={n}, k={k}]", w.dtype_name()), w.len(), n * k)?;
        guarded("matmul", || GpuDense::upload(&self.dev, w, n, k))
    }

    /// `y[m, n] = x[m, k] · W[n, k]ᵀ` for a resident dense weight.
    pub fn matmul_resident(&self, x: &[f32], m: usize, w: &GpuDense, y: &mut [f32]) -> Result<()> {
        shapes::expect_len("matmul", &format!("x [m={m}, k={}]", w.k()), x.len(), m * w.k())?;
        shapes::expect_len("matmul", &format!("y [m={m}, n={}]", w.n()), y.len(), m * w.n())?;
        guarded("matmul", || matmul::run(&self.dev, self.dense, x, m, w, y))
    }

    /// Uploads a packed weight to stay on the device (the tensor-core layout only when this
    /// backend's int4 kernel is [`W4Variant::Mma`]).
    pub fn upload_packed(&self, w: &PackedWeight) -> Result<GpuPacked> {
        guarded("matmul_packed", || GpuPacked::upload_for(&self.dev, w, self.w4 == W4Variant::Mma))
    }

    /// Uploads an int8 weight `wq[n, k]` and its row scales to stay on the device (W8A8).
    pub fn upload_w8a8(&self, wq: &[i8], w_scales: &[f32], n: usize, k: usize) -> Result<matmul_w8a8::GpuW8> {
        guarded("matmul_w8a8", || matmul_w8a8::GpuW8::upload(&self.dev, wq, w_scales, n, k))
    }

    /// Uploads GGML blocks (validated) to stay on the device when their type has a kernel;
    /// `None` for the types decoded on the host.
    pub fn upload_blocks(&self, ty: GgmlType, blocks: &[u8], n: usize, k: usize) -> Result<Option<GpuBlocks>> {
        guarded("matmul_gguf", || GpuBlocks::upload(&self.dev, ty, blocks, n, k))
    }

    /// `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for resident GGML blocks.
    pub fn matmul_blocks_resident(&self, x: &[f32], m: usize, w: &GpuBlocks, y: &mut [f32]) -> Result<()> {
        shapes::expect_len("matmul_gguf", &format!("x [m={m}, k={}]", w.k()), x.len(), m * w.k())?;
        shapes::expect_len("matmul_gguf", &format!("y [m={m}, n={}]", w.n()), y.len(), m * w.n())?;
        guarded("matmul_gguf", || matmul_gguf::run_resident(&self.dev, x, m, w, y))
    }

    /// `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for a resident packed weight, with this
    /// backend's [`W4Variant`].
    pub fn matmul_packed_resident(&self, x: &[f32], m: usize, w: &GpuPacked, y: &mut [f32]) -> Result<()> {
        self.matmul_packed_resident_with(self.w4, x, m, w, y)
    }

    /// [`Self::matmul_packed_resident`] with an explicit int4 kernel (to compare the two).
    pub fn matmul_packed_resident_with(
        &self,
        variant: W4Variant,
        x: &[f32],
        m: usize,
        w: &GpuPacked,
        y: &mut [f32],
    ) -> Result<()> {
        shapes::expect_len("matmul_packed", &format!("x [m={m}, k={}]", w.k()), x.len(), m * w.k())?;
        shapes::expect_len("matmul_packed", &format!("y [m={m}, n={}]", w.n()), y.len(), m * w.n())?;
        guarded("matmul_packed", || matmul_packed::run(&self.dev, variant, x, m, w, y))
    }

    /// [`Backend::matmul_w8a8`] (int8 tensor cores on sm_80+ from [`matmul_w8a8::MMA_MIN_M`]
    /// rows, `__dp4a` otherwise) with an explicit kernel ([`W8a8Variant::Mma`] is an error before
    /// sm_80).
    #[allow(clippy::too_many_arguments)]
    pub fn matmul_w8a8_with(
        &self,
        variant: W8a8Variant,
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
        guarded("matmul_w8a8", || matmul_w8a8::run(&self.dev, variant, xq, x_scales, m, k, wq, w_scales, n, y))
    }
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) -> Result<()> {
        shapes::matmul(x, m, k, &w, n, y)?;
        if m == 0 || n == 0 {
            return Ok(());
        }
        let gw = self.upload_dense(w, n, k)?;
        self.matmul_resident(x, m, &gw, y)
    }

    fn matmul_packed(&self, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()> {
        shapes::matmul_packed(x, m, w, y)?;
        if m == 0 || w.n() == 0 {
            return Ok(());
        }
        let gw = self.upload_packed(w)?;
        self.matmul_packed_resident(x, m, &gw, y)
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
        guarded("matmul_gguf", || matmul_gguf::run(&self.dev, self.dense, x, m, k, ty, blocks, n, y))
    }

    fn prepare(&self, w: WeightView<'_>) -> Result<Option<Box<dyn PreparedWeight>>> {
        Ok(Some(Box::new(prepared::prepare(self, w)?)))
    }

    fn matmul_prepared(&self, x: &[f32], m: usize, w: &dyn PreparedWeight, y: &mut [f32]) -> Result<()> {
        match downcast::<CudaPrepared>(self.name(), w)? {
            CudaPrepared::Dense(d) => self.matmul_resident(x, m, d, y),
            CudaPrepared::Packed(p) => self.matmul_packed_resident(x, m, p, y),
            CudaPrepared::Blocks(b) => self.matmul_blocks_resident(x, m, b, y),
            CudaPrepared::W8a8(_) => Err(crate::prepared::wrong_kind(true)),
        }
    }

    fn matmul_w8a8_prepared(
        &self,
        xq: &[i8],
        x_scales: &[f32],
        m: usize,
        w: &dyn PreparedWeight,
        y: &mut [f32],
    ) -> Result<()> {
        let CudaPrepared::W8a8(gw) = downcast::<CudaPrepared>(self.name(), w)? else {
            return Err(crate::prepared::wrong_kind(false));
        };
        shapes::matmul_w8a8_prepared(xq, x_scales, m, [gw.n(), gw.k()], y)?;
        guarded("matmul_w8a8", || matmul_w8a8::run_resident(&self.dev, W8a8Variant::Auto, xq, x_scales, m, gw, y))
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
        self.matmul_w8a8_with(W8a8Variant::Auto, xq, x_scales, m, k, wq, w_scales, n, y)
    }

    fn rms_norm(&self, x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) -> Result<()> {
        shapes::rms_norm(x, m, d, weight, out)?;
        guarded("rms_norm", || rms_norm::run(&self.dev, x, m, d, weight, eps, out))
    }

    fn silu_mul(&self, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()> {
        shapes::silu_mul(gate, up, out)?;
        guarded("silu_mul", || silu_mul::run(&self.dev, gate, up, out))
    }

    fn softmax(&self, x: &mut [f32], m: usize, n: usize) -> Result<()> {
        shapes::softmax(x, m, n)?;
        guarded("softmax", || softmax::run(&self.dev, x, m, n))
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
        guarded("rope", || rope::run(&self.dev, x, m, n_heads, head_dim, positions, table))
    }

    fn attention(&self, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()> {
        shapes::attention(q, m, n_heads, kv, out)?;
        guarded("attention", || attention::run(&self.dev, q, m, n_heads, kv, out))
    }

    fn add(&self, x: &mut [f32], y: &[f32]) -> Result<()> {
        shapes::add(x, y)?;
        guarded("add", || add::run(&self.dev, x, y))
    }

    fn hadamard(&self, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()> {
        shapes::hadamard(x, rows, h)?;
        guarded("hadamard", || hadamard::run(&self.dev, x, rows, h))
    }
}

//! The `wgsl` backend: WGSL compute shaders run through wgpu (Vulkan, Metal, DX12; in CI on
//! Mesa's lavapipe, a CPU Vulkan driver, so CI timings say nothing about GPUs).
//!
//! - `device`: adapter and device (no adapter is [`KernelError::Device`], never a panic).
//! - `buffers`: storage/uniform buffers, a batch of dispatches with one read-back, and the
//!   split of weights by rows into chunks that fit `max_storage_buffer_binding_size`.
//! - `pipelines`: shaders from `shaders/*.wgsl` (`include_str!`), compiled at run time per
//!   (shader, prelude, override constants) and cached per device.
//! - one launcher per op: `matmul` (GEMV and tiled GEMM over f32/bf16/f16 weights),
//!   `matmul_packed` (W8A16/W4A16/W3A16/W2A16, sym and asym, f32/f16/bf16 group scales,
//!   act-order), `matmul_w8a8` (int8 x int8, i32 accumulation, `dot4I8Packed`), `rms_norm`,
//!   `silu_mul`, `softmax`, `rope`, `add`, `hadamard` (butterfly stages, then the base mix),
//!   `attention` (one workgroup per query and head over an f16/int8/int4 KV cache).
//!
//! The API is synchronous and every [`Backend`] call round-trips through host memory: inputs
//! are uploaded, the kernel runs, the output is read back. Weights can instead be uploaded
//! once ([`WgslBackend::upload_dense`], [`WgslBackend::upload_packed`]) and reused
//! (`*_resident`): the benchmark times that, and the model does it through
//! [`Backend::prepare`] (`prepared`: GGML blocks become a resident f32 weight).
//! `matmul_gguf` dequantizes the GGML blocks to f32 on the host and runs the dense kernel (no
//! GGUF shader yet). Elementwise ops and activations are not split over the binding limit:
//! a call whose buffer exceeds it is an error.

mod add;
mod attention;
pub mod buffers;
pub mod device;
pub mod gpu_timer;
mod hadamard;
pub mod matmul;
pub mod matmul_packed;
pub mod matmul_w8a8;
pub mod pipelines;
mod prepared;
mod rms_norm;
mod rope;
mod silu_mul;
mod softmax;

pub use device::Gpu;
pub use matmul::{DenseVariant, GpuDense};
pub use matmul_packed::GpuPacked;
pub use prepared::WgslPrepared;

use crate::backend::{Backend, DenseWeight};
use crate::error::{KernelError, Result};
use crate::hadamard::Hadamard;
use crate::kv::KvView;
use crate::ops::RopeTable;
use crate::prepared::{dequantize_gguf, downcast, PreparedWeight, WeightView};
use crate::shapes;
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;
use std::sync::Arc;

/// The WGSL backend: a device, the dense-matmul variant, and the binding size weights are
/// split at (the device's limit unless lowered for tests).
#[derive(Clone, Debug)]
pub struct WgslBackend {
    gpu: Arc<Gpu>,
    variant: DenseVariant,
    max_binding: u64,
    subgroups: bool,
}

impl WgslBackend {
    /// The process-wide device with the automatic dense variant.
    pub fn new() -> Result<Self> {
        Self::with_variant(DenseVariant::Auto)
    }

    /// The process-wide device with a chosen dense variant.
    pub fn with_variant(variant: DenseVariant) -> Result<Self> {
        let gpu = Gpu::shared()?;
        let (max_binding, subgroups) = (gpu.max_binding, gpu.subgroups);
        Ok(WgslBackend { gpu, variant, max_binding, subgroups })
    }

    /// The same backend with the kernels that can use subgroups using workgroup memory
    /// instead, as on an adapter without them (tests of that path).
    pub fn without_subgroups(mut self) -> Self {
        self.subgroups = false;
        self
    }

    /// The same backend splitting weights at `bytes` per binding (at most the device's
    /// limit), so tests can exercise the split on small weights.
    pub fn with_max_binding(mut self, bytes: u64) -> Self {
        self.max_binding = bytes.clamp(64, self.gpu.max_binding);
        self
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Uploads a dense weight `W[n, k]` to stay on the device.
    pub fn upload_dense(&self, w: DenseWeight<'_>, n: usize, k: usize) -> Result<GpuDense> {
        shapes::expect_len("matmul", &format!("W ({}) [n={n}, k={k}]", w.dtype_name()), w.len(), n * k)?;
        GpuDense::upload(&self.gpu, w, n, k, self.max_binding)
    }

    /// `y[m, n] = x[m, k] · W[n, k]ᵀ` for a resident dense weight.
    pub fn matmul_resident(&self, x: &[f32], m: usize, w: &GpuDense, y: &mut [f32]) -> Result<()> {
        shapes::expect_len("matmul", &format!("x [m={m}, k={}]", w.k()), x.len(), m * w.k())?;
        shapes::expect_len("matmul", &format!("y [m={m}, n={}]", w.n()), y.len(), m * w.n())?;
        self.fits("matmul", x.len())?;
        matmul::run(&self.gpu, self.variant, x, m, w, y)
    }

    /// Uploads a packed weight to stay on the device.
    pub fn upload_packed(&self, w: &PackedWeight) -> Result<GpuPacked> {
        GpuPacked::upload(&self.gpu, w, self.max_binding)
    }

    /// `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for a resident packed weight.
    pub fn matmul_packed_resident(&self, x: &[f32], m: usize, w: &GpuPacked, y: &mut [f32]) -> Result<()> {
        shapes::expect_len("matmul_packed", &format!("x [m={m}, k={}]", w.k()), x.len(), m * w.k())?;
        shapes::expect_len("matmul_packed", &format!("y [m={m}, n={}]", w.n()), y.len(), m * w.n())?;
        self.fits("matmul_packed", x.len().max(y.len()))?;
        matmul_packed::run(&self.gpu, self.kernel_choice(), x, m, w, y)
    }

    /// GPU seconds of one [`Self::matmul_packed_resident`] dispatch, from timestamp queries
    /// around `reps` dispatches in one compute pass cycling through the copies `ws` of one
    /// weight (benchmarks); `None` when the adapter has no timestamp queries.
    pub fn matmul_packed_gpu_seconds(&self, x: &[f32], m: usize, ws: &[GpuPacked], reps: usize) -> Result<Option<f64>> {
        let Some(w) = ws.first() else { return Ok(None) };
        shapes::expect_len("matmul_packed", &format!("x [m={m}, k={}]", w.k()), x.len(), m * w.k())?;
        self.fits("matmul_packed", x.len().max(m * w.n()))?;
        matmul_packed::gpu_seconds(&self.gpu, self.kernel_choice(), x, m, ws, reps)
    }

    /// The kernel variant and whether subgroups may be used.
    fn kernel_choice(&self) -> matmul_packed::Choice {
        matmul_packed::Choice { variant: self.variant, subgroups: self.subgroups }
    }

    /// Errors when `len` f32s would not fit one binding (activations are not split).
    fn fits(&self, op: &'static str, len: usize) -> Result<()> {
        if (len as u64) * 4 > self.gpu.max_binding {
            return Err(KernelError::Unsupported {
                op,
                what: format!(
                    "a {len}-element buffer in one binding (the device allows {} bytes)",
                    self.gpu.max_binding
                ),
            });
        }
        Ok(())
    }
}

impl Backend for WgslBackend {
    fn name(&self) -> &'static str {
        "wgsl"
    }

    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) -> Result<()> {
        shapes::matmul(x, m, k, &w, n, y)?;
        let gw = self.upload_dense(w, n, k)?;
        self.matmul_resident(x, m, &gw, y)
    }

    fn matmul_packed(&self, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()> {
        shapes::matmul_packed(x, m, w, y)?;
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
        let dense = dequantize_gguf(ty, blocks, n, k)?;
        self.matmul(x, m, k, DenseWeight::F32(&dense), n, y)
    }

    fn prepare(&self, w: WeightView<'_>) -> Result<Option<Box<dyn PreparedWeight>>> {
        Ok(Some(Box::new(prepared::prepare(self, w)?)))
    }

    fn matmul_prepared(&self, x: &[f32], m: usize, w: &dyn PreparedWeight, y: &mut [f32]) -> Result<()> {
        match downcast::<WgslPrepared>(self.name(), w)? {
            WgslPrepared::Dense(d) => self.matmul_resident(x, m, d, y),
            WgslPrepared::Packed(p) => self.matmul_packed_resident(x, m, p, y),
            WgslPrepared::W8a8(_) => Err(crate::prepared::wrong_kind(true)),
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
        let WgslPrepared::W8a8(gw) = downcast::<WgslPrepared>(self.name(), w)? else {
            return Err(crate::prepared::wrong_kind(false));
        };
        shapes::matmul_w8a8_prepared(xq, x_scales, m, [gw.n(), gw.k()], y)?;
        self.fits("matmul_w8a8", y.len() * 4)?;
        matmul_w8a8::run_resident(&self.gpu, matmul_w8a8::W8a8Variant::Auto, xq, x_scales, m, gw, y)
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
        self.fits("matmul_w8a8", wq.len().max(y.len() * 4))?;
        matmul_w8a8::run(&self.gpu, matmul_w8a8::W8a8Variant::Auto, xq, x_scales, m, k, wq, w_scales, n, y)
    }

    fn rms_norm(&self, x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) -> Result<()> {
        shapes::rms_norm(x, m, d, weight, out)?;
        self.fits("rms_norm", x.len())?;
        rms_norm::run(&self.gpu, x, m, d, weight, eps, out)
    }

    fn silu_mul(&self, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()> {
        shapes::silu_mul(gate, up, out)?;
        self.fits("silu_mul", gate.len())?;
        silu_mul::run(&self.gpu, gate, up, out)
    }

    fn softmax(&self, x: &mut [f32], m: usize, n: usize) -> Result<()> {
        shapes::softmax(x, m, n)?;
        self.fits("softmax", x.len())?;
        softmax::run(&self.gpu, x, m, n)
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
        self.fits("rope", x.len())?;
        rope::run(&self.gpu, x, m, n_heads, head_dim, positions, table)
    }

    fn attention(&self, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()> {
        shapes::attention(q, m, n_heads, kv, out)?;
        self.fits("attention", q.len())?;
        self.fits("attention", m * n_heads * kv.len)?;
        self.fits("attention", kv.len * kv.kv_dim())?;
        attention::run(&self.gpu, q, m, n_heads, kv, out)
    }

    fn add(&self, x: &mut [f32], y: &[f32]) -> Result<()> {
        shapes::add(x, y)?;
        self.fits("add", x.len())?;
        add::run(&self.gpu, x, y)
    }

    fn hadamard(&self, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()> {
        shapes::hadamard(x, rows, h)?;
        self.fits("hadamard", x.len())?;
        hadamard::run(&self.gpu, x, rows, h)
    }
}

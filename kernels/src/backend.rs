//! The [`Backend`] trait every implementation (reference, CPU, later CUDA and WGSL) provides,
//! and the borrowed [`DenseWeight`] it multiplies by. All buffers are row-major `f32` on the
//! host; a backend validates shapes with [`crate::shapes`] and returns
//! [`KernelError::Shape`](crate::KernelError::Shape) when they do not fit.

use crate::error::Result;
use crate::hadamard::Hadamard;
use crate::kv::KvView;
use crate::ops::rope::RopeTable;
use crate::prepared::{PreparedWeight, WeightView};
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;

/// A dense weight matrix `W[n, k]`, row-major (`n` output rows of `k` inputs each), borrowed.
#[derive(Clone, Copy, Debug)]
pub enum DenseWeight<'a> {
    /// 32-bit floats.
    F32(&'a [f32]),
    /// bfloat16, as HF checkpoints store most weights.
    BF16(&'a [half::bf16]),
    /// IEEE half precision.
    F16(&'a [half::f16]),
}

impl DenseWeight<'_> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            DenseWeight::F32(w) => w.len(),
            DenseWeight::BF16(w) => w.len(),
            DenseWeight::F16(w) => w.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per element (4 or 2).
    pub fn elem_bytes(&self) -> usize {
        match self {
            DenseWeight::F32(_) => 4,
            DenseWeight::BF16(_) | DenseWeight::F16(_) => 2,
        }
    }

    /// The element type's name: `f32`, `bf16` or `f16`.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            DenseWeight::F32(_) => "f32",
            DenseWeight::BF16(_) => "bf16",
            DenseWeight::F16(_) => "f16",
        }
    }

    /// Element `i` widened to `f32` (exact for every type).
    pub fn get_f32(&self, i: usize) -> f32 {
        match self {
            DenseWeight::F32(w) => w[i],
            DenseWeight::BF16(w) => w[i].to_f32(),
            DenseWeight::F16(w) => w[i].to_f32(),
        }
    }
}

/// A set of kernels. Every method validates its shapes first and returns an error (never
/// panics) when they do not fit; outputs are overwritten, never accumulated into, unless the
/// method says "in place".
pub trait Backend: Send + Sync {
    /// A short name (`ref`, `cpu`, ...).
    fn name(&self) -> &'static str;

    /// Whether the backend's ops fork onto rayon's pool on the host (the CPU backends). A
    /// caller that issues many ops in a row (a model step) then runs them from inside the pool
    /// ([`rayon::scope`]), so each op's split is a worker's local push instead of a cross-thread
    /// injection and wake-up (tens of microseconds, hundreds of times per decoded token).
    fn host_parallel(&self) -> bool {
        false
    }

    /// `y[m, n] = x[m, k] · W[n, k]ᵀ` (x and y row-major f32; y overwritten).
    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) -> Result<()>;

    /// `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for a weight in qtool's packed layout (int2/3/4/8,
    /// symmetric or asymmetric, any group size, act-order); `n` and `k` come from `w`.
    /// Must match [`crate::ops::matmul_packed_ref`].
    fn matmul_packed(&self, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()>;

    /// `y[m, n] = x[m, k] · dequant(W)[n, k]ᵀ` for a weight stored as GGML blocks of type `ty`
    /// (`blocks`: `n` rows of `k / block_size` blocks, as in a GGUF file). Must match
    /// [`crate::ops::matmul_gguf_ref`].
    #[allow(clippy::too_many_arguments)]
    fn matmul_gguf(
        &self,
        x: &[f32],
        m: usize,
        k: usize,
        ty: GgmlType,
        blocks: &[u8],
        n: usize,
        y: &mut [f32],
    ) -> Result<()>;

    /// W8A8: `y[i, j] = (Σ_k xq[i, k] · wq[j, k]) as f32 · x_scales[i] · w_scales[j]` from int8
    /// activations `xq[m, k]` (one scale per row: dynamic per-token quantization, e.g.
    /// [`crate::ops::quantize_rows_i8_ref`]) and int8 weights `wq[n, k]` (one scale per output
    /// channel), the sum exact in i32. Must match [`crate::ops::matmul_w8a8_ref`] bit for bit.
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
    ) -> Result<()>;

    /// [`Backend::matmul_w8a8`] with the weight in qtool's packed layout (int8 symmetric,
    /// per-channel, no act-order: [`crate::ops::w8a8_packed_supported`]; its codes minus 128
    /// are `wq`, its scales `w_scales`), the same bits. The default unpacks the codes on the
    /// host on every call; the CPU reads the packed bytes directly.
    fn matmul_w8a8_packed(&self, xq: &[i8], x_scales: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()> {
        crate::shapes::matmul_w8a8_packed(xq, x_scales, m, w, y)?;
        let wq = crate::ops::w8a8_packed_codes(w);
        self.matmul_w8a8(xq, x_scales, m, w.k(), &wq, w.scales(), w.n(), y)
    }

    /// Makes `w` ready for [`Backend::matmul_prepared`] (uploads it to the device, ...), or
    /// `None` (the default) when this backend reads host weights in place and the plain
    /// methods are already its fastest path. See [`crate::prepared`].
    fn prepare(&self, w: WeightView<'_>) -> Result<Option<Box<dyn PreparedWeight>>> {
        let _ = w;
        Ok(None)
    }

    /// [`Backend::matmul_w8a8_packed`] for a weight this backend prepared from a
    /// [`WeightView::W8a8`](crate::WeightView::W8a8): the same bits, without the per-call upload.
    fn matmul_w8a8_prepared(
        &self,
        xq: &[i8],
        x_scales: &[f32],
        m: usize,
        w: &dyn PreparedWeight,
        y: &mut [f32],
    ) -> Result<()> {
        let _ = (xq, x_scales, m, y);
        Err(crate::KernelError::Unsupported {
            op: "matmul_w8a8_prepared",
            what: format!(
                "weight prepared by '{}': the '{}' backend prepares no W8A8 weight",
                w.backend(),
                self.name()
            ),
        })
    }

    /// `y[m, n] = x[m, k] · Wᵀ` for a weight this backend's [`Backend::prepare`] made; the
    /// same bits as the plain method on the original weight.
    fn matmul_prepared(&self, x: &[f32], m: usize, w: &dyn PreparedWeight, y: &mut [f32]) -> Result<()> {
        let _ = (x, m, y);
        Err(crate::KernelError::Unsupported {
            op: "matmul_prepared",
            what: format!("weight prepared by '{}': the '{}' backend prepares none", w.backend(), self.name()),
        })
    }

    /// RMSNorm as in HF Llama/Qwen2: `out[r, i] = x[r, i] / sqrt(mean_i(x[r, i]²) + eps) *
    /// weight[i]` for each of the `m` rows of `d` values.
    fn rms_norm(&self, x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) -> Result<()>;

    /// SwiGLU's gating: `out[i] = silu(gate[i]) * up[i]` with `silu(g) = g / (1 + e^-g)`.
    /// All three slices have the same length.
    fn silu_mul(&self, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()>;

    /// Softmax in place over each of the `m` rows of `n` values. `-inf` entries (masked
    /// positions) become 0; a row must hold at least one finite value.
    fn softmax(&self, x: &mut [f32], m: usize, n: usize) -> Result<()>;

    /// Rotary position embedding in place, HF "rotate_half" convention: `x[m, n_heads *
    /// head_dim]`; row `r` sits at position `positions[r]`; in each head the pairs `(i, i +
    /// head_dim/2)` are rotated by the angle `positions[r] * table.inv_freq[i]`.
    fn rope(
        &self,
        x: &mut [f32],
        m: usize,
        n_heads: usize,
        head_dim: usize,
        positions: &[usize],
        table: &RopeTable,
    ) -> Result<()>;

    /// Causal attention of `q[m, n_heads, head_dim]` (the last `m` of `kv.len` positions) over
    /// one layer's KV cache in f16 or int8/int4 storage ([`crate::kv`]), grouped-query heads:
    /// `out[m, n_heads, head_dim]`. Must match [`crate::ops::attention_ref`].
    fn attention(&self, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()>;

    /// `x[i] += y[i]` in place (residual connections). Both slices have the same length.
    fn add(&self, x: &mut [f32], y: &[f32]) -> Result<()>;

    /// Hadamard rotation in place (QuaRot): each of the `rows` rows of `x[rows, n]` (`n =
    /// h.n()`), seen as a column vector, becomes `H · x` with `H` exactly [`Hadamard::matrix`].
    /// Must match [`crate::ops::hadamard_ref`].
    fn hadamard(&self, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()>;
}

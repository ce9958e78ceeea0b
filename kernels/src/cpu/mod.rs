//! The `cpu` backend: rayon across cores, eight-lane SIMD (AVX2+FMA+F16C when the CPU has it,
//! portable Rust otherwise) inside. Also the machine measurements (`bandwidth`, `flops`) that
//! benches compare kernels against. Quantized weights (qtool's packed layout, GGML blocks) are
//! dequantized in the loop into a small `f32` panel and run through the dense tiles. Opt-in
//! (`cpu-q8`, [`CpuBackend::with_int8_activations`]; the default `auto` backend): packed
//! weights with int2, int3, int4 or int8 codes whose groups and `k` are multiples of 32
//! (`dequant::packed_q8`, an AVX2 decoder per width in `dequant::packed_q8_codes`) and GGML
//! block weights of every type `matmul_gguf` takes (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K,
//! Q6_K: `dequant::gguf_q8`, read in place) multiply int8-quantized activations in integers
//! instead. Act-order packed weights whose groups are a permutation of contiguous groups
//! (GPTQ's `desc_act`) take it too with their columns permuted (`dequant::packed_q8_act`:
//! [`prepare`](Backend::prepare) permutes them once, each call gathers x). On a CPU with
//! AVX-512 VNNI, `cpu-q8` also prepares the packed weights at load into 16-row interleaved
//! tiles for `vpdpbusd` (`dequant::packed_q8_vnni`), the same bits. W8A8 (int8 × int8, i32
//! sums) is `matmul_w8a8`; on AVX-512 VNNI both CPU backends prepare W8A8 weights into such
//! tiles too (`matmul_w8a8_vnni`).

mod add;
mod attention;
pub mod bandwidth;
mod dequant;
pub mod flops;
mod hadamard;
pub mod int8_peak;
pub mod matmul;
mod matmul_w8a8;
mod matmul_w8a8_vnni;
mod par;
mod rms_norm;
mod rope;
mod silu_mul;
pub mod simd;
mod softmax;
mod tiles16;

pub use matmul::MatmulVariant;
pub use simd::Isa;

use crate::backend::{Backend, DenseWeight};
use crate::error::{KernelError, Result};
use crate::hadamard::Hadamard;
use crate::kv::KvView;
use crate::ops::RopeTable;
use crate::prepared::{downcast, PreparedWeight, WeightView};
use crate::shapes;
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;

/// The CPU backend: a matmul variant and an instruction set. Results are deterministic for
/// the same inputs, variant and instruction set, whatever the number of rayon threads; every
/// matmul variant gives the same bits (see [`matmul`]).
///
/// With [`with_int8_activations`](CpuBackend::with_int8_activations) (off by default; backend
/// name `cpu-q8`), `matmul_packed` on int2, int3, int4 and int8 weights whose groups and `k`
/// are multiples of 32 (without act-order, or with groups that are a permutation of contiguous
/// groups: [`crate::ops::act_order_perm`]), and `matmul_gguf` on every GGML block type it takes
/// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K), quantize the activations to int8 per block of 32 (llama.cpp's
/// Q8_0) and sum in integers ([`crate::ops::matmul_packed_q8_ref`],
/// [`crate::ops::matmul_gguf_q8_ref`]): an approximation of the f32 path (normalised MSE about
/// `1/(4·127²)` for uniform activations), several times faster at decode.
#[derive(Clone, Copy, Debug)]
pub struct CpuBackend {
    variant: MatmulVariant,
    isa: Isa,
    int8_act: bool,
    vnni: bool,
}

impl Default for CpuBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuBackend {
    /// The default matmul variant with the best instruction set this CPU has.
    pub fn new() -> Self {
        CpuBackend { variant: MatmulVariant::default(), isa: Isa::detect(), int8_act: false, vnni: true }
    }

    /// A chosen variant and instruction set; fails if the CPU lacks `isa`.
    pub fn with(variant: MatmulVariant, isa: Isa) -> Result<Self> {
        if !isa.is_available() {
            return Err(KernelError::IsaUnavailable { isa: isa.name() });
        }
        Ok(CpuBackend { variant, isa, int8_act: false, vnni: true })
    }

    /// The matmul variant in use.
    pub fn variant(&self) -> MatmulVariant {
        self.variant
    }

    /// The instruction set in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Turns the int8-activation path on or off (off by default): `matmul_packed` on int2, int3,
    /// int4 and int8 weights with groups and `k` multiples of 32 (no act-order, or act-order
    /// groups that are a permutation of contiguous ones), and `matmul_gguf` on
    /// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K blocks, quantize x to int8 per block of
    /// 32 columns and sum in integers, equal bit for bit to [`crate::ops::matmul_packed_q8_ref`]
    /// and [`crate::ops::matmul_gguf_q8_ref`] (the scalar references themselves without AVX2).
    /// Other weights (dense f32/f16/bf16, other packed weights) and every other op are
    /// unchanged. The plain `matmul_packed` on an act-order weight permutes its codes on every
    /// call (the prepared weight does it once): prepare such weights.
    pub fn with_int8_activations(mut self, on: bool) -> Self {
        self.int8_act = on;
        self
    }

    /// Whether the int8-activation path is on.
    pub fn int8_activations(&self) -> bool {
        self.int8_act
    }

    /// Lets the CPU's integer kernels use AVX-512 VNNI where the CPU has it (on by default): the
    /// `cpu-q8` GGML kernels' `vpdpbusd` dots (16-row tiles in 512-bit vectors for `m >= 2`),
    /// and [`prepare`](Backend::prepare)'s VNNI tiles. Off, they run the plain AVX2 kernels (and
    /// `prepare` makes no tiles: only act-order packed weights' permuted form, for the AVX2
    /// kernels): the same bits, for comparisons and tests.
    pub fn with_vnni(mut self, on: bool) -> Self {
        self.vnni = on;
        self
    }

    /// Whether AVX-512 VNNI kernels may run (see [`with_vnni`](CpuBackend::with_vnni)).
    pub fn vnni(&self) -> bool {
        self.vnni
    }
}

impl Backend for CpuBackend {
    fn host_parallel(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        if self.int8_act {
            "cpu-q8"
        } else {
            "cpu"
        }
    }

    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) -> Result<()> {
        shapes::matmul(x, m, k, &w, n, y)?;
        matmul::matmul(self.variant, self.isa, x, m, k, w, n, y);
        Ok(())
    }

    fn matmul_packed(&self, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()> {
        shapes::matmul_packed(x, m, w, y)?;
        if self.int8_act && crate::ops::q8_supported(w) {
            if w.g_idx().is_some() {
                dequant::packed_q8_act::matmul_plain(self.isa, x, m, w, y);
            } else {
                dequant::packed_q8::matmul(self.isa, x, m, w, y);
            }
        } else {
            dequant::packed::matmul(self.isa, x, m, w, y);
        }
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
        if self.int8_act && dequant::gguf_q8::supported(ty) {
            dequant::gguf_q8::matmul(self.isa, self.vnni, x, m, k, ty, blocks, n, y);
        } else {
            dequant::gguf::matmul(self.isa, x, m, k, ty, blocks, n, y);
        }
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
        matmul_w8a8::matmul(self.isa, xq, x_scales, m, k, wq, w_scales, n, y);
        Ok(())
    }

    fn matmul_w8a8_packed(&self, xq: &[i8], x_scales: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()> {
        shapes::matmul_w8a8_packed(xq, x_scales, m, w, y)?;
        matmul_w8a8::matmul_packed(self.isa, xq, x_scales, m, w, y);
        Ok(())
    }

    /// On an AVX2 CPU with AVX-512 VNNI: W8A8 weights ([`WeightView::W8a8`], int8 symmetric
    /// per-channel), and with `cpu-q8` the packed weights its integer path serves (int2/3/4/8),
    /// repacked into 16-row interleaved tiles for `vpdpbusd`. With `cpu-q8` on any AVX2 CPU,
    /// act-order packed weights its integer path serves, their columns permuted once so that
    /// the groups are contiguous (and tiled with VNNI). Nothing else (the plain calls read host
    /// weights in place); without VNNI or with [`with_vnni(false)`](CpuBackend::with_vnni) no
    /// tiles.
    fn prepare(&self, w: WeightView<'_>) -> Result<Option<Box<dyn PreparedWeight>>> {
        if self.isa != Isa::Avx2Fma {
            return Ok(None);
        }
        let vnni = self.vnni && dequant::packed_q8_vnni::available();
        Ok(match w {
            WeightView::Packed(p) if self.int8_act && p.g_idx().is_some() && crate::ops::q8_supported(p) => {
                Some(Box::new(dequant::packed_q8_act::ActOrder::new(p, vnni)))
            }
            WeightView::Packed(p) if vnni && self.int8_act && dequant::packed_q8_vnni::served(p) => {
                Some(Box::new(dequant::packed_q8_vnni::Interleaved16::new(p)))
            }
            WeightView::W8a8(p) if vnni => {
                crate::prepared::check_w8a8(p)?;
                Some(Box::new(matmul_w8a8_vnni::W8a8Tiles::new(self.name(), p)))
            }
            _ => None,
        })
    }

    fn matmul_prepared(&self, x: &[f32], m: usize, w: &dyn PreparedWeight, y: &mut [f32]) -> Result<()> {
        if w.as_any().is::<matmul_w8a8_vnni::W8a8Tiles>() {
            return Err(crate::prepared::wrong_kind(true));
        }
        let [n, k] = w.shape();
        let check = || -> Result<()> {
            shapes::expect_len("matmul_prepared", &format!("x [m={m}, k={k}]"), x.len(), m * k)?;
            shapes::expect_len("matmul_prepared", &format!("y [m={m}, n={n}]"), y.len(), m * n)
        };
        if let Some(a) = w.as_any().downcast_ref::<dequant::packed_q8_act::ActOrder>() {
            check()?;
            dequant::packed_q8_act::matmul(self.isa, x, m, a, y);
            return Ok(());
        }
        let p = downcast::<dequant::packed_q8_vnni::Interleaved16>(self.name(), w)?;
        check()?;
        dequant::packed_q8_vnni::matmul(x, m, p, y);
        Ok(())
    }

    fn matmul_w8a8_prepared(
        &self,
        xq: &[i8],
        x_scales: &[f32],
        m: usize,
        w: &dyn PreparedWeight,
        y: &mut [f32],
    ) -> Result<()> {
        if w.as_any().is::<dequant::packed_q8_vnni::Interleaved16>()
            || w.as_any().is::<dequant::packed_q8_act::ActOrder>()
        {
            return Err(crate::prepared::wrong_kind(false));
        }
        let p = downcast::<matmul_w8a8_vnni::W8a8Tiles>(self.name(), w)?;
        let [n, k] = p.shape();
        const OP: &str = "matmul_w8a8_prepared";
        shapes::expect_len(OP, &format!("xq [m={m}, k={k}]"), xq.len(), m * k)?;
        shapes::expect_len(OP, &format!("x_scales [m={m}]"), x_scales.len(), m)?;
        shapes::expect_len(OP, &format!("y [m={m}, n={n}]"), y.len(), m * n)?;
        matmul_w8a8_vnni::matmul(xq, x_scales, m, p, y);
        Ok(())
    }

    fn rms_norm(&self, x: &[f32], m: usize, d: usize, weight: &[f32], eps: f32, out: &mut [f32]) -> Result<()> {
        shapes::rms_norm(x, m, d, weight, out)?;
        rms_norm::rms_norm(x, d, weight, eps, out);
        Ok(())
    }

    fn silu_mul(&self, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()> {
        shapes::silu_mul(gate, up, out)?;
        silu_mul::silu_mul(gate, up, out);
        Ok(())
    }

    fn softmax(&self, x: &mut [f32], m: usize, n: usize) -> Result<()> {
        shapes::softmax(x, m, n)?;
        softmax::softmax(x, n);
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
        rope::rope(x, head_dim, positions, table);
        Ok(())
    }

    fn attention(&self, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()> {
        shapes::attention(q, m, n_heads, kv, out)?;
        attention::attention(q, m, n_heads, kv, out);
        Ok(())
    }

    fn add(&self, x: &mut [f32], y: &[f32]) -> Result<()> {
        shapes::add(x, y)?;
        add::add(x, y);
        Ok(())
    }

    fn hadamard(&self, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()> {
        shapes::hadamard(x, rows, h)?;
        hadamard::hadamard(x, h);
        Ok(())
    }
}

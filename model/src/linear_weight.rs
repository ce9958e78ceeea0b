//! The weight `W[n, k]` of a Linear (or of the embedding, whose rows are looked up): dense
//! (f32/bf16/f16), packed in qtool's kernel layout (int2/3/4/8 codes with their
//! [`WeightFormat`](quant::WeightFormat)), or GGML blocks kept as they are in a GGUF file. Every
//! kind runs through the same `Linear`, so the unquantized baseline and every scheme share one
//! model code path.

use crate::error::{ModelError, Result};
use crate::prepared::PreparedSlot;
use crate::weights::Tensor;
use kernels::{Backend, WeightView};
use quant::gguf::dequant::dequantize_row;
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;

/// GGML blocks of a `[n, k]` matrix: row `r` is bytes `r * row_bytes .. (r + 1) * row_bytes`
/// (whole blocks), rows in HF order (llama Q/K rows already un-permuted).
#[derive(Clone, Debug)]
pub struct GgufBlocks {
    /// Block type (one `matmul_gguf` runs).
    pub ty: GgmlType,
    /// Rows (output features).
    pub n: usize,
    /// Columns (input features), a multiple of the block size.
    pub k: usize,
    /// `n * row_bytes` bytes.
    pub bytes: Vec<u8>,
}

impl GgufBlocks {
    /// Checks that `bytes` are `n` rows of whole blocks of `ty`.
    pub fn new(ty: GgmlType, n: usize, k: usize, bytes: Vec<u8>, name: &str) -> Result<Self> {
        let ok = k.is_multiple_of(ty.block_size()) && bytes.len() == n * (k / ty.block_size()) * ty.type_size();
        if !ok {
            return Err(ModelError::Tensor {
                tensor: name.into(),
                what: format!("{} bytes of {ty} are not {n} rows of {k} values in whole blocks", bytes.len()),
            });
        }
        Ok(GgufBlocks { ty, n, k, bytes })
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.k / self.ty.block_size() * self.ty.type_size()
    }
}

/// The storage of a `[n, k]` weight.
pub enum LinearWeight {
    /// Dense elements, `[n, k]` row-major.
    Dense(Tensor),
    /// qtool's packed layout: codes, scales, zero points, act-order, and its format.
    Packed(PackedWeight),
    /// GGML blocks, dequantized inside the matmul.
    Gguf(GgufBlocks),
}

impl LinearWeight {
    /// `[n, k]`.
    pub fn shape(&self) -> [usize; 2] {
        match self {
            LinearWeight::Dense(t) => [t.shape[0], t.shape.get(1).copied().unwrap_or(1)],
            LinearWeight::Packed(p) => [p.n(), p.k()],
            LinearWeight::Gguf(g) => [g.n, g.k],
        }
    }

    /// Bytes a matmul reads: elements, or codes + scales + zero points (+ g_idx), or blocks.
    pub fn n_bytes(&self) -> usize {
        match self {
            LinearWeight::Dense(t) => t.n_bytes(),
            LinearWeight::Packed(p) => {
                4 * p.codes().len()
                    + 4 * p.scales().len()
                    + p.zeros().map_or(0, <[u8]>::len)
                    + 4 * p.g_idx().map_or(0, <[u32]>::len)
            }
            LinearWeight::Gguf(g) => g.bytes.len(),
        }
    }

    /// What the weight is stored as: `bf16`, `int4 g128 sym`, `Q4_K`, ...
    pub fn label(&self) -> String {
        match self {
            LinearWeight::Dense(t) => t.dtype().name().to_string(),
            LinearWeight::Packed(p) => p.format().label(),
            LinearWeight::Gguf(g) => g.ty.name().to_string(),
        }
    }

    /// Whether the weight is stored quantized (packed or GGML blocks).
    pub fn is_quantized(&self) -> bool {
        !matches!(self, LinearWeight::Dense(_))
    }

    /// Row `r` of W as f32 into `out[k]` (embedding lookups).
    pub fn row_f32(&self, r: usize, out: &mut [f32]) {
        let k = out.len();
        match self {
            LinearWeight::Dense(t) => match t.dense() {
                kernels::DenseWeight::F32(v) => out.copy_from_slice(&v[r * k..(r + 1) * k]),
                kernels::DenseWeight::BF16(v) => out.iter_mut().zip(&v[r * k..]).for_each(|(o, x)| *o = x.to_f32()),
                kernels::DenseWeight::F16(v) => out.iter_mut().zip(&v[r * k..]).for_each(|(o, x)| *o = x.to_f32()),
            },
            LinearWeight::Packed(p) => p.dequantize_row_ref(r, out),
            LinearWeight::Gguf(g) => {
                let rb = g.row_bytes();
                dequantize_row(g.ty, &g.bytes[r * rb..(r + 1) * rb], out).expect("GgufBlocks were validated")
            }
        }
    }

    /// The weight as the kernels take it.
    pub fn view(&self) -> WeightView<'_> {
        let [n, k] = self.shape();
        match self {
            LinearWeight::Dense(t) => WeightView::Dense { w: t.dense(), n, k },
            LinearWeight::Packed(p) => WeightView::Packed(p),
            LinearWeight::Gguf(g) => WeightView::Gguf { ty: g.ty, blocks: &g.bytes, n, k },
        }
    }

    /// `y[m, n] = x[m, k] · Wᵀ` on `backend`, through `prepared` when it is this weight's
    /// (see [`crate::prepared`]; the same bits either way).
    pub fn matmul_with(
        &self,
        backend: &dyn Backend,
        prepared: Option<&PreparedSlot>,
        x: &[f32],
        m: usize,
        y: &mut [f32],
    ) -> Result<()> {
        match prepared.and_then(|p| p.get(self)) {
            Some(p) => Ok(backend.matmul_prepared(x, m, p, y)?),
            None => self.matmul(backend, x, m, y),
        }
    }

    /// `y[m, n] = x[m, k] · Wᵀ` on `backend`.
    pub fn matmul(&self, backend: &dyn Backend, x: &[f32], m: usize, y: &mut [f32]) -> Result<()> {
        let [n, k] = self.shape();
        match self {
            LinearWeight::Dense(t) => backend.matmul(x, m, k, t.dense(), n, y)?,
            LinearWeight::Packed(p) => backend.matmul_packed(x, m, p, y)?,
            LinearWeight::Gguf(g) => backend.matmul_gguf(x, m, k, g.ty, &g.bytes, n, y)?,
        }
        Ok(())
    }
}

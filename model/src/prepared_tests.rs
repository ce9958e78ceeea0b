//! Tests of [`crate::prepared`] with a backend that prepares (the reference backend plus a
//! prepared copy of each weight that counts its uses), so they run without a GPU: a prepared
//! Linear runs through the prepared weight, and a replaced weight never does.

use crate::linear::Linear;
use crate::linear_weight::LinearWeight;
use crate::weights::Tensor;
use kernels::{Backend, DenseWeight, Hadamard, PreparedWeight, RefBackend, Result, RopeTable, WeightView};
use quant::gguf::GgmlType;
use quant::pack::PackedWeight;
use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The reference backend, preparing dense f32 weights and W8A8 weights as a copy.
#[derive(Default)]
struct Preparing {
    prepared_calls: AtomicUsize,
    w8a8_prepared_calls: AtomicUsize,
}

/// A W8A8 weight as [`Preparing`] prepares it.
struct W8Copy(PackedWeight);

impl PreparedWeight for W8Copy {
    fn backend(&self) -> &'static str {
        "preparing"
    }
    fn shape(&self) -> [usize; 2] {
        [self.0.n(), self.0.k()]
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

struct Copy(Vec<f32>, [usize; 2]);

impl PreparedWeight for Copy {
    fn backend(&self) -> &'static str {
        "preparing"
    }
    fn shape(&self) -> [usize; 2] {
        self.1
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Backend for Preparing {
    fn name(&self) -> &'static str {
        "preparing"
    }
    fn matmul(&self, x: &[f32], m: usize, k: usize, w: DenseWeight<'_>, n: usize, y: &mut [f32]) -> Result<()> {
        RefBackend.matmul(x, m, k, w, n, y)
    }
    fn matmul_packed(&self, x: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) -> Result<()> {
        RefBackend.matmul_packed(x, m, w, y)
    }
    fn matmul_gguf(
        &self,
        x: &[f32],
        m: usize,
        k: usize,
        ty: GgmlType,
        b: &[u8],
        n: usize,
        y: &mut [f32],
    ) -> Result<()> {
        RefBackend.matmul_gguf(x, m, k, ty, b, n, y)
    }
    #[allow(clippy::too_many_arguments)]
    fn matmul_w8a8(
        &self,
        xq: &[i8],
        xs: &[f32],
        m: usize,
        k: usize,
        wq: &[i8],
        ws: &[f32],
        n: usize,
        y: &mut [f32],
    ) -> Result<()> {
        RefBackend.matmul_w8a8(xq, xs, m, k, wq, ws, n, y)
    }
    fn prepare(&self, w: WeightView<'_>) -> Result<Option<Box<dyn PreparedWeight>>> {
        if let WeightView::W8a8(p) = w {
            return Ok(Some(Box::new(W8Copy(p.clone()))));
        }
        let WeightView::Dense { w: DenseWeight::F32(v), n, k } = w else { return Ok(None) };
        Ok(Some(Box::new(Copy(v.to_vec(), [n, k]))))
    }
    fn matmul_prepared(&self, x: &[f32], m: usize, w: &dyn PreparedWeight, y: &mut [f32]) -> Result<()> {
        self.prepared_calls.fetch_add(1, Ordering::Relaxed);
        let c = kernels::prepared::downcast::<Copy>(self.name(), w)?;
        let [n, k] = c.1;
        RefBackend.matmul(x, m, k, DenseWeight::F32(&c.0), n, y)
    }
    fn matmul_w8a8_prepared(
        &self,
        xq: &[i8],
        xs: &[f32],
        m: usize,
        w: &dyn PreparedWeight,
        y: &mut [f32],
    ) -> Result<()> {
        self.w8a8_prepared_calls.fetch_add(1, Ordering::Relaxed);
        let c = kernels::prepared::downcast::<W8Copy>(self.name(), w)?;
        RefBackend.matmul_w8a8_packed(xq, xs, m, &c.0, y)
    }
    fn rms_norm(&self, x: &[f32], m: usize, d: usize, w: &[f32], eps: f32, out: &mut [f32]) -> Result<()> {
        RefBackend.rms_norm(x, m, d, w, eps, out)
    }
    fn silu_mul(&self, gate: &[f32], up: &[f32], out: &mut [f32]) -> Result<()> {
        RefBackend.silu_mul(gate, up, out)
    }
    fn softmax(&self, x: &mut [f32], m: usize, n: usize) -> Result<()> {
        RefBackend.softmax(x, m, n)
    }
    fn rope(&self, x: &mut [f32], m: usize, h: usize, hd: usize, pos: &[usize], t: &RopeTable) -> Result<()> {
        RefBackend.rope(x, m, h, hd, pos, t)
    }
    fn attention(&self, q: &[f32], m: usize, h: usize, kv: &kernels::kv::KvView<'_>, out: &mut [f32]) -> Result<()> {
        RefBackend.attention(q, m, h, kv, out)
    }
    fn add(&self, x: &mut [f32], y: &[f32]) -> Result<()> {
        RefBackend.add(x, y)
    }
    fn hadamard(&self, x: &mut [f32], rows: usize, h: &Hadamard) -> Result<()> {
        RefBackend.hadamard(x, rows, h)
    }
}

fn dense(n: usize, k: usize, scale: f32) -> LinearWeight {
    LinearWeight::Dense(Tensor::from_f32(vec![n, k], (0..n * k).map(|i| (i % 7) as f32 * scale).collect()))
}

fn forward(l: &Linear, be: &Preparing, x: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; l.n];
    l.forward(be, x, 1, &mut y).unwrap();
    y
}

#[test]
fn prepared_linear_runs_prepared_until_its_weight_is_replaced() {
    let be = Preparing::default();
    let calls = || be.prepared_calls.load(Ordering::Relaxed);
    let x = vec![1.0f32; 4];
    let mut l = Linear::new(dense(3, 4, 1.0), None);
    let plain = forward(&l, &be, &x);
    assert_eq!(calls(), 0, "nothing prepared yet");
    l.prepare(&be).unwrap();
    assert_eq!(forward(&l, &be, &x), plain);
    assert_eq!(calls(), 1, "the prepared weight ran");
    // Replaced through set_weight: the slot is dropped.
    l.set_weight(dense(3, 4, 2.0));
    let doubled: Vec<f32> = plain.iter().map(|v| v * 2.0).collect();
    assert_eq!(forward(&l, &be, &x), doubled);
    assert_eq!(calls(), 1, "the old prepared weight must not run");
    // Replaced by assigning the field: the fingerprint no longer matches.
    l.prepare(&be).unwrap();
    l.weight = dense(3, 4, 3.0);
    let tripled: Vec<f32> = plain.iter().map(|v| v * 3.0).collect();
    assert_eq!(forward(&l, &be, &x), tripled);
    assert_eq!(calls(), 1, "a stale prepared weight must not run");
    l.unprepare();
    assert_eq!(forward(&l, &be, &x), tripled);
}

#[test]
fn weights_the_backend_does_not_prepare_run_plain() {
    let be = Preparing::default();
    let w: Vec<half::bf16> = (0..12).map(|i| half::bf16::from_f32(i as f32)).collect();
    let mut l =
        Linear::new(LinearWeight::Dense(Tensor { shape: vec![3, 4], data: crate::weights::TensorData::BF16(w) }), None);
    l.prepare(&be).unwrap();
    let y = forward(&l, &be, &[1.0; 4]);
    // W[3, 4] = 0..12 row by row, x = ones: the row sums 0+1+2+3, 4+..+7, 8+..+11.
    assert_eq!(y, vec![6.0, 22.0, 38.0]);
    assert_eq!(be.prepared_calls.load(Ordering::Relaxed), 0);
}

#[test]
fn integer_w8a8_linear_runs_its_prepared_int8_weight() {
    use quant::{quantize_rtn, ActFormat, Granularity, IntFormat, RtnOptions, WeightFormat};
    let be = Preparing::default();
    let calls = || be.w8a8_prepared_calls.load(Ordering::Relaxed);
    let (n, k) = (5, 24);
    let pack = |scale: f32| {
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) * scale).collect();
        let f = WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true).unwrap();
        LinearWeight::Packed(PackedWeight::pack(&quantize_rtn(&w, n, k, &f, &RtnOptions::default()).unwrap()))
    };
    let mut l = Linear::new(pack(0.01), None);
    l.act = Some(ActFormat::per_token(IntFormat::Int8, true, 1.0).unwrap());
    assert!(l.is_integer_w8a8());
    let x: Vec<f32> = (0..k).map(|i| (i as f32 - 11.0) * 0.3).collect();
    let plain = forward(&l, &be, &x);
    l.prepare(&be).unwrap();
    let prepared = forward(&l, &be, &x);
    assert_eq!(calls(), 1, "the prepared int8 weight ran");
    assert_eq!(
        prepared.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(be.prepared_calls.load(Ordering::Relaxed), 0, "not the f32-activation path");
    // A replaced weight runs plain, never the stale int8 copy.
    l.set_weight(pack(0.02));
    let replaced = forward(&l, &be, &x);
    assert_eq!(calls(), 1);
    assert_ne!(replaced, plain);
}

//! Attention conformance against `attention_ref`: causal queries (m = 1 and 3) over KV caches
//! of 1 to 300 positions, grouped-query heads, K and V each as f16 or int8/int4 codes with
//! per-channel or per-token scales, symmetric or with zero points; then shape errors.

use crate::util::{check, seed, Rng};
use kernels::kv::{pack_codes, KvAxis, KvTensor, KvView};
use kernels::ops::attention_ref;
use kernels::{Backend, KernelError};

/// One K or V tensor's storage, owned.
enum Store {
    F32(Vec<f32>),
    F16(Vec<u16>),
    Int { bits: u32, codes: Vec<u32>, scales: Vec<f32>, zeros: Option<Vec<u8>>, axis: KvAxis },
}

impl Store {
    fn view(&self) -> KvTensor<'_> {
        match self {
            Store::F32(v) => KvTensor::F32(v),
            Store::F16(h) => KvTensor::F16(h),
            Store::Int { bits, codes, scales, zeros, axis } => {
                KvTensor::Int { bits: *bits, codes, scales, zeros: zeros.as_deref(), axis: *axis }
            }
        }
    }
}

/// A storage kind: f16 (`None`), f32 (bits 32) or (bits, axis, asymmetric) codes.
type Kind = Option<(u32, KvAxis, bool)>;

/// A random tensor `[len, kv_dim]` in the storage `kind`: `f16` (None), f32 (bits 32), or
/// (bits, axis, asymmetric) codes.
fn store(kind: Kind, len: usize, heads: usize, hd: usize, rng: &mut Rng) -> Store {
    let kv_dim = heads * hd;
    match kind {
        Some((32, ..)) => Store::F32(rng.vec(len * kv_dim, -2.0, 2.0)),
        None => {
            Store::F16(rng.vec(len * kv_dim, -2.0, 2.0).iter().map(|&v| half::f16::from_f32(v).to_bits()).collect())
        }
        Some((bits, axis, asym)) => {
            let codes: Vec<u8> = (0..len * kv_dim).map(|_| rng.below(1 << bits) as u8).collect();
            let n = if axis == KvAxis::PerChannel { kv_dim } else { len * heads };
            let step = 2.0 / (1u32 << bits) as f32;
            Store::Int {
                bits,
                codes: pack_codes(&codes, kv_dim, bits).unwrap(),
                scales: (0..n).map(|_| rng.uniform(0.5, 1.5) * step).collect(),
                zeros: asym.then(|| (0..n).map(|_| rng.below(1 << bits) as u8).collect()),
                axis,
            }
        }
    }
}

pub fn sweep(be: &dyn Backend) {
    use KvAxis::{PerChannel, PerToken};
    const F32: Kind = Some((32, PerChannel, false));
    let kinds: [(Kind, Kind); 6] = [
        (F32, F32),
        (None, None),
        (Some((8, PerChannel, false)), Some((8, PerToken, false))),
        (Some((4, PerChannel, true)), Some((4, PerToken, true))),
        (Some((4, PerChannel, false)), None),
        (Some((8, PerToken, true)), Some((4, PerChannel, false))),
    ];
    for &(n_heads, n_kv, hd) in &[(2usize, 1usize, 8usize), (4, 4, 64), (8, 2, 80)] {
        for &len in &[1usize, 7, 65, 300] {
            for &m in &[1usize, 3] {
                if m > len {
                    continue;
                }
                for (ki, &(kk, vk)) in kinds.iter().enumerate() {
                    let mut rng = Rng::new(seed(&[91, n_heads, hd, len, m, ki]));
                    let (k, v) = (store(kk, len, n_kv, hd, &mut rng), store(vk, len, n_kv, hd, &mut rng));
                    let kv = KvView { k: k.view(), v: v.view(), len, n_kv_heads: n_kv, head_dim: hd };
                    // Queries scaled so the scores spread over several units (a peaked softmax).
                    let q = rng.vec(m * n_heads * hd, -3.0, 3.0);
                    let mut want = vec![0f32; q.len()];
                    attention_ref(&q, m, n_heads, &kv, &mut want);
                    let mut got = vec![f32::NAN; q.len()];
                    be.attention(&q, m, n_heads, &kv, &mut got).unwrap();
                    let case = format!(
                        "{} attention K {} V {} heads {n_heads}/{n_kv} hd {hd} len {len} m {m}",
                        be.name(),
                        kv.k.label(),
                        kv.v.label()
                    );
                    check(&case, &got, &want, 1e-9);
                }
            }
        }
    }
    shape_errors(be);
}

fn shape_errors(be: &dyn Backend) {
    let mut rng = Rng::new(5);
    let k = store(None, 4, 2, 8, &mut rng);
    let v = store(Some((4, KvAxis::PerToken, true)), 4, 2, 8, &mut rng);
    let kv = KvView { k: k.view(), v: v.view(), len: 4, n_kv_heads: 2, head_dim: 8 };
    let q = vec![0.1f32; 2 * 4 * 8];
    let mut out = vec![0f32; 2 * 4 * 8];
    let expect = |r: kernels::Result<()>, what: &str| match r {
        Err(KernelError::Shape { op: "attention", what: msg }) => assert!(msg.contains(what), "{what}: {msg}"),
        other => panic!("{}: expected a shape error naming {what}, got {other:?}", be.name()),
    };
    expect(be.attention(&q[1..], 2, 4, &kv, &mut out), "q [m=2");
    expect(be.attention(&q, 2, 3, &kv, &mut out), "n_kv_heads");
    expect(be.attention(&[0.0; 5 * 32], 5, 4, &kv, &mut vec![0.0; 5 * 32]), "m = 5");
    let short = KvView { len: 5, ..kv };
    expect(be.attention(&q, 2, 4, &short, &mut out), "K (f16)");
    let Store::Int { codes, scales, .. } = &v else { unreachable!() };
    let bad_zero = [16u8; 8];
    let bad =
        KvView { v: KvTensor::Int { bits: 4, codes, scales, zeros: Some(&bad_zero), axis: KvAxis::PerToken }, ..kv };
    expect(be.attention(&q, 2, 4, &bad, &mut out), "V zeros[0] = 16");
}

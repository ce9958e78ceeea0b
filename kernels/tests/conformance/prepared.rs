//! Prepared weights ([`kernels::prepared`]): for every backend that prepares (the GPU ones),
//! `matmul_prepared` on a prepared weight writes exactly the bits of the plain call on the
//! host weight — dense f32/bf16/f16, packed (int2/3/4/8, sym and asym, act-order) and every
//! GGML block type — and misuse is an error: a weight prepared by another backend, wrong
//! `x`/`y` lengths. Backends that read host weights in place prepare nothing, except the CPU's
//! W8A8 weights on AVX-512 VNNI (16-row interleaved tiles), checked by [`w8a8`].

use crate::matmul::{Dtype, Weight};
use crate::matmul_gguf::{random_blocks, TYPES};
use crate::matmul_packed::{act_order_weight, rtn_weight};
use crate::util::{seed, Rng};
use kernels::{Backend, KernelError, RefBackend, WeightView};
use quant::{Granularity, IntFormat, WeightFormat};

/// Rows of x tried per weight (GEMV, a few rows, more than a tile).
const MS: [usize; 3] = [1, 3, 17];

/// Plain and prepared results of `w` on `be` are the same bits for every `m`; returns whether
/// `be` prepared it.
/// The plain call: `y[m, n]` from `x[m, k]`.
type Plain<'a> = &'a dyn Fn(&[f32], usize, &mut [f32]);

fn same_bits(be: &dyn Backend, w: WeightView<'_>, plain: Plain<'_>, case: &str) -> bool {
    let Some(p) = be.prepare(w).unwrap() else { return false };
    let [n, k] = w.shape();
    assert_eq!(p.shape(), [n, k], "{case}: prepared shape");
    assert_eq!(p.backend(), be.name(), "{case}: prepared backend name");
    let mut rng = Rng::new(seed(&[n, k, 7]));
    for m in MS {
        let x = rng.vec(m * k, -1.0, 1.0);
        let mut want = vec![f32::NAN; m * n];
        plain(&x, m, &mut want);
        let mut got = vec![f32::NAN; m * n];
        be.matmul_prepared(&x, m, p.as_ref(), &mut got).unwrap();
        let differ = got.iter().zip(&want).position(|(g, w)| g.to_bits() != w.to_bits());
        assert!(differ.is_none(), "{case} m={m}: first differing output {differ:?}: {got:?} vs {want:?}");
    }
    true
}

pub fn same_as_plain(be: &dyn Backend) {
    let mut prepared = 0;
    let mut cases = 0;
    let (n, k) = (37, 96);
    for dtype in [Dtype::F32, Dtype::Bf16, Dtype::F16] {
        let w = Weight::random(dtype, n * k, &mut Rng::new(seed(&[n, k, dtype as usize])));
        let plain = |x: &[f32], m: usize, y: &mut [f32]| be.matmul(x, m, k, w.view(), n, y).unwrap();
        let view = WeightView::Dense { w: w.view(), n, k };
        prepared += same_bits(be, view, &plain, &format!("{} dense {dtype:?}", be.name())) as usize;
        cases += 1;
    }
    for int in IntFormat::ALL {
        for symmetric in [true, false] {
            let format = WeightFormat::new(int, Granularity::Group(32), symmetric).unwrap();
            let mut rng = Rng::new(seed(&[int.bits() as usize, symmetric as usize, n, k]));
            for w in [rtn_weight(&format, n, k, &mut rng), act_order_weight(&format, n, k, &mut rng)] {
                let plain = |x: &[f32], m: usize, y: &mut [f32]| be.matmul_packed(x, m, &w, y).unwrap();
                let case = format!("{} packed {}", be.name(), format.label());
                prepared += same_bits(be, WeightView::Packed(&w), &plain, &case) as usize;
                cases += 1;
            }
        }
    }
    for ty in TYPES {
        let k = 2 * ty.block_size();
        let blocks = random_blocks(ty, n * 2, &mut Rng::new(seed(&[ty.id() as usize, n])));
        let plain = |x: &[f32], m: usize, y: &mut [f32]| be.matmul_gguf(x, m, k, ty, &blocks, n, y).unwrap();
        let view = WeightView::Gguf { ty, blocks: &blocks, n, k };
        prepared += same_bits(be, view, &plain, &format!("{} gguf {ty}", be.name())) as usize;
        cases += 1;
    }
    // A backend prepares all of its weights or none.
    assert!(prepared == 0 || prepared == cases, "{}: prepared {prepared} of {cases} weights", be.name());
    eprintln!("{}: {prepared} of {cases} prepared weights give the plain bits", be.name());
}

/// Wrong lengths, a foreign weight and a bad GGUF blob are errors, not panics.
pub fn errors(be: &dyn Backend) {
    let (n, k) = (5, 64);
    let w = Weight::random(Dtype::F32, n * k, &mut Rng::new(3));
    let bad = be.prepare(WeightView::Gguf { ty: quant::gguf::GgmlType::Q4_0, blocks: &[0u8; 7], n, k });
    let Some(p) = be.prepare(WeightView::Dense { w: w.view(), n, k }).unwrap() else {
        assert!(matches!(bad, Ok(None)), "{}: prepares nothing, so nothing to reject", be.name());
        return;
    };
    let msg = bad.err().expect("7 bytes are not 5 rows of Q4_0").to_string();
    assert!(msg.contains("Q4_0") && msg.contains("n=5"), "{msg}");
    let mut y = vec![0f32; n];
    let err = be.matmul_prepared(&[0.0; 63], 1, p.as_ref(), &mut y).unwrap_err();
    assert!(matches!(err, KernelError::Shape { .. }) && err.to_string().contains("k=64"), "{err}");
    let err = be.matmul_prepared(&[0.0; 64], 1, p.as_ref(), &mut y[..4]).unwrap_err();
    assert!(err.to_string().contains("n=5"), "{err}");
    // The reference backend prepares nothing and refuses a GPU's weight, naming both.
    let err = RefBackend.matmul_prepared(&[0.0; 64], 1, p.as_ref(), &mut y).unwrap_err().to_string();
    assert!(err.contains(be.name()) && err.contains("ref"), "{err}");
}

/// A W8A8 weight ([`WeightView::W8a8`]): `matmul_w8a8_prepared` writes the bits of
/// `matmul_w8a8_packed` on the host weight, for every `m` and a `k` that is no multiple of 4;
/// a non-int8 weight, an f32-activation call on it and wrong lengths are errors. Backends that
/// prepare no W8A8 weight return `None` and keep the plain path.
pub fn w8a8(be: &dyn Backend) {
    let format = WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true).unwrap();
    // Ragged n (tiles of 16 on the CPU), k not a multiple of 4 or of 64, one long row.
    for (n, k) in [(1, 3), (16, 64), (33, 1027), (37, 98)] {
        let mut rng = Rng::new(seed(&[n, k, 8]));
        let w = rtn_weight(&format, n, k, &mut rng);
        let Some(p) = be.prepare(WeightView::W8a8(&w)).unwrap() else {
            eprintln!("{}: prepares no W8A8 weight (plain matmul_w8a8_packed)", be.name());
            return;
        };
        assert_eq!((p.shape(), p.backend()), ([n, k], be.name()));
        let mut xs_cases: Vec<(Vec<i8>, Vec<f32>, usize)> = MS
            .iter()
            .map(|&m| {
                let (xq, xs) = kernels::ops::quantize_rows_i8_ref(&rng.vec(m * k, -3.0, 3.0), m, k);
                (xq, xs, m)
            })
            .collect();
        // Extreme codes: -128 and 127 (x + 128 at both ends of a byte).
        xs_cases.push(((0..2 * k).map(|c| if c % 3 == 0 { 127 } else { -128 }).collect(), vec![0.5, 2.0], 2));
        for (xq, xs, m) in &xs_cases {
            let m = *m;
            let mut want = vec![f32::NAN; m * n];
            be.matmul_w8a8_packed(xq, xs, m, &w, &mut want).unwrap();
            let mut got = vec![f32::NAN; m * n];
            be.matmul_w8a8_prepared(xq, xs, m, p.as_ref(), &mut got).unwrap();
            let differ = got.iter().zip(&want).position(|(g, w)| g.to_bits() != w.to_bits());
            assert!(differ.is_none(), "{} W8A8 prepared {n}x{k} m={m}: first differing output {differ:?}", be.name());
        }
    }
    let (n, k) = (37, 98);
    let mut rng = Rng::new(seed(&[n, k, 9]));
    let w = rtn_weight(&format, n, k, &mut rng);
    let p = be.prepare(WeightView::W8a8(&w)).unwrap().expect("prepared above");
    let mut y = vec![0f32; n];
    let err = be.matmul_w8a8_prepared(&[0; 97], &[1.0], 1, p.as_ref(), &mut y).unwrap_err();
    assert!(err.to_string().contains("k=98"), "{err}");
    let err = be.matmul_prepared(&[0.0; 98], 1, p.as_ref(), &mut y).unwrap_err();
    assert!(err.to_string().contains("matmul_w8a8_prepared"), "{err}");
    let w4 = rtn_weight(&WeightFormat::new(IntFormat::Int4, Granularity::Group(32), true).unwrap(), n, 64, &mut rng);
    let err = be.prepare(WeightView::W8a8(&w4)).err().expect("an int4 weight is no W8A8 weight").to_string();
    assert!(err.contains("int4"), "{err}");
    // A weight prepared for f32 activations is refused by the W8A8 call (backends that prepare
    // packed weights: the GPU ones; the CPU prepares W8A8 weights only, on AVX-512 VNNI).
    match be.prepare(WeightView::Packed(&w)).unwrap() {
        Some(f) => {
            let err = be.matmul_w8a8_prepared(&[0; 98], &[1.0], 1, f.as_ref(), &mut y).unwrap_err();
            assert!(err.to_string().contains("matmul_prepared"), "{err}");
        }
        None => assert!(be.name().starts_with("cpu"), "{}: prepares W8A8 but not packed weights", be.name()),
    }
    eprintln!("{}: W8A8 prepared weight gives the plain bits for m in {MS:?}", be.name());
}

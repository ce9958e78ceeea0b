//! Tests of [`crate::linear::Linear`]'s integer W8A8 path: it is taken exactly for int8
//! symmetric per-channel weights with dynamic int8 symmetric per-token activations, gives the
//! integer reference's bits, and agrees with the fake-quant form to f32 rounding.

use crate::linear::Linear;
use crate::linear_weight::LinearWeight;
use kernels::ops::{matmul_w8a8_ref, w8a8_packed_codes};
use kernels::{Backend, RefBackend};
use quant::fake::{fake_quant_act_ref, quantize_row_ref};
use quant::pack::PackedWeight;
use quant::{quantize_rtn, ActFormat, Granularity, IntFormat, RtnOptions, WeightFormat};

fn weight(int: IntFormat, gran: Granularity, n: usize, k: usize) -> PackedWeight {
    let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013).collect();
    let f = WeightFormat::new(int, gran, true).unwrap();
    PackedWeight::pack(&quantize_rtn(&w, n, k, &f, &RtnOptions::default()).unwrap())
}

#[test]
fn integer_w8a8_is_exact_and_close_to_fake_quant() {
    let (m, n, k) = (3, 7, 45);
    let x: Vec<f32> = (0..m * k).map(|i| ((i * 13 % 29) as f32 - 14.0) * 0.21).collect();
    let w = weight(IntFormat::Int8, Granularity::PerChannel, n, k);
    let act = ActFormat::per_token(IntFormat::Int8, true, 1.0).unwrap();
    let mut lin = Linear::new(LinearWeight::Packed(w.clone()), Some(vec![0.5; n]));
    assert!(!lin.is_integer_w8a8(), "no activation quantization: W8A16");
    lin.act = Some(act);
    assert!(lin.is_integer_w8a8());
    let be = kernels::cpu_backend();
    let mut got = vec![0f32; m * n];
    lin.forward(be.as_ref(), &x, m, &mut got).unwrap();
    // The integer reference on quant's codes, plus the bias.
    let mut codes = vec![0u8; k];
    let (mut xq, mut xs) = (Vec::new(), Vec::new());
    for row in x.chunks_exact(k) {
        xs.push(quantize_row_ref(row, &act.spec, &mut codes).scale);
        xq.extend(codes.iter().map(|&c| i16::from(c) as i32 - 128).map(|q| q as i8));
    }
    let mut want = vec![0f32; m * n];
    matmul_w8a8_ref(&xq, &xs, m, k, &w8a8_packed_codes(&w), w.scales(), n, &mut want);
    want.iter_mut().for_each(|v| *v += 0.5);
    assert_eq!(got, want, "the integer path is the integer reference");
    // The fake-quant form: fake-quantized x through the f32 dequantizing matmul.
    let mut fq = x.clone();
    fake_quant_act_ref(&mut fq, k, &act).unwrap();
    let mut fake = vec![0f32; m * n];
    RefBackend.matmul_packed(&fq, m, &w, &mut fake).unwrap();
    for (g, f) in got.iter().zip(&fake) {
        assert!((g - (f + 0.5)).abs() <= 1e-5 * (1.0 + f.abs()), "{g} vs {}", f + 0.5);
    }
}

#[test]
fn other_formats_keep_the_fake_quant_path() {
    let (n, k) = (4, 64);
    let per_token = ActFormat::per_token(IntFormat::Int8, true, 1.0).unwrap();
    let cases = [
        (weight(IntFormat::Int4, Granularity::Group(32), n, k), per_token),
        (weight(IntFormat::Int8, Granularity::Group(32), n, k), per_token),
        (
            weight(IntFormat::Int8, Granularity::PerChannel, n, k),
            ActFormat::per_token(IntFormat::Int8, false, 1.0).unwrap(),
        ),
        (
            weight(IntFormat::Int8, Granularity::PerChannel, n, k),
            ActFormat::per_token(IntFormat::Int4, true, 1.0).unwrap(),
        ),
    ];
    for (w, act) in cases {
        let mut lin = Linear::new(LinearWeight::Packed(w), None);
        lin.act = Some(act);
        assert!(!lin.is_integer_w8a8(), "{} with {}", lin.weight.label(), act.label());
    }
}

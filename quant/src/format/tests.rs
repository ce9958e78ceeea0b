//! Tests of the format table and the scalar range-to-grid mapping.

use super::*;

#[test]
fn table_ranges() {
    let want = [(2, -2, 1, 3, 2), (3, -4, 3, 7, 4), (4, -8, 7, 15, 8), (8, -128, 127, 255, 128)];
    for (f, (bits, smin, smax, cmax, off)) in IntFormat::ALL.iter().zip(want) {
        let i = f.info();
        assert_eq!((i.bits, i.signed_min, i.signed_max, i.code_max, i.offset), (bits, smin, smax, cmax, off));
        assert_eq!(IntFormat::from_bits(bits), Some(*f));
        assert_eq!(f.code_max() as u32, cmax);
    }
    assert_eq!(IntFormat::from_bits(5), None);
}

#[test]
fn symmetric_half_range_is_compressed_tensors() {
    // int4: scale = amax / 7.5; -amax is the lowest code, +amax clamps to the highest.
    let spec = IntSpec::symmetric(IntFormat::Int4);
    let p = spec.qparams(-7.5, 3.0, ScaleDtype::F32);
    assert_eq!(p, QParams { scale: 1.0, zero: 8 });
    assert_eq!(p.quantize(-7.5, IntFormat::Int4), 0);
    assert_eq!(p.quantize(7.5, IntFormat::Int4), 15);
    assert_eq!(p.quantize(0.0, IntFormat::Int4), 8);
    // Ties go to even signed codes (torch.round).
    assert_eq!(p.quantize(0.5, IntFormat::Int4), 8);
    assert_eq!(p.quantize(1.5, IntFormat::Int4), 10);
    assert_eq!(p.quantize(2.5, IntFormat::Int4), 10);
    assert_eq!(p.quantize(-0.5, IntFormat::Int4), 8);
    assert_eq!(p.dequantize(0), -8.0);
}

#[test]
fn symmetric_max_code_is_vllm_dynamic_int8() {
    let spec = IntSpec { sym_scale: SymScale::MaxCode, ..IntSpec::symmetric(IntFormat::Int8) };
    let p = spec.qparams(-12.7, 1.0, ScaleDtype::F32);
    assert_eq!(p.zero, 128);
    assert!((p.scale - 0.1).abs() < 1e-7);
    assert_eq!(p.quantize(-12.7, IntFormat::Int8), 1);
    assert_eq!(p.quantize(12.7, IntFormat::Int8), 255);
}

#[test]
fn asymmetric_min_max() {
    let spec = IntSpec::asymmetric(IntFormat::Int2);
    // [-1, 2] over 3 steps: scale 1, signed zp = round(-2 + 1) = -1, stored zero 1.
    let p = spec.qparams(-1.0, 2.0, ScaleDtype::F32);
    assert_eq!(p, QParams { scale: 1.0, zero: 1 });
    assert_eq!([-1.0, 0.0, 1.0, 2.0].map(|x| p.quantize(x, IntFormat::Int2)), [0, 1, 2, 3]);
    assert_eq!(p.dequantize(0), -1.0);
    // Zero is always in range: a positive-only group has zero point 0.
    let p = spec.qparams(1.0, 3.0, ScaleDtype::F32);
    assert_eq!(p, QParams { scale: 1.0, zero: 0 });
    let p = spec.qparams(-3.0, -1.0, ScaleDtype::F32);
    assert_eq!(p, QParams { scale: 1.0, zero: 3 });
}

#[test]
fn clip_ratio_shrinks_range() {
    let spec = IntSpec { clip_ratio: 0.5, ..IntSpec::symmetric(IntFormat::Int4) };
    assert_eq!(spec.qparams(-15.0, 1.0, ScaleDtype::F32).scale, 1.0);
    assert!(IntSpec { clip_ratio: 0.0, ..spec }.validate().is_err());
    assert!(IntSpec { clip_ratio: 1.5, ..spec }.validate().is_err());
    assert!(IntSpec { clip_ratio: f32::NAN, ..spec }.validate().is_err());
}

#[test]
fn zero_range_gets_dtype_epsilon() {
    for dtype in [ScaleDtype::F32, ScaleDtype::F16, ScaleDtype::Bf16] {
        for spec in [IntSpec::symmetric(IntFormat::Int4), IntSpec::asymmetric(IntFormat::Int4)] {
            let p = spec.qparams(0.0, 0.0, dtype);
            assert_eq!(p.scale, dtype.eps());
            assert_eq!(p.dequantize(p.quantize(0.0, IntFormat::Int4)), 0.0);
        }
    }
    assert_eq!(ScaleDtype::Bf16.eps(), 0.0078125);
    assert_eq!(ScaleDtype::F16.eps(), 0.0009765625);
}

#[test]
fn scales_are_rounded_to_storage_dtype() {
    let spec = IntSpec::asymmetric(IntFormat::Int4);
    for dtype in [ScaleDtype::F16, ScaleDtype::Bf16] {
        let p = spec.qparams(-0.123_456, 0.654_321, dtype);
        assert!(dtype.holds(p.scale), "{} scale {}", dtype.name(), p.scale);
    }
}

#[test]
fn granularity_rules() {
    for g in [8, 32, 64, 128, 96, 4096] {
        Granularity::Group(g).validate().unwrap();
    }
    for g in [0, 4, 12, 100] {
        let e = Granularity::Group(g).validate().unwrap_err().to_string();
        assert!(e.contains("multiple of 8"), "{e}");
    }
    assert!(WeightFormat::new(IntFormat::Int4, Granularity::PerToken, true).is_err());
    assert!(WeightFormat::new(IntFormat::Int4, Granularity::PerTensor, true).is_err());
    let w = WeightFormat::new(IntFormat::Int4, Granularity::Group(128), false).unwrap();
    assert_eq!((w.group_size(300), w.n_groups(300)), (128, 3));
    let w = WeightFormat::new(IntFormat::Int8, Granularity::PerChannel, true).unwrap();
    assert_eq!((w.group_size(300), w.n_groups(300)), (300, 1));
    assert_eq!(w.label(), "int8 per-channel sym");
}

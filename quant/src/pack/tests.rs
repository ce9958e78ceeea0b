//! Bit-exact round trips and known answers for every packed layout.

use super::*;
use crate::format::{Granularity, IntFormat, ScaleDtype, WeightFormat};
use crate::qweight::{QuantizedParts, QuantizedWeight};
use crate::test_util::{codes, gaussian, rng};
use rand::seq::SliceRandom;

/// A weight with random codes and zero points over the full range, random exact scales and,
/// optionally, a random act-order g_idx.
fn random(
    seed: u64,
    int: IntFormat,
    g: Granularity,
    sym: bool,
    n: usize,
    k: usize,
    act_order: bool,
) -> QuantizedWeight {
    let format = WeightFormat::new(int, g, sym).unwrap();
    let ng = format.n_groups(k);
    let dtype = ScaleDtype::F16;
    let scales = gaussian(seed, n * ng, 1.0).iter().map(|v| dtype.round(v.abs() * 0.01 + 1e-3)).collect();
    let g_idx = act_order.then(|| {
        let gs = format.group_size(k);
        let mut v: Vec<u32> = (0..k).map(|j| (j / gs) as u32).collect();
        v.shuffle(&mut rng(seed + 2));
        v
    });
    QuantizedWeight::new(QuantizedParts {
        format,
        scale_dtype: dtype,
        n,
        k,
        codes: codes(seed, n * k, int.code_max()),
        scales,
        zeros: (!sym).then(|| codes(seed + 1, n * ng, int.code_max())),
        g_idx,
    })
    .unwrap()
}

/// (n, k, group): n not a multiple of 8, k not a multiple of 32/b or of the group size, k < g.
const SHAPES: [(usize, usize, u32); 7] =
    [(13, 256, 128), (8, 96, 32), (5, 40, 8), (3, 300, 128), (1, 8, 8), (17, 72, 64), (32, 1024, 64)];

fn cases() -> impl Iterator<Item = (IntFormat, usize, usize, Granularity, bool)> {
    IntFormat::ALL.into_iter().flat_map(|int| {
        SHAPES.into_iter().flat_map(move |(n, k, g)| {
            [Granularity::Group(g), Granularity::PerChannel]
                .into_iter()
                .flat_map(move |gr| [true, false].map(move |sym| (int, n, k, gr, sym)))
        })
    })
}

#[test]
fn bitstream_known_answers() {
    assert_eq!(bitstream::pack(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 4), vec![0x7654_3210, 0x8]);
    assert_eq!(bitstream::pack(&[129, 130], 8), vec![33409]); // compressed-tensors' docstring example
    assert_eq!(bitstream::pack(&[3; 16], 2), vec![u32::MAX]);
    // 3-bit: code 10 straddles words 0/1 (bits 30-32), code 21 words 1/2 (bits 63-65).
    let mut c = [0u8; 32];
    c[10] = 0b111;
    assert_eq!(bitstream::pack(&c, 3), vec![0xC000_0000, 0x1, 0]);
    c[10] = 0b101;
    assert_eq!(bitstream::pack(&c, 3), vec![0x4000_0000, 0x1, 0]);
    c = [0; 32];
    c[21] = 0b110;
    assert_eq!(bitstream::pack(&c, 3), vec![0, 0, 0x3]);
    c[21] = 0b011;
    assert_eq!(bitstream::pack(&c, 3), vec![0, 0x8000_0000, 0x1]);
    assert_eq!(bitstream::pack(&[7; 32], 3), vec![u32::MAX; 3]);
    assert_eq!(bitstream::words_for(33, 3), 4);
}

#[test]
fn bitstream_round_trips() {
    for int in IntFormat::ALL {
        for count in 0..200 {
            let c = codes(count as u64, count, int.code_max());
            let w = bitstream::pack(&c, int.bits());
            assert_eq!(w.len(), bitstream::words_for(count, int.bits()));
            assert_eq!(bitstream::unpack(&w, int.bits(), count), c, "{} x{count}", int.name());
        }
    }
}

#[test]
fn compressed_tensors_round_trips() {
    let mut checked = 0;
    for (i, (int, n, k, g, sym)) in cases().enumerate() {
        let fmt = WeightFormat::new(int, g, sym).unwrap();
        if k >= fmt.group_size(k) && !k.is_multiple_of(fmt.group_size(k)) {
            continue;
        }
        for act_order in [false, true] {
            let q = random(i as u64, int, g, sym, n, k, act_order);
            let p = pack_ct(&q).unwrap();
            let b = int.bits() as usize;
            assert_eq!(p.weight_packed.len(), n * (k * b).div_ceil(32));
            assert_eq!(p.weight_scale.len(), n * q.n_groups());
            assert_eq!(p.weight_zero_point.as_ref().map(Vec::len), (!sym).then(|| (n * b).div_ceil(32) * q.n_groups()));
            assert_eq!(p.weight_g_idx.is_some(), q.g_idx().is_some());
            assert!(unpack_ct(&p, &fmt, ScaleDtype::F16).unwrap() == q, "{} {n}x{k} {g:?} sym={sym}", int.name());
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
}

#[test]
fn compressed_tensors_layout_facts() {
    // Row codes pack along dim 1; zero points along dim 0 (column g of the zero points of every
    // output row).
    let q = random(5, IntFormat::Int4, Granularity::Group(8), false, 9, 16, false);
    let p = pack_ct(&q).unwrap();
    let word = |codes: &[u8]| codes.iter().rev().fold(0u32, |w, &c| (w << 4) | c as u32) as i32;
    assert_eq!(p.weight_packed[2], word(&q.codes()[16..24])); // row 1, first word
    let z = q.zeros().unwrap();
    let zcol1: Vec<u8> = (0..8).map(|r| z[r * 2 + 1]).collect();
    assert_eq!(p.weight_zero_point.as_ref().unwrap()[1], word(&zcol1)); // [0, 1]
    assert_eq!(p.weight_zero_point.as_ref().unwrap()[3], z[8 * 2 + 1] as i32); // [1, 1]: row 8
                                                                               // A group size that does not divide k (>= g) is refused, as compressed-tensors does.
    let q = random(6, IntFormat::Int4, Granularity::Group(128), true, 4, 300, false);
    let e = pack_ct(&q).unwrap_err().to_string();
    assert!(e.contains("group size 128 does not divide in_features 300"), "{e}");
    // Truncated tensors are reported.
    let q = random(7, IntFormat::Int3, Granularity::Group(32), false, 5, 64, false);
    let mut p = pack_ct(&q).unwrap();
    p.weight_packed.pop();
    assert!(unpack_ct(&p, q.format(), ScaleDtype::F16).unwrap_err().to_string().contains("weight_packed"));
}

#[test]
fn int_quantized_round_trips() {
    for sym in [true, false] {
        for g in [Granularity::PerChannel, Granularity::Group(32)] {
            let q = random(8, IntFormat::Int8, g, sym, 11, 64, false);
            let p = int_quantized_ct(&q).unwrap();
            assert_eq!(p.weight[0] as i16, q.codes()[0] as i16 - 128);
            assert!(from_int_quantized_ct(&p, q.format(), ScaleDtype::F16).unwrap() == q);
        }
    }
    let q = random(9, IntFormat::Int4, Granularity::PerChannel, true, 2, 8, false);
    assert!(int_quantized_ct(&q).is_err());
}

#[test]
fn gptq_round_trips() {
    let mut checked = 0;
    for (i, (int, n, k, g, sym)) in cases().enumerate() {
        for act_order in [false, true] {
            let q = random(100 + i as u64, int, g, sym, n, k, act_order);
            let b = int.bits() as usize;
            let v2 = pack_gptq(&q, GptqVersion::V2).unwrap();
            assert_eq!(v2.qweight.len(), (k * b).div_ceil(32) * n);
            assert_eq!(v2.qzeros.len(), q.n_groups() * (n * b).div_ceil(32));
            assert_eq!(v2.scales.len(), q.n_groups() * n);
            let back = unpack_gptq(&v2, q.format(), ScaleDtype::F16, GptqVersion::V2).unwrap();
            assert!(back == q, "v2 {} {n}x{k} {g:?} sym={sym} act_order={act_order}", int.name());
            match pack_gptq(&q, GptqVersion::V1) {
                Ok(v1) => {
                    let back = unpack_gptq(&v1, q.format(), ScaleDtype::F16, GptqVersion::V1).unwrap();
                    assert!(back == q, "v1 {} {n}x{k} {g:?} sym={sym}", int.name());
                }
                Err(e) => {
                    assert!(q.zeros().unwrap().contains(&0));
                    assert!(e.to_string().contains("zero point 0"), "{e}");
                    // The same weight with every zero point >= 1 does round-trip through v1.
                    let mut parts = q.clone().into_parts();
                    parts.zeros.iter_mut().flatten().for_each(|z| *z = (*z).max(1));
                    let q1 = QuantizedWeight::new(parts).unwrap();
                    let v1 = pack_gptq(&q1, GptqVersion::V1).unwrap();
                    let back = unpack_gptq(&v1, q1.format(), ScaleDtype::F16, GptqVersion::V1).unwrap();
                    assert!(back == q1, "v1 {} {n}x{k} {g:?}", int.name());
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * SHAPES.len() * 2 * 2 * 2);
}

#[test]
fn gptq_layout_facts() {
    // Symmetric 4-bit: v1 qzeros are all 7s; g_idx is j / g.
    let q = random(10, IntFormat::Int4, Granularity::Group(32), true, 16, 64, false);
    let p = pack_gptq(&q, GptqVersion::V1).unwrap();
    assert!(p.qzeros.iter().all(|&w| w as u32 == 0x7777_7777));
    assert_eq!(p.g_idx, (0..64).map(|j| j / 32).collect::<Vec<i32>>());
    assert!(p.exact_shapes(4));
    // qweight word (r, c) holds inputs 8r..8r+8 of output c, input 8r+j in bits 4j..4j+4.
    for (r, c) in [(0, 0), (3, 5), (7, 15)] {
        let want = (0..8).rev().fold(0u32, |w, j| (w << 4) | q.codes()[c * 64 + 8 * r + j] as u32);
        assert_eq!(p.qweight[r * 16 + c] as u32, want);
    }
    // 3-bit: input 10 of each output straddles qweight rows 0 and 1.
    let q = random(11, IntFormat::Int3, Granularity::Group(32), false, 3, 64, false);
    let p = pack_gptq(&q, GptqVersion::V2).unwrap();
    for c in 0..3 {
        let v = q.codes()[c * 64 + 10] as u32;
        assert_eq!((p.qweight[c] as u32) >> 30, v & 3);
        assert_eq!(p.qweight[3 + c] as u32 & 1, v >> 2);
    }
    assert!(!p.exact_shapes(3));
    // A symmetric format refuses zero points other than 2^(b-1).
    let asym = random(12, IntFormat::Int4, Granularity::Group(32), false, 8, 64, false);
    let p = pack_gptq(&asym, GptqVersion::V2).unwrap();
    let sym_fmt = WeightFormat::new(IntFormat::Int4, Granularity::Group(32), true).unwrap();
    let e = unpack_gptq(&p, &sym_fmt, ScaleDtype::F16, GptqVersion::V2).unwrap_err().to_string();
    assert!(e.contains("symmetric GPTQ weight has zero point"), "{e}");
}

#[test]
fn qtool_layout_round_trips() {
    for (i, (int, n, k, g, sym)) in cases().enumerate() {
        for act_order in [false, true] {
            let q = random(200 + i as u64, int, g, sym, n, k, act_order);
            let p = PackedWeight::pack(&q);
            assert_eq!(p.row_words(), (k * int.bits() as usize).div_ceil(32));
            assert_eq!(p.codes().len(), n * p.row_words());
            assert!(p.unpack() == q, "{} {n}x{k} {g:?} sym={sym}", int.name());
            let d = q.dequantize();
            let mut row = vec![0.0; k];
            for r in 0..n {
                for j in [0, k / 2, k - 1] {
                    assert_eq!(p.code_ref(r, j), q.codes()[r * k + j]);
                }
                p.dequantize_row_ref(r, &mut row);
                assert_eq!(row, d[r * k..(r + 1) * k]);
            }
        }
    }
}

#[test]
fn qtool_layout_bytes() {
    let q = random(13, IntFormat::Int4, Granularity::Group(8), true, 3, 24, false);
    let p = PackedWeight::pack(&q);
    let bytes: Vec<u8> = p.codes().iter().flat_map(|w| w.to_le_bytes()).collect();
    // Row 1 starts at word 3 (24 nibbles = 3 words); byte j = code 2j (low) | code 2j+1 (high).
    for j in 0..12 {
        let c = &q.codes()[24 + 2 * j..];
        assert_eq!(bytes[12 + j], c[0] | (c[1] << 4));
    }
    let q = random(14, IntFormat::Int3, Granularity::Group(8), false, 2, 16, false);
    let p = PackedWeight::pack(&q);
    let bytes: Vec<u8> = p.codes().iter().flat_map(|w| w.to_le_bytes()).collect();
    // Eight 3-bit codes per 3 bytes; the second 8 codes of row 0 are bytes 3..6.
    let v = u32::from_le_bytes([bytes[3], bytes[4], bytes[5], 0]);
    for i in 0..8 {
        assert_eq!(((v >> (3 * i)) & 7) as u8, q.codes()[8 + i]);
    }
    // compressed-tensors rows are the same bits.
    let q = random(15, IntFormat::Int2, Granularity::Group(16), true, 5, 48, false);
    let ct = pack_ct(&q).unwrap();
    let ours: Vec<i32> = PackedWeight::pack(&q).codes().iter().map(|&w| w as i32).collect();
    assert_eq!(ours, ct.weight_packed);
}

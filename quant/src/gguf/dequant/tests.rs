//! Dispatch-level tests of `dequantize`: length checks are errors (never panics) for every
//! supported type, and unsupported types are refused by name.

use super::{dequantize, is_supported};
use crate::gguf::GgmlType;
use crate::QuantError;

const SUPPORTED: [GgmlType; 11] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q4K,
    GgmlType::Q5K,
    GgmlType::Q6K,
];

#[test]
fn whole_blocks_decode() {
    for ty in SUPPORTED {
        assert!(is_supported(ty));
        let n = 3 * ty.block_size();
        let bytes = vec![0u8; 3 * ty.type_size()];
        let mut out = vec![f32::NAN; n];
        dequantize(ty, &bytes, &mut out).unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert!(out.iter().all(|v| *v == 0.0), "{ty}: zero bytes decode to zeros");
    }
}

#[test]
fn byte_length_mismatch_is_an_error() {
    for ty in SUPPORTED {
        let n = 2 * ty.block_size();
        for len in [0, 2 * ty.type_size() - 1, 2 * ty.type_size() + 1, 3 * ty.type_size()] {
            let bytes = vec![0u8; len];
            let mut out = vec![0f32; n];
            match dequantize(ty, &bytes, &mut out) {
                Err(QuantError::BadTensor { what, .. }) => {
                    assert!(what.contains(&format!("got {len} bytes")), "{ty}: {what}");
                    assert!(what.contains(&format!("need {} bytes", 2 * ty.type_size())), "{ty}: {what}");
                }
                other => panic!("{ty}, {len} bytes: expected BadTensor, got {other:?}"),
            }
        }
    }
}

#[test]
fn element_count_not_a_whole_number_of_blocks_is_an_error() {
    for ty in SUPPORTED.into_iter().filter(|t| t.block_size() > 1) {
        let mut out = vec![0f32; ty.block_size() + 1];
        let bytes = vec![0u8; 2 * ty.type_size()];
        match dequantize(ty, &bytes, &mut out) {
            Err(QuantError::BadTensor { what, .. }) => assert!(what.contains("whole number"), "{ty}: {what}"),
            other => panic!("{ty}: expected BadTensor, got {other:?}"),
        }
    }
}

#[test]
fn unsupported_types_are_refused_by_name() {
    let ty = GgmlType::Q2K;
    assert!(!is_supported(ty));
    let mut out = vec![0f32; 256];
    match dequantize(ty, &vec![0u8; ty.type_size()], &mut out) {
        Err(QuantError::UnsupportedType { ty, .. }) => assert_eq!(ty, "Q2_K"),
        other => panic!("expected UnsupportedType, got {other:?}"),
    }
}

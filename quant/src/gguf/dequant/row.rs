//! Serial decoding of a run of whole blocks (one matrix row in a GGUF file is always whole
//! blocks): [`dequantize_row`], the serial twin of [`super::dequantize`]. Same decoders, same
//! bits; no rayon, so a kernel or an embedding lookup can call it from inside its own parallel
//! loop.

use super::super::types::GgmlType;
use super::{plain, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0};
use crate::QuantError;

/// Whether `ty` is a block-quantized type with a decoder (what a dequantize-in-the-loop kernel
/// can run): Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
pub fn is_block_quantized(ty: GgmlType) -> bool {
    use GgmlType::*;
    matches!(ty, Q8_0 | Q4_0 | Q4_1 | Q5_0 | Q5_1 | Q4K | Q5K | Q6K)
}

/// Calls `decode` on each `TS`-byte block of `bytes` with the matching `BS` values of `out`, in
/// order, on the calling thread. `bytes.len() / TS` must equal `out.len() / BS`.
#[inline(always)]
fn decode_blocks<const BS: usize, const TS: usize>(
    bytes: &[u8],
    out: &mut [f32],
    decode: impl Fn(&[u8; TS], &mut [f32; BS]),
) {
    debug_assert_eq!(bytes.len() / TS * BS, out.len());
    for (ob, bb) in out.chunks_exact_mut(BS).zip(bytes.chunks_exact(TS)) {
        decode(bb.try_into().expect("TS-byte chunk"), ob.try_into().expect("BS-element chunk"));
    }
}

/// Decodes `bytes` (whole blocks of `ty`) into `out` serially; the same checks, errors and bits
/// as [`super::dequantize`].
pub fn dequantize_row(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    super::check_lengths(ty, bytes, out.len())?;
    match ty {
        GgmlType::F32 => decode_blocks::<1, 4>(bytes, out, |b, o| o[0] = f32::from_le_bytes(*b)),
        GgmlType::F16 => decode_blocks::<1, 2>(bytes, out, plain::f16_element),
        GgmlType::BF16 => decode_blocks::<1, 2>(bytes, out, plain::bf16_element),
        GgmlType::Q8_0 => decode_blocks(bytes, out, q8_0::decode_block),
        GgmlType::Q4_0 => decode_blocks(bytes, out, q4_0::decode_block),
        GgmlType::Q4_1 => decode_blocks(bytes, out, q4_1::decode_block),
        GgmlType::Q5_0 => decode_blocks(bytes, out, q5_0::decode_block),
        GgmlType::Q5_1 => decode_blocks(bytes, out, q5_1::decode_block),
        GgmlType::Q4K => decode_blocks(bytes, out, q4_k::decode_block),
        GgmlType::Q5K => decode_blocks(bytes, out, q5_k::decode_block),
        GgmlType::Q6K => decode_blocks(bytes, out, q6_k::decode_block),
        _ => return Err(QuantError::UnsupportedType { tensor: String::new(), ty: ty.name().to_string() }),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every supported type: the serial row decoder gives the parallel decoder's bits.
    #[test]
    fn serial_rows_equal_parallel_decoding() {
        use GgmlType::*;
        let mut state = 0x1234_5678_u32;
        for ty in [F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4K, Q5K, Q6K] {
            let n = 3 * 256;
            let bytes: Vec<u8> = (0..ty.bytes_for(n as u64).unwrap())
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    // Keep every f16/bf16/f32 finite: clear the top exponent bit of each byte.
                    (state as u8) & 0x3f
                })
                .collect();
            let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
            super::super::dequantize(ty, &bytes, &mut a).unwrap();
            dequantize_row(ty, &bytes, &mut b).unwrap();
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{ty}");
        }
        assert!(dequantize_row(Q2K, &[0; 84], &mut [0f32; 256]).is_err());
        assert!(dequantize_row(Q4_0, &[0; 17], &mut [0f32; 32]).is_err());
    }
}

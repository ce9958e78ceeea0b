//! The dense little-endian bit stream all of qtool's int32 layouts use: element `i` of a
//! sequence of `b`-bit codes occupies bits `i*b .. i*b + b` of the stream, where bit `j` of the
//! stream is bit `j % 32` of word `j / 32`. For b = 2, 4, 8 each word holds 32/b whole codes,
//! lowest bits first; for b = 3 every 32 codes fill exactly 3 words and codes 10 and 21 straddle
//! a word boundary (bits 30..33 and 63..66).
//!
//! Source facts: AutoGPTQ `qlinear_cuda_old.pack` (3-bit: code 10 in bits 30-31 of word 0 and
//! bit 0 of word 1, code 21 in bit 31 of word 1 and bits 0-1 of word 2) and compressed-tensors
//! 0.18 `pack_to_int32` ("dense cross-element packing": element i at bit i*b). Releases before
//! 0.18 put floor(32/b) codes per word, which differs only for 3, 5, 6 and 7 bits.

/// Words needed for `count` codes of `bits` bits: `ceil(count * bits / 32)`.
pub fn words_for(count: usize, bits: u32) -> usize {
    (count * bits as usize).div_ceil(32)
}

/// Packs `codes` (each below `2^bits`) into `out`, which must hold `words_for(len, bits)` words
/// and is overwritten; padding bits are zero.
pub fn pack_into<I: IntoIterator<Item = u8>>(codes: I, bits: u32, out: &mut [u32]) {
    out.fill(0);
    for (i, c) in codes.into_iter().enumerate() {
        debug_assert!((c as u32) < (1 << bits), "code {c} does not fit {bits} bits");
        let pos = i * bits as usize;
        let (w, off) = (pos / 32, pos % 32);
        let v = (c as u64) << off;
        out[w] |= v as u32;
        if off + bits as usize > 32 {
            out[w + 1] |= (v >> 32) as u32;
        }
    }
}

/// Packs `codes` into a new vector of `words_for(codes.len(), bits)` words.
pub fn pack(codes: &[u8], bits: u32) -> Vec<u32> {
    let mut out = vec![0; words_for(codes.len(), bits)];
    pack_into(codes.iter().copied(), bits, &mut out);
    out
}

/// Code `i` of a packed stream.
#[inline]
pub fn get(words: &[u32], bits: u32, i: usize) -> u8 {
    let pos = i * bits as usize;
    let (w, off) = (pos / 32, pos % 32);
    let lo = (words[w] >> off) as u64;
    let v = if off + bits as usize > 32 { lo | ((words[w + 1] as u64) << (32 - off)) } else { lo };
    (v & ((1u64 << bits) - 1)) as u8
}

/// The first `count` codes of a packed stream.
pub fn unpack(words: &[u32], bits: u32, count: usize) -> Vec<u8> {
    (0..count).map(|i| get(words, bits, i)).collect()
}

//! The KV-cache storage the `attention` op reads, defined once for every backend: one layer's
//! keys and values of one sequence, each `[len, kv_dim]` with `kv_dim = n_kv_heads · head_dim`,
//! stored as f32, f16 or as integer codes (int8 or int4) with their scales:
//!
//! - [`KvTensor::F32`]: plain f32, row-major `[len, kv_dim]` (the model's default cache, which
//!   holds fake-quantized values when a KV format is asked for).
//! - [`KvTensor::F16`]: raw f16 bit patterns, row-major `[len, kv_dim]` (the model's cache with
//!   `--kv-cache-dtype f16`).
//! - [`KvTensor::Int`]: codes packed little-endian into `u32` words along each row (4 int8 or 8
//!   int4 per word; `kv_dim` is a multiple of 8, so rows are whole words: `[len, kv_dim · bits /
//!   32]`), value = `(code − zero) · scale`, with a zero point per scale (asymmetric) or the
//!   format's midpoint `2^(bits−1)` (symmetric). Scales are
//!   - [`KvAxis::PerChannel`]: one per channel, `scales[kv_dim]` (keys, KVQuant/KIVI-style: a
//!     channel's outliers stay in their channel; static, e.g. calibrated), or
//!   - [`KvAxis::PerToken`]: one per token and KV head, `scales[len, n_kv_heads]` (values).
//!
//! [`pack_codes`] makes the word layout from one code per byte; [`KvTensor::value`] is the scalar
//! dequantization every reference reads through.

use crate::error::{KernelError, Result};

/// Which elements share a scale in an integer KV tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvAxis {
    /// `scales[kv_dim]`: one per channel, shared by every token.
    PerChannel,
    /// `scales[len, n_kv_heads]`: one per token and KV head (over `head_dim` channels).
    PerToken,
}

/// One of K or V, `[len, kv_dim]`.
#[derive(Clone, Copy, Debug)]
pub enum KvTensor<'a> {
    /// f32 values `[len, kv_dim]`.
    F32(&'a [f32]),
    /// f16 bit patterns `[len, kv_dim]`.
    F16(&'a [u16]),
    /// Packed integer codes with their scales.
    Int {
        /// 8 or 4.
        bits: u32,
        /// `[len, kv_dim · bits / 32]` words.
        codes: &'a [u32],
        /// Per [`KvAxis`].
        scales: &'a [f32],
        /// Zero points, shaped like `scales` (asymmetric); `None`: `2^(bits−1)`.
        zeros: Option<&'a [u8]>,
        /// What a scale covers.
        axis: KvAxis,
    },
}

impl KvTensor<'_> {
    /// A short name for errors and test labels: `f16`, `int8/channel`, `int4/token+zero`, ...
    pub fn label(&self) -> String {
        match self {
            KvTensor::F32(_) => "f32".to_string(),
            KvTensor::F16(_) => "f16".to_string(),
            KvTensor::Int { bits, zeros, axis, .. } => format!(
                "int{bits}/{}{}",
                if *axis == KvAxis::PerChannel { "channel" } else { "token" },
                if zeros.is_some() { "+zero" } else { "" }
            ),
        }
    }

    /// Index into `scales` (and `zeros`) of element `(t, c)`.
    pub fn scale_index(axis: KvAxis, t: usize, c: usize, n_kv_heads: usize, head_dim: usize) -> usize {
        match axis {
            KvAxis::PerChannel => c,
            KvAxis::PerToken => t * n_kv_heads + c / head_dim,
        }
    }

    /// Element `(t, c)` as f32 (exact for f16; `(code − zero) · scale` in f32 for codes).
    pub fn value(&self, t: usize, c: usize, kv_dim: usize, n_kv_heads: usize) -> f32 {
        match *self {
            KvTensor::F32(v) => v[t * kv_dim + c],
            KvTensor::F16(h) => half::f16::from_bits(h[t * kv_dim + c]).to_f32(),
            KvTensor::Int { bits, codes, scales, zeros, axis } => {
                let per = (32 / bits) as usize;
                let word = codes[t * (kv_dim / per) + c / per];
                let code = (word >> ((c % per) as u32 * bits)) & ((1u32 << bits) - 1);
                let si = Self::scale_index(axis, t, c, n_kv_heads, kv_dim / n_kv_heads);
                let zero = zeros.map_or(1u32 << (bits - 1), |z| u32::from(z[si]));
                (code as f32 - zero as f32) * scales[si]
            }
        }
    }
}

/// What the GPU kernels read for one K or V tensor: its storage as `u32` words (f32 bits, f16
/// pairs or packed codes; borrowed where the layout allows), `(scale, zero)` f32 pairs (symmetric
/// zeros filled in with `2^(bits−1)`; one dummy pair for f32/f16), `mode` (0 f16, 1 codes,
/// 2 f32), `bits` and `axis` (0 per channel, 1 per token). The WGSL shader and the CUDA kernel
/// both take exactly these.
pub struct DeviceOperands<'a> {
    /// Storage words.
    pub words: std::borrow::Cow<'a, [u32]>,
    /// `(scale, zero)` pairs in `scales` order.
    pub scale_zero: Vec<f32>,
    /// 0 f16, 1 codes, 2 f32.
    pub mode: u32,
    /// Bits per element.
    pub bits: u32,
    /// 0 per channel, 1 per token.
    pub axis: u32,
}

impl<'a> KvTensor<'a> {
    /// The tensor as [`DeviceOperands`].
    pub fn device_operands(&self) -> DeviceOperands<'a> {
        use std::borrow::Cow;
        match *self {
            KvTensor::F32(v) => DeviceOperands {
                words: Cow::Borrowed(bytemuck::cast_slice(v)),
                scale_zero: vec![0.0; 2],
                mode: 2,
                bits: 32,
                axis: 0,
            },
            KvTensor::F16(h) => DeviceOperands {
                words: match bytemuck::try_cast_slice(h) {
                    Ok(w) => Cow::Borrowed(w),
                    // Odd length or a 2-byte-aligned start: pairs copied (the last one padded).
                    Err(_) => Cow::Owned(
                        h.chunks(2).map(|p| u32::from(p[0]) | (u32::from(*p.get(1).unwrap_or(&0)) << 16)).collect(),
                    ),
                },
                scale_zero: vec![0.0; 2],
                mode: 0,
                bits: 16,
                axis: 0,
            },
            KvTensor::Int { bits, codes, scales, zeros, axis } => {
                let mid = (1u32 << (bits - 1)) as f32;
                DeviceOperands {
                    words: Cow::Borrowed(codes),
                    scale_zero: scales
                        .iter()
                        .enumerate()
                        .flat_map(|(i, &s)| [s, zeros.map_or(mid, |z| f32::from(z[i]))])
                        .collect(),
                    mode: 1,
                    bits,
                    axis: u32::from(axis == KvAxis::PerToken),
                }
            }
        }
    }
}

/// One layer's cache of one sequence: `len` positions of `n_kv_heads` heads of `head_dim`.
#[derive(Clone, Copy, Debug)]
pub struct KvView<'a> {
    /// Keys `[len, kv_dim]`.
    pub k: KvTensor<'a>,
    /// Values `[len, kv_dim]`.
    pub v: KvTensor<'a>,
    /// Positions cached.
    pub len: usize,
    /// KV heads.
    pub n_kv_heads: usize,
    /// Channels per head.
    pub head_dim: usize,
}

impl KvView<'_> {
    /// `n_kv_heads · head_dim`.
    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
}

/// Packs one code per byte (`[rows, cols]`, each `< 2^bits`, `cols` a multiple of `32 / bits`)
/// into the word layout of [`KvTensor::Int`].
pub fn pack_codes(codes: &[u8], cols: usize, bits: u32) -> Result<Vec<u32>> {
    if bits != 8 && bits != 4 {
        return Err(KernelError::Shape { op: "attention", what: format!("KV codes of {bits} bits; 8 or 4 supported") });
    }
    let per = (32 / bits) as usize;
    if !cols.is_multiple_of(per) || (cols > 0 && !codes.len().is_multiple_of(cols)) {
        return Err(KernelError::Shape {
            op: "attention",
            what: format!("{} codes in rows of {cols}: rows must be whole {per}-code words", codes.len()),
        });
    }
    Ok(codes
        .chunks(per)
        .map(|c| c.iter().enumerate().fold(0u32, |w, (i, &q)| w | (u32::from(q) << (i as u32 * bits))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_codes_read_back_through_value() {
        for bits in [8u32, 4] {
            let (len, heads, hd) = (3usize, 2usize, 8usize);
            let kv_dim = heads * hd;
            let codes: Vec<u8> = (0..len * kv_dim).map(|i| ((i * 7) % (1 << bits)) as u8).collect();
            let words = pack_codes(&codes, kv_dim, bits).unwrap();
            assert_eq!(words.len(), len * kv_dim * bits as usize / 32);
            let ch_scales: Vec<f32> = (0..kv_dim).map(|c| 0.5 + c as f32).collect();
            let t = KvTensor::Int { bits, codes: &words, scales: &ch_scales, zeros: None, axis: KvAxis::PerChannel };
            let tok_scales: Vec<f32> = (0..len * heads).map(|i| 2.0 + i as f32).collect();
            let zeros: Vec<u8> = (0..len * heads).map(|i| i as u8).collect();
            let tz =
                KvTensor::Int { bits, codes: &words, scales: &tok_scales, zeros: Some(&zeros), axis: KvAxis::PerToken };
            for r in 0..len {
                for c in 0..kv_dim {
                    let q = f32::from(codes[r * kv_dim + c]);
                    let mid = (1u32 << (bits - 1)) as f32;
                    assert_eq!(t.value(r, c, kv_dim, heads), (q - mid) * ch_scales[c]);
                    let si = r * heads + c / hd;
                    assert_eq!(tz.value(r, c, kv_dim, heads), (q - f32::from(zeros[si])) * tok_scales[si]);
                }
            }
        }
        assert!(pack_codes(&[0; 12], 6, 4).is_err(), "rows of 6 int4 codes are not whole words");
        assert!(pack_codes(&[0; 8], 8, 3).is_err());
    }
}

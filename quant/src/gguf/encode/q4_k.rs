//! Q4_K encoder: super-blocks of 256 weights in eight sub-blocks of 32. Each sub-block `s` has a
//! 6-bit scale `sc[s]` and 6-bit minimum `mn[s]` relative to the super-block's f16 `d` and
//! `dmin`; a weight reads back as `(d * sc[s]) * q - (dmin * mn[s])`, `q` in 0..=15. Layout
//! (144 bytes): `d`, `dmin`, 12 bytes of packed scales/minimums (the inverse of
//! `dequant::k_scales`), 128 bytes of nibbles (byte group `g` of 32 bytes holds sub-block `2g`
//! in its low nibbles and `2g + 1` in its high nibbles).
//!
//! The search, per super-block:
//! 1. each sub-block gets a float scale and minimum: starting from its range `[min(x, 0),
//!    max x]` divided by 15 + t (t over a small grid around 0), codes are rounded and the
//!    (scale, offset) pair refitted by least squares for those codes (offset kept <= 0, since Q4_K
//!    can only subtract a minimum); the candidate with the smallest squared error wins;
//! 2. `d = f16(max scale / 63)`, `dmin = f16(max minimum / 63)`, and each sub-block's 6-bit
//!    scale and minimum are rounded, then nudged by -1/0/+1 each to whichever of the nine pairs
//!    gives the smallest squared error with codes chosen for the *decoded* scale and minimum;
//! 3. codes are rounded against those decoded values, so the bytes decode to exactly what the
//!    search measured.

use super::blocks::encode_blocks;
use super::half::{f16_bytes, round_f16};

/// Range divisors tried for each sub-block: 15 + i / 10 for i in -8..=8.
const DIVISOR_STEPS: std::ops::RangeInclusive<i32> = -8..=8;

/// Encodes `values` (a multiple of 256) as Q4_K super-blocks.
pub fn encode_q4_k(values: &[f32]) -> Vec<u8> {
    encode_blocks::<256, 144, _>(values, encode_block)
}

/// The code of `v` for a decoded scale `ds` and minimum `dm` (`v ~ ds * q - dm`).
#[inline]
fn code(v: f32, ds: f32, dm: f32) -> u8 {
    if ds > 0.0 {
        ((v + dm) / ds).round_ties_even().clamp(0.0, 15.0) as u8
    } else {
        0
    }
}

/// Squared error of a sub-block with decoded scale `ds` and minimum `dm`.
fn sub_error(x: &[f32], ds: f32, dm: f32) -> f32 {
    x.iter().map(|&v| (ds * code(v, ds, dm) as f32 - dm - v).powi(2)).sum()
}

/// Least-squares `(scale, min)` for fixed codes `q` with `x ~ scale * q - min`, `min >= 0`;
/// `None` when the codes do not determine a positive scale.
fn refit(x: &[f32], q: &[u8]) -> Option<(f32, f32)> {
    let n = x.len() as f64;
    let (mut sq, mut sx, mut sqq, mut sqx) = (0f64, 0f64, 0f64, 0f64);
    for (&v, &c) in x.iter().zip(q) {
        let c = c as f64;
        sq += c;
        sx += v as f64;
        sqq += c * c;
        sqx += c * v as f64;
    }
    let det = n * sqq - sq * sq;
    let (scale, offset) = if det > 0.0 {
        let scale = (n * sqx - sq * sx) / det;
        let offset = (sx - scale * sq) / n;
        if offset <= 0.0 {
            (scale, offset)
        } else if sqq > 0.0 {
            (sqx / sqq, 0.0)
        } else {
            return None;
        }
    } else if sqq > 0.0 {
        (sqx / sqq, 0.0)
    } else {
        return None;
    };
    (scale > 0.0 && scale.is_finite()).then_some((scale as f32, (-offset) as f32))
}

/// The float `(scale, min)` of one sub-block (both >= 0).
fn fit_sub_block(x: &[f32]) -> (f32, f32) {
    let lo = x.iter().fold(0f32, |m, &v| m.min(v));
    let hi = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    if hi - lo <= 0.0 {
        return (0.0, -lo);
    }
    let mut best = ((hi - lo) / 15.0, -lo);
    let mut best_err = sub_error(x, best.0, best.1);
    let mut q = [0u8; 32];
    for i in DIVISOR_STEPS {
        let scale = (hi - lo) / (15.0 + i as f32 / 10.0);
        for (c, &v) in q.iter_mut().zip(x) {
            *c = code(v, scale, -lo);
        }
        for cand in [Some((scale, -lo)), refit(x, &q[..x.len()])].into_iter().flatten() {
            let err = sub_error(x, cand.0, cand.1);
            if err < best_err {
                (best, best_err) = (cand, err);
            }
        }
    }
    best
}

/// The 6-bit value nearest `v / unit`, or 0 when the unit is 0.
fn six_bit(v: f32, unit: f32) -> u8 {
    if unit > 0.0 {
        (v / unit).round_ties_even().clamp(0.0, 63.0) as u8
    } else {
        0
    }
}

/// Packs eight 6-bit scales and minimums into the 12-byte field `dequant::k_scales` reads.
fn pack_scales_mins(sc: &[u8; 8], mn: &[u8; 8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    for j in 0..4 {
        s[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
        s[j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6);
        s[j + 8] = (sc[j + 4] & 0x0f) | ((mn[j + 4] & 0x0f) << 4);
    }
    s
}

fn encode_block(x: &[f32; 256], out: &mut [u8; 144]) {
    let mut fit = [(0f32, 0f32); 8];
    for (f, sub) in fit.iter_mut().zip(x.chunks_exact(32)) {
        *f = fit_sub_block(sub);
    }
    let d = round_f16(fit.iter().fold(0f32, |m, f| m.max(f.0)) / 63.0);
    let dmin = round_f16(fit.iter().fold(0f32, |m, f| m.max(f.1)) / 63.0);
    let (mut sc, mut mn) = ([0u8; 8], [0u8; 8]);
    for (s, sub) in x.chunks_exact(32).enumerate() {
        let (s0, m0) = (six_bit(fit[s].0, d), six_bit(fit[s].1, dmin));
        let mut best = (s0, m0, sub_error(sub, d * s0 as f32, dmin * m0 as f32));
        for ds in -1i32..=1 {
            for dm in -1i32..=1 {
                let (a, b) = (s0 as i32 + ds, m0 as i32 + dm);
                if !(0..=63).contains(&a) || !(0..=63).contains(&b) {
                    continue;
                }
                let err = sub_error(sub, d * a as f32, dmin * b as f32);
                if err < best.2 {
                    best = (a as u8, b as u8, err);
                }
            }
        }
        (sc[s], mn[s]) = (best.0, best.1);
    }
    out[..2].copy_from_slice(&f16_bytes(d));
    out[2..4].copy_from_slice(&f16_bytes(dmin));
    out[4..16].copy_from_slice(&pack_scales_mins(&sc, &mn));
    let qs = &mut out[16..];
    qs.fill(0);
    for (s, sub) in x.chunks_exact(32).enumerate() {
        let (ds, dm) = (d * sc[s] as f32, dmin * mn[s] as f32);
        let shift = 4 * (s % 2);
        for (l, &v) in sub.iter().enumerate() {
            qs[32 * (s / 2) + l] |= code(v, ds, dm) << shift;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::dequant::k_scales::unpack_scales_mins;

    #[test]
    fn scale_packing_inverts_the_reader() {
        let sc = [0, 1, 17, 63, 32, 48, 5, 63];
        let mn = [63, 2, 0, 31, 16, 1, 62, 33];
        assert_eq!(unpack_scales_mins(&pack_scales_mins(&sc, &mn)), (sc, mn));
    }

    #[test]
    fn refit_respects_the_minimum_sign() {
        // x = 2q + 1 needs a positive offset, which Q4_K cannot store: the fit goes through 0.
        let q: Vec<u8> = (0..16).collect();
        let x: Vec<f32> = q.iter().map(|&c| 2.0 * c as f32 + 1.0).collect();
        let (s, m) = refit(&x, &q).unwrap();
        assert_eq!(m, 0.0);
        assert!(s > 2.0);
        // x = 0.5q - 3 is fitted exactly.
        let x: Vec<f32> = q.iter().map(|&c| 0.5 * c as f32 - 3.0).collect();
        let (s, m) = refit(&x, &q).unwrap();
        assert!((s - 0.5).abs() < 1e-6 && (m - 3.0).abs() < 1e-5, "{s} {m}");
    }
}

//! The int4 weight layout of the CUDA tensor-core W4A16 kernel (`cuda/kernels/matmul_w4_mma.cu`),
//! made on the host at upload time and defined here once, without CUDA, so it is tested on any
//! machine (against [`quant::pack::PackedWeight::code_ref`] and, through [`emulate`], against
//! `matmul_packed_ref`).
//!
//! The kernel runs `mma.sync.m16n8k16` (f16 × f16 → f32) with the *weight* as the A operand
//! (16 output rows × 16 columns of k) and x as B (16 columns of k × 8 rows of x), so a decode
//! step (m = 1..8) costs one mma per 16 × 16 weight tile and time stays flat in m. PTX fixes
//! which elements of A each lane holds: with `r = lane / 4` and `c = 2 · (lane % 4)`,
//!
//! | register | A row  | A columns      |
//! |----------|--------|----------------|
//! | a0       | r      | c, c + 1       |
//! | a1       | r + 8  | c, c + 1       |
//! | a2       | r      | c + 8, c + 9   |
//! | a3       | r + 8  | c + 8, c + 9   |
//!
//! Those 8 codes of one lane in one 16-column step are one `u32`: pair p (register a_p) has its
//! first code at bits `4p..4p+4` and its second at bits `16 + 4p..16 + 4p + 4`, so
//! `(word >> 4p) & 0x000F000F | 0x64006400` is the f16 pair (1024 + q0, 1024 + q1) with one
//! shift and one `lop3`, and subtracting the f16 1024 + zero leaves q − zero exactly.
//!
//! Words: `[n16 = ceil(n / 16) row tiles][kb = ceil(k / 64) blocks][32 lanes][4 steps]`, so a
//! lane reads one 16-byte `uint4` per 64 columns and a warp 512 contiguous bytes. Rows past `n`
//! and columns past `k` hold code 0 (x is zero there, so they add nothing).
//!
//! Eligible weights: int4 without act-order, groups a multiple of 16 columns (or one group per
//! row), so a 16-column step never straddles two groups.

use quant::pack::PackedWeight;

/// Columns of one mma step (the k of m16n8k16).
pub const STEP: usize = 16;
/// Steps per 16-byte lane word group (one `uint4`): 64 columns.
pub const STEPS_PER_BLOCK: usize = 4;
/// Rows of one weight tile (the m of m16n8k16).
pub const TILE_ROWS: usize = 16;

/// Whether the tensor-core kernel can run `w`: int4, no act-order, and groups that are whole
/// 16-column steps (or the whole row).
pub fn eligible(w: &PackedWeight) -> bool {
    w.format().bits() == 4 && w.g_idx().is_none() && (w.n_groups() <= 1 || w.group_size().is_multiple_of(STEP))
}

/// 64-column blocks per row (`kb`).
pub fn blocks(k: usize) -> usize {
    k.div_ceil(STEP * STEPS_PER_BLOCK)
}

/// Steps per quantization group, as the kernel divides a step index by it: the whole padded row
/// for one group per row.
pub fn group_steps(w: &PackedWeight) -> usize {
    if w.n_groups() <= 1 {
        blocks(w.k()) * STEPS_PER_BLOCK
    } else {
        w.group_size() / STEP
    }
}

/// (A row within the tile, column within the step) of code `half` (0 or 1) of pair `p` (0..4)
/// for `lane`: the table in the module header.
pub fn fragment_position(lane: usize, p: usize, half: usize) -> (usize, usize) {
    let r = lane / 4 + 8 * (p & 1);
    let c = 2 * (lane % 4) + 8 * (p >> 1) + half;
    (r, c)
}

/// The codes of `w` in the kernel's layout (`None` when not [`eligible`]).
pub fn codes(w: &PackedWeight) -> Option<Vec<u32>> {
    if !eligible(w) {
        return None;
    }
    let (n, k) = (w.n(), w.k());
    let (n16, kb) = (n.div_ceil(TILE_ROWS), blocks(k));
    let mut out = vec![0u32; n16 * kb * 32 * STEPS_PER_BLOCK];
    for t in 0..n16 {
        for b in 0..kb {
            for lane in 0..32 {
                for s in 0..STEPS_PER_BLOCK {
                    let k0 = (b * STEPS_PER_BLOCK + s) * STEP;
                    let mut word = 0u32;
                    for p in 0..4 {
                        for half in 0..2 {
                            let (r, c) = fragment_position(lane, p, half);
                            let (row, col) = (t * TILE_ROWS + r, k0 + c);
                            if row < n && col < k {
                                word |= u32::from(w.code_ref(row, col)) << (4 * p + 16 * half);
                            }
                        }
                    }
                    out[((t * kb + b) * 32 + lane) * STEPS_PER_BLOCK + s] = word;
                }
            }
        }
    }
    Some(out)
}

/// What the kernel computes, in plain Rust with the same layout, fragment positions and order of
/// operations per lane (x split into an f16 high part and an f16 low part, two products per
/// step, f32 sums rescaled at each group's end), for one x row: `y[n]`. The mma's own sum order
/// inside a step is not modelled (f32 sums of 16 products), so this checks the layout and the
/// arithmetic, not the last bits.
pub fn emulate(w: &PackedWeight, mma_codes: &[u32], x: &[f32], y: &mut [f32]) {
    let (n, k) = (w.n(), w.k());
    let kb = blocks(k);
    let gs = group_steps(w);
    let zero_sym = u32::from(w.format().int().offset());
    let xv = |c: usize| if c < k { x[c] } else { 0.0 };
    let split = |v: f32| {
        let hi = half::f16::from_f32(v);
        (hi.to_f32(), half::f16::from_f32(v - hi.to_f32()).to_f32())
    };
    for t in 0..n.div_ceil(TILE_ROWS) {
        let mut tot = [0f32; TILE_ROWS];
        let mut acc = [0f32; TILE_ROWS];
        let mut cur_g = usize::MAX;
        let flush = |tot: &mut [f32; TILE_ROWS], acc: &mut [f32; TILE_ROWS], g: usize| {
            for (r, (t_r, a_r)) in tot.iter_mut().zip(acc.iter_mut()).enumerate() {
                let row = (t * TILE_ROWS + r).min(n - 1);
                *t_r += *a_r * w.scales()[row * w.n_groups() + g];
                *a_r = 0.0;
            }
        };
        for step in 0..kb * STEPS_PER_BLOCK {
            // Steps past k (padding) can fall past the last group: clamped, as the kernel does.
            let g = (step / gs).min(w.n_groups().max(1) - 1);
            if g != cur_g {
                if cur_g != usize::MAX {
                    flush(&mut tot, &mut acc, cur_g);
                }
                cur_g = g;
            }
            let (b, s) = (step / STEPS_PER_BLOCK, step % STEPS_PER_BLOCK);
            for lane in 0..32 {
                let word = mma_codes[((t * kb + b) * 32 + lane) * STEPS_PER_BLOCK + s];
                for p in 0..4 {
                    for half in 0..2 {
                        let (r, c) = fragment_position(lane, p, half);
                        let row = (t * TILE_ROWS + r).min(n - 1);
                        let z = w.zeros().map_or(zero_sym, |z| u32::from(z[row * w.n_groups() + g]));
                        let q = (word >> (4 * p + 16 * half)) & 15;
                        let a = q as f32 - z as f32;
                        let (hi, lo) = split(xv(step * STEP + c));
                        acc[r] += a * hi + a * lo;
                    }
                }
            }
        }
        if cur_g != usize::MAX {
            flush(&mut tot, &mut acc, cur_g);
        }
        for r in 0..TILE_ROWS {
            if t * TILE_ROWS + r < n {
                y[t * TILE_ROWS + r] = tot[r];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::matmul_packed_ref;
    use quant::{quantize_rtn, Granularity, IntFormat, RtnOptions, WeightFormat};

    fn weight(symmetric: bool, gran: Granularity, n: usize, k: usize, seed: u64) -> PackedWeight {
        let format = WeightFormat::new(IntFormat::Int4, gran, symmetric).unwrap();
        let mut s = seed;
        let w: Vec<f32> = (0..n * k)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
            })
            .collect();
        PackedWeight::pack(&quantize_rtn(&w, n, k, &format, &RtnOptions::default()).unwrap())
    }

    #[test]
    fn every_code_lands_where_the_fragment_table_says() {
        for &(n, k, gran) in &[
            (16usize, 64usize, Granularity::Group(32)),
            (37, 200, Granularity::Group(16)),
            (5, 131, Granularity::PerChannel),
            (130, 256, Granularity::Group(128)),
        ] {
            let w = weight(false, gran, n, k, 7);
            let c = codes(&w).expect("eligible");
            let kb = blocks(k);
            assert_eq!(c.len(), n.div_ceil(16) * kb * 128);
            let mut seen = vec![0u8; n * k];
            for t in 0..n.div_ceil(16) {
                for b in 0..kb {
                    for lane in 0..32 {
                        for s in 0..4 {
                            let word = c[((t * kb + b) * 32 + lane) * 4 + s];
                            for p in 0..4 {
                                for half in 0..2 {
                                    let (r, cc) = fragment_position(lane, p, half);
                                    let (row, col) = (t * 16 + r, (b * 4 + s) * 16 + cc);
                                    let q = (word >> (4 * p + 16 * half)) & 15;
                                    if row < n && col < k {
                                        assert_eq!(q as u8, w.code_ref(row, col), "n={n} k={k} row {row} col {col}");
                                        seen[row * k + col] += 1;
                                    } else {
                                        assert_eq!(q, 0, "padding holds code 0");
                                    }
                                }
                            }
                        }
                    }
                }
            }
            assert!(seen.iter().all(|&v| v == 1), "every code exactly once (n={n} k={k})");
        }
    }

    #[test]
    fn the_fragment_table_covers_a_16x16_tile_once() {
        let mut hits = [[0u8; 16]; 16];
        for lane in 0..32 {
            for p in 0..4 {
                for half in 0..2 {
                    let (r, c) = fragment_position(lane, p, half);
                    hits[r][c] += 1;
                }
            }
        }
        assert!(hits.iter().flatten().all(|&h| h == 1));
    }

    #[test]
    fn emulated_kernel_matches_the_reference() {
        for &(sym, gran, n, k) in &[
            (true, Granularity::Group(32), 33usize, 200usize),
            (false, Granularity::Group(128), 40, 300),
            (false, Granularity::Group(64), 16, 64),
            (true, Granularity::PerChannel, 9, 77),
        ] {
            let w = weight(sym, gran, n, k, 11);
            let c = codes(&w).unwrap();
            let x: Vec<f32> = (0..k).map(|i| ((i * 29 % 97) as f32 - 48.0) * 0.037).collect();
            let mut want = vec![0f32; n];
            matmul_packed_ref(&x, 1, &w, &mut want);
            let mut got = vec![f32::NAN; n];
            emulate(&w, &c, &x, &mut got);
            let err: f64 = got.iter().zip(&want).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
            let norm: f64 = want.iter().map(|b| f64::from(*b).powi(2)).sum::<f64>();
            assert!(err / norm < 1e-11, "{sym} {gran:?} n={n} k={k}: normalized MSE {}", err / norm);
        }
    }

    #[test]
    fn ineligible_weights_have_no_layout() {
        let w = weight(true, Granularity::Group(40), 8, 80, 3);
        assert!(!eligible(&w) && codes(&w).is_none(), "groups of 40 straddle 16-column steps");
        let format = WeightFormat::new(IntFormat::Int3, Granularity::Group(32), false).unwrap();
        let w3 = PackedWeight::pack(&quantize_rtn(&[0.5; 8 * 64], 8, 64, &format, &RtnOptions::default()).unwrap());
        assert!(!eligible(&w3));
    }
}

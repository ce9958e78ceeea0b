//! W8A8 on the CPU: `y[i, j] = (Σ_k xq[i, k] · wq[j, k]) as f32 · x_scales[i] · w_scales[j]`
//! with int8 operands and an exact i32 sum, the bits of [`matmul_w8a8_ref`] for every input
//! (−128 included).
//!
//! Shapes: `xq[m, k]`, `x_scales[m]`, `wq[n, k]`, `w_scales[n]`, `y[m, n]`, all row-major.
//! [`matmul_packed`] reads the weight from qtool's packed layout instead (int8 symmetric
//! per-channel codes `q + 128`, rows padded to whole `u32` words), flipping the top bit of
//! each byte as it loads it, so no int8 copy of the weight is made.
//!
//! AVX2: sixteen int8 of a row are widened to i16 (`_mm256_cvtepi8_epi16`) and multiplied
//! pairwise into eight i32 (`_mm256_madd_epi16`, exact: a pair sums to at most 2·128·128),
//! accumulated per (x row, W row) in an i32 vector. A register block holds `MR` x rows × `NR`
//! W rows (2 × 4 from two x rows on, 1 × 8 for one), so each widened W vector serves every x
//! row of the block. Columns past the last multiple of 16 are summed in scalar code into the
//! same integer; integer sums are exact, so the order and the thread count do not change a
//! bit. (AVX2 has no int8 dot product with an i32 accumulator; `_mm256_maddubs_epi16` takes
//! one unsigned operand and saturates i16 pairs, so it would need ±127 operands.) Rayon splits
//! the `n` W rows into tasks. Without AVX2 ([`Isa::Portable`]) the scalar reference runs per x
//! row in parallel.

use crate::cpu::matmul::SyncPtr;
use crate::cpu::simd::Isa;
use crate::ops::{matmul_w8a8_ref, w8a8_packed_codes, w8a8_packed_supported};
use quant::pack::PackedWeight;
use rayon::prelude::*;

/// Tasks per thread to aim for, so that uneven tasks still balance.
const TASKS_PER_THREAD: usize = 4;

/// `y[m, n]` (shapes validated).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    isa: Isa,
    xq: &[i8],
    x_scales: &[f32],
    m: usize,
    k: usize,
    wq: &[i8],
    w_scales: &[f32],
    n: usize,
    y: &mut [f32],
) {
    let w = WRows { bytes: wq, stride: k, offset_codes: false, scales: w_scales };
    run(isa, xq, x_scales, m, k, &w, n, y);
}

/// `y[m, n]` for a packed weight with [`w8a8_packed_supported`] (shapes validated).
pub(crate) fn matmul_packed(isa: Isa, xq: &[i8], x_scales: &[f32], m: usize, w: &PackedWeight, y: &mut [f32]) {
    debug_assert!(w8a8_packed_supported(w));
    let (k, n) = (w.k(), w.n());
    if isa != Isa::Avx2Fma || cfg!(not(target_endian = "little")) {
        let wq = w8a8_packed_codes(w);
        return matmul(isa, xq, x_scales, m, k, &wq, w.scales(), n, y);
    }
    let rows = WRows {
        bytes: bytemuck::cast_slice(w.codes()),
        stride: w.row_words() * 4,
        offset_codes: true,
        scales: w.scales(),
    };
    run(isa, xq, x_scales, m, k, &rows, n, y);
}

/// The weight's rows: `n` rows of `stride` bytes, the first `k` of each its codes, as `i8`
/// or (`offset_codes`) as `q + 128`; one scale per row.
struct WRows<'a> {
    bytes: &'a [i8],
    stride: usize,
    offset_codes: bool,
    scales: &'a [f32],
}

#[allow(clippy::too_many_arguments)]
fn run(isa: Isa, xq: &[i8], x_scales: &[f32], m: usize, k: usize, w: &WRows<'_>, n: usize, y: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma {
        let args = avx2::Args { xq, x_scales, m, k, w, n };
        let threads = rayon::current_num_threads().max(1);
        let per_task = n.div_ceil(threads * TASKS_PER_THREAD).div_ceil(8).max(1) * 8;
        let yp = SyncPtr::new(y);
        (0..n.div_ceil(per_task)).into_par_iter().for_each(|t| {
            let j0 = t * per_task;
            // SAFETY: AVX2 is available (isa checked at construction); task t alone writes
            // columns j0..j0 + rows of y, which holds m * n values (validated).
            unsafe {
                if w.offset_codes {
                    avx2::task::<true>(&args, j0, per_task.min(n - j0), yp)
                } else {
                    avx2::task::<false>(&args, j0, per_task.min(n - j0), yp)
                }
            };
        });
        return;
    }
    let _ = isa;
    // The reference, per x row (packed weights came here unpacked: see `matmul_packed`).
    debug_assert!(!w.offset_codes && w.stride == k);
    y.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        matmul_w8a8_ref(&xq[i * k..(i + 1) * k], &x_scales[i..=i], 1, k, w.bytes, w.scales, n, row);
    });
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::WRows;
    use crate::cpu::matmul::SyncPtr;
    use std::arch::x86_64::*;

    /// The operands (shapes validated).
    pub(super) struct Args<'a> {
        pub xq: &'a [i8],
        pub x_scales: &'a [f32],
        pub m: usize,
        pub k: usize,
        pub w: &'a WRows<'a>,
        pub n: usize,
    }

    /// Outputs `y[0..m, j0..j0 + rows]`.
    ///
    /// # Safety
    /// AVX2 must be available; `y` holds `m * n` values and no other task writes these columns.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn task<const OFFSET: bool>(a: &Args<'_>, j0: usize, rows: usize, y: SyncPtr) {
        // SAFETY (every block call): AVX2 is available; the rows passed are < m and < n.
        unsafe {
            if a.m == 1 {
                let mut j = 0;
                while j < rows {
                    let nr = 8.min(rows - j);
                    block::<1, 8, OFFSET>(a, 0, j0 + j, nr, y);
                    j += nr;
                }
                return;
            }
            let mut j = 0;
            while j < rows {
                let nr = 4.min(rows - j);
                let mut i = 0;
                while i < a.m {
                    let mr = 2.min(a.m - i);
                    if mr == 2 {
                        block::<2, 4, OFFSET>(a, i, j0 + j, nr, y);
                    } else {
                        block::<1, 4, OFFSET>(a, i, j0 + j, nr, y);
                    }
                    i += mr;
                }
                j += nr;
            }
        }
    }

    /// `y[i0 + i, j0 + t]` for `i < MR`, `t < nr ≤ NR` (a ragged block repeats its last W row
    /// and stores only `nr` columns). `OFFSET`: W bytes are `q + 128` (top bit flipped on load).
    #[inline(always)]
    unsafe fn block<const MR: usize, const NR: usize, const OFFSET: bool>(
        a: &Args<'_>,
        i0: usize,
        j0: usize,
        nr: usize,
        y: SyncPtr,
    ) {
        let (k, stride) = (a.k, a.w.stride);
        let xr: [&[i8]; MR] = std::array::from_fn(|i| &a.xq[(i0 + i) * k..(i0 + i + 1) * k]);
        let wr: [&[i8]; NR] = std::array::from_fn(|t| {
            let j = j0 + t.min(nr - 1);
            &a.w.bytes[j * stride..j * stride + k]
        });
        let k16 = k / 16 * 16;
        // SAFETY (whole body): AVX2 is available; 16-byte loads at c + 16 <= k16 <= k stay
        // inside rows of length k; stores hit y[(i0 + i) * n + j0 + t] with i0 + i < m,
        // j0 + t < n.
        unsafe {
            let flip = _mm_set1_epi8(if OFFSET { i8::MIN } else { 0 });
            let mut acc = [[_mm256_setzero_si256(); NR]; MR];
            let mut c = 0;
            while c < k16 {
                let xv: [__m256i; MR] =
                    std::array::from_fn(|i| _mm256_cvtepi8_epi16(_mm_loadu_si128(xr[i].as_ptr().add(c).cast())));
                for t in 0..NR {
                    let mut raw = _mm_loadu_si128(wr[t].as_ptr().add(c).cast());
                    if OFFSET {
                        raw = _mm_xor_si128(raw, flip);
                    }
                    let wv = _mm256_cvtepi8_epi16(raw);
                    for i in 0..MR {
                        acc[i][t] = _mm256_add_epi32(acc[i][t], _mm256_madd_epi16(xv[i], wv));
                    }
                }
                c += 16;
            }
            for i in 0..MR {
                for t in 0..nr {
                    let tail: i32 = xr[i][k16..]
                        .iter()
                        .zip(&wr[t][k16..])
                        .map(|(&p, &q)| i32::from(p) * i32::from(if OFFSET { q ^ i8::MIN } else { q }))
                        .sum();
                    let dot = hsum(acc[i][t]).wrapping_add(tail);
                    let v = dot as f32 * a.x_scales[i0 + i] * a.w.scales[j0 + t];
                    *y.get().add((i0 + i) * a.n + j0 + t) = v;
                }
            }
        }
    }

    /// The wrapping sum of the eight i32 lanes.
    #[inline(always)]
    unsafe fn hsum(v: __m256i) -> i32 {
        // SAFETY: AVX2 is available (the caller's contract).
        unsafe {
            let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
            _mm_cvtsi128_si32(s)
        }
    }
}

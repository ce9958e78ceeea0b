//! The `cpu-q8` packed path (int2, int3, int4 and int8 codes) on AVX-512 VNNI, over weights
//! repacked at load time ([`Backend::prepare`](crate::Backend::prepare)) into tiles of 16
//! interleaved rows, as llama.cpp's repacked CPU types do: `y[m, n] = x[m, k] · dequant(W)[n,
//! k]ᵀ` with x quantized
//! to int8 per block of 32 ([`quantize_rows_q8_ref`]) — the same math, and the same f32 operations
//! in the same order, as [`matmul_packed_q8_ref`](crate::ops::matmul_packed_q8_ref), which it
//! equals bit for bit.
//!
//! Layout ([`Interleaved16`]), `T = ⌈n / 16⌉` tiles, `nb = k / 32` blocks:
//! ```text
//! codes  [T][nb][4 packs p][16 rows t][4 bytes c]   byte = code(32b + 8p + c)
//!                                                         | code(32b + 8p + 4 + c) << 4
//!        int8 codes: [T][nb][8 packs p][16 rows t][4 bytes c], byte = code(32b + 4p + c)
//! scales [T][n_groups][16]  in the weight's scale dtype: f16 or bf16 bits (2 bytes, exact:
//!                           every scale is a value of that dtype), f32 when the scales are f32
//! zeros  [T][n_groups][16]  u8 (asymmetric only; else the format's offset for every row)
//! ```
//! (rows past `n` of the last tile are zero codes with zero scales). int2 and int3 codes take
//! the nibble layout (a code below 16 is a nibble; 4 bits a code read where the packed row
//! has 2 or 3: more bytes at `m = 1`, but `vpdpbusd` instead of an AVX2 decode, faster on
//! measurement: `kernels/examples/packed_q8_speed.rs`). One 64-byte load is one
//! pack: four codes of each of the 16 rows in its low nibbles and the next four in its high
//! nibbles, so `vpdpbusd` against four x bytes broadcast to every lane adds a 4-term dot
//! product into each row's own i32 lane — no horizontal sums. A block (32 columns) is four
//! packs, eight `vpdpbusd` per x row (high nibbles masked in place, their sum shifted down by
//! 4; int8 codes: eight packs of bytes, `vpdpbusd` of u8 codes up to 255 is exact in i32);
//! then per lane, as the reference:
//! `s = dot − z · Σxq`, `acc += f32(s) · (dx · ws)` (multiply, then add: no fusing). Up to four
//! x rows share each decoded block; rayon splits the tiles (`cpu::tiles16`). The codes of the
//! block 1 KiB ahead are prefetched in software (`cpu::tiles16`).

use crate::cpu::tiles16::TILE;
use crate::ops::{quantize_rows_q8_ref, Q8_BLOCK};
use crate::prepared::PreparedWeight;
use half::{bf16, f16};
use quant::format::ScaleDtype;
use quant::pack::PackedWeight;
use rayon::prelude::*;
use std::any::Any;

/// Bytes of one block of one tile: 16 rows × 32 codes / 2 (nibbles).
const BLOCK_BYTES: usize = TILE * Q8_BLOCK / 2;
/// The same for int8 codes, one byte each.
const WIDE_BLOCK_BYTES: usize = TILE * Q8_BLOCK;

/// Whether this CPU has AVX-512 F, BW and VNNI.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether [`Interleaved16`] takes `w`: a weight the int8 path serves without act-order
/// (2, 3, 4 or 8-bit codes).
pub(crate) fn served(w: &PackedWeight) -> bool {
    super::packed_q8::supported(w)
}

/// The group scales of the tiles, `[T][n_groups][16]`, stored as compactly as they are exact.
enum TileScales {
    /// f32 scales (in-memory fake quantization).
    F32(Vec<f32>),
    /// IEEE half bits.
    F16(Vec<u16>),
    /// bfloat16 bits.
    Bf16(Vec<u16>),
}

impl TileScales {
    fn bytes(&self) -> usize {
        match self {
            TileScales::F32(v) => v.len() * 4,
            TileScales::F16(v) | TileScales::Bf16(v) => v.len() * 2,
        }
    }
}

/// A weight [`served`] here in 16-row interleaved tiles (module doc).
pub(crate) struct Interleaved16 {
    n: usize,
    k: usize,
    group_size: usize,
    n_groups: usize,
    /// int8 codes, a byte each (else nibbles).
    wide: bool,
    codes: Vec<u8>,
    scales: TileScales,
    zeros: Option<Vec<u8>>,
    offset: i32,
}

impl PreparedWeight for Interleaved16 {
    fn backend(&self) -> &'static str {
        "cpu-q8"
    }
    fn shape(&self) -> [usize; 2] {
        [self.n, self.k]
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn bytes(&self) -> Option<usize> {
        Some(self.codes.len() + self.scales.bytes() + self.zeros.as_ref().map_or(0, Vec::len))
    }
}

impl Interleaved16 {
    /// Repacks `w` (which must be [`served`]); tiles in parallel.
    pub(crate) fn new(w: &PackedWeight) -> Interleaved16 {
        assert!(served(w), "Interleaved16 of a weight the int8 path does not serve");
        let (n, k, ng) = (w.n(), w.k(), w.n_groups());
        let (tiles, nb) = (n.div_ceil(TILE), k / Q8_BLOCK);
        let bits = w.format().bits() as usize;
        let wide = bits == 8;
        let block_bytes = if wide { WIDE_BLOCK_BYTES } else { BLOCK_BYTES };
        let bytes: &[u8] = bytemuck::cast_slice(w.codes());
        let row_bytes = w.row_words() * 4;
        let mut codes = vec![0u8; tiles * nb * block_bytes];
        codes.par_chunks_mut(nb * block_bytes).enumerate().for_each(|(tile, out)| {
            let mut row = vec![0u8; k];
            for t in 0..TILE.min(n - tile * TILE) {
                let j = tile * TILE + t;
                unpack_row(&bytes[j * row_bytes..(j + 1) * row_bytes], bits, &mut row);
                for b in 0..nb {
                    let (blk, out) = (&row[b * Q8_BLOCK..], &mut out[b * block_bytes..]);
                    for c in 0..4 {
                        if wide {
                            for p in 0..8 {
                                out[p * 64 + t * 4 + c] = blk[4 * p + c];
                            }
                        } else {
                            for p in 0..4 {
                                out[p * 64 + t * 4 + c] = blk[8 * p + c] | (blk[8 * p + 4 + c] << 4);
                            }
                        }
                    }
                }
            }
        });
        let scale = |j: usize, g: usize| w.scales()[j * ng + g];
        let scales = match w.scale_dtype() {
            ScaleDtype::F32 => TileScales::F32(per_tile(n, ng, scale)),
            ScaleDtype::F16 => TileScales::F16(per_tile(n, ng, |j, g| f16::from_f32(scale(j, g)).to_bits())),
            ScaleDtype::Bf16 => TileScales::Bf16(per_tile(n, ng, |j, g| bf16::from_f32(scale(j, g)).to_bits())),
        };
        let zeros = w.zeros().map(|z| per_tile(n, ng, |j, g| z[j * ng + g]));
        Interleaved16 {
            n,
            k,
            group_size: w.group_size(),
            n_groups: ng,
            wide,
            codes,
            scales,
            zeros,
            offset: i32::from(w.format().int().offset()),
        }
    }
}

/// The `k = out.len()` codes of one packed row of `bits`-bit codes (a little-endian bit
/// stream, code `c` at bits `c · bits ..`).
fn unpack_row(row: &[u8], bits: usize, out: &mut [u8]) {
    let mask = (1u16 << bits) - 1;
    for (c, o) in out.iter_mut().enumerate() {
        let (byte, shift) = (c * bits / 8, c * bits % 8);
        let v = u16::from(row[byte]) | u16::from(row.get(byte + 1).copied().unwrap_or(0)) << 8;
        *o = ((v >> shift) & mask) as u8;
    }
}

/// `[T][n_groups][16]` of `f(row, group)`, zero for the rows past `n`.
fn per_tile<V: Copy + Default>(n: usize, ng: usize, f: impl Fn(usize, usize) -> V) -> Vec<V> {
    let mut v = vec![V::default(); n.div_ceil(TILE) * ng * TILE];
    for (i, o) in v.iter_mut().enumerate() {
        let (tile, g, t) = (i / (ng * TILE), (i / TILE) % ng, i % TILE);
        let j = tile * TILE + t;
        if j < n {
            *o = f(j, g);
        }
    }
    v
}

/// x quantized per block of 32: `xq[m, k]` (natural order), `dx[m, k/32]` scales and `sx[m,
/// k/32]` code sums.
struct Q8Rows {
    xq: Vec<i8>,
    dx: Vec<f32>,
    sx: Vec<i32>,
}

fn quantize(x: &[f32], m: usize, k: usize) -> Q8Rows {
    let (xq, dx) = quantize_rows_q8_ref(x, m, k);
    let sx = xq.chunks_exact(Q8_BLOCK).map(|b| b.iter().map(|&v| i32::from(v)).sum()).collect();
    Q8Rows { xq, dx, sx }
}

/// `y[m, n] = x[m, k] · dequant(W)ᵀ` on validated shapes; [`available`] must be true.
pub(crate) fn matmul(x: &[f32], m: usize, w: &Interleaved16, y: &mut [f32]) {
    assert!(available(), "packed_q8_vnni::matmul without AVX-512 VNNI");
    assert!(x.len() >= m * w.k && y.len() >= m * w.n);
    if m == 0 || w.n == 0 {
        return;
    }
    let q = quantize(x, m, w.k);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512 F/BW/VNNI are available (asserted); lengths asserted above.
    unsafe {
        avx512::matmul(&q, m, w, y)
    };
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Interleaved16, Q8Rows, TileScales, BLOCK_BYTES, TILE, WIDE_BLOCK_BYTES};
    use crate::cpu::matmul::SyncPtr;
    use crate::cpu::tiles16::{for_each_tile, PREFETCH_BYTES};
    use crate::ops::Q8_BLOCK;
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512 F/BW/VNNI must be available; `x` quantized for `w.k`, `y` of `m * w.n`.
    pub(super) unsafe fn matmul(q: &Q8Rows, m: usize, w: &Interleaved16, y: &mut [f32]) {
        // SAFETY (each arm): the caller's contract.
        match (w.zeros.is_some(), w.wide) {
            (false, false) => unsafe { tiles::<false, false>(q, m, w, y) },
            (true, false) => unsafe { tiles::<true, false>(q, m, w, y) },
            (false, true) => unsafe { tiles::<false, true>(q, m, w, y) },
            (true, true) => unsafe { tiles::<true, true>(q, m, w, y) },
        }
    }

    /// [`matmul`] for asymmetric or not, int8 codes or not.
    unsafe fn tiles<const ASYM: bool, const WIDE: bool>(q: &Q8Rows, m: usize, w: &Interleaved16, y: &mut [f32]) {
        let yp = SyncPtr::new(y);
        for_each_tile(w.n, m, |tile, i0, mc| {
            // SAFETY: AVX-512 is available; tile < ⌈n/16⌉, x rows i0 + mc <= m; the task owns
            // the columns of its tiles.
            unsafe {
                match mc {
                    1 => tile_rows::<1, ASYM, WIDE>(q, i0, w, tile, yp),
                    2 => tile_rows::<2, ASYM, WIDE>(q, i0, w, tile, yp),
                    3 => tile_rows::<3, ASYM, WIDE>(q, i0, w, tile, yp),
                    _ => tile_rows::<4, ASYM, WIDE>(q, i0, w, tile, yp),
                }
            }
        });
    }

    /// The four x codes at `xp + o` broadcast to every 32-bit lane.
    #[inline(always)]
    unsafe fn x4(xp: *const i8, o: usize) -> __m512i {
        // SAFETY: AVX-512 F is available; 4 readable bytes (the callers' contracts).
        unsafe { _mm512_set1_epi32(std::ptr::read_unaligned(xp.add(o).cast::<i32>())) }
    }

    /// `acc += f32(dot − z · Σxq) · (dx · ws)` per lane for x block `xb`, unfused: the
    /// reference's operations (`z` the tile's zero points, or `offset` when symmetric).
    #[inline(always)]
    unsafe fn step<const ASYM: bool>(
        acc: &mut __m512,
        dot: __m512i,
        q: &Q8Rows,
        xb: usize,
        (ws, zv): (__m512, __m512i),
        offset: i32,
    ) {
        // SAFETY: AVX-512 F is available (the callers' contracts).
        unsafe {
            let s = if ASYM {
                _mm512_sub_epi32(dot, _mm512_mullo_epi32(zv, _mm512_set1_epi32(q.sx[xb])))
            } else {
                _mm512_sub_epi32(dot, _mm512_set1_epi32(offset * q.sx[xb]))
            };
            let d = _mm512_mul_ps(_mm512_set1_ps(q.dx[xb]), ws);
            *acc = _mm512_add_ps(*acc, _mm512_mul_ps(_mm512_cvtepi32_ps(s), d));
        }
    }

    impl TileScales {
        /// The 16 scales at `at..at + 16` (bounds-checked) as f32, exact.
        ///
        /// # Safety
        /// AVX-512 F must be available.
        #[inline(always)]
        unsafe fn load(&self, at: usize) -> __m512 {
            // SAFETY: AVX-512 F is available (the caller's contract); each load reads the 16
            // elements of a bounds-checked slice.
            unsafe {
                match self {
                    TileScales::F32(v) => _mm512_loadu_ps(v[at..at + TILE].as_ptr()),
                    TileScales::F16(v) => _mm512_cvtph_ps(_mm256_loadu_si256(v[at..at + TILE].as_ptr().cast())),
                    TileScales::Bf16(v) => {
                        let h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(v[at..at + TILE].as_ptr().cast()));
                        _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h))
                    }
                }
            }
        }
    }

    /// `y[i0..i0 + M, 16 tile..]` (the lanes inside `n`).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile_rows<const M: usize, const ASYM: bool, const WIDE: bool>(
        q: &Q8Rows,
        i0: usize,
        w: &Interleaved16,
        tile: usize,
        y: SyncPtr,
    ) {
        let (k, n, ng) = (w.k, w.n, w.n_groups);
        let nb = k / Q8_BLOCK;
        let bpg = w.group_size / Q8_BLOCK;
        let bb = if WIDE { WIDE_BLOCK_BYTES } else { BLOCK_BYTES };
        let codes = &w.codes[tile * nb * bb..(tile + 1) * nb * bb];
        let tile_groups = tile * ng * TILE..(tile + 1) * ng * TILE;
        let scales0 = tile_groups.start;
        let zeros = w.zeros.as_ref().map(|z| &z[tile_groups]);
        assert!(q.xq.len() >= (i0 + M) * k && q.dx.len() >= (i0 + M) * nb && q.sx.len() >= (i0 + M) * nb);
        // SAFETY (whole body): AVX-512 F/BW/VNNI are available (the caller's contract); code
        // loads read 4 (8 for int8) × 64 bytes of block b < nb inside `codes`, scale and zero loads 16 lanes
        // of group g < ng inside `scales` / `zeros`, x loads 4 bytes inside rows i0 + i < i0 + M
        // (all sliced or asserted above).
        unsafe {
            let (lo_mask, hi_mask) = (_mm512_set1_epi8(0x0f), _mm512_set1_epi8(0xf0u8 as i8));
            let mut acc = [_mm512_setzero_ps(); M];
            for g in 0..ng {
                let ws = w.scales.load(scales0 + g * TILE);
                let zv = match zeros {
                    Some(z) if ASYM => _mm512_cvtepu8_epi32(_mm_loadu_si128(z.as_ptr().add(g * TILE).cast())),
                    _ => _mm512_set1_epi32(w.offset),
                };
                for b in g * bpg..((g + 1) * bpg).min(nb) {
                    let cp = codes.as_ptr().add(b * bb);
                    // The block PREFETCH_BYTES ahead, in software; past the tile's end it is
                    // the next tile's, or nothing: a prefetch never faults.
                    let ahead = cp.wrapping_add(PREFETCH_BYTES);
                    for line in 0..bb / 64 {
                        _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64 * line).cast());
                    }
                    if WIDE {
                        // Pack p: codes 4p .. 4p + 4 of every row, as bytes.
                        let mut packs = [_mm512_setzero_si512(); 8];
                        for (p, v) in packs.iter_mut().enumerate() {
                            *v = _mm512_loadu_si512(cp.add(64 * p).cast());
                        }
                        for (i, acc) in acc.iter_mut().enumerate() {
                            let xb = (i0 + i) * nb + b;
                            let xp = q.xq.as_ptr().add(xb * Q8_BLOCK);
                            // Two independent chains of four.
                            let (mut d0, mut d1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
                            for p in 0..4 {
                                d0 = _mm512_dpbusd_epi32(d0, packs[2 * p], x4(xp, 8 * p));
                                d1 = _mm512_dpbusd_epi32(d1, packs[2 * p + 1], x4(xp, 8 * p + 4));
                            }
                            step::<ASYM>(acc, _mm512_add_epi32(d0, d1), q, xb, (ws, zv), w.offset);
                        }
                        continue;
                    }
                    let packs: [__m512i; 4] = std::array::from_fn(|p| _mm512_loadu_si512(cp.add(64 * p).cast()));
                    // Low nibbles as they are; high nibbles left in place (16 × code), their
                    // dot product shifted down by 4 once (exact: every term is a multiple of 16).
                    let lo: [__m512i; 4] = std::array::from_fn(|p| _mm512_and_si512(packs[p], lo_mask));
                    let hi: [__m512i; 4] = std::array::from_fn(|p| _mm512_and_si512(packs[p], hi_mask));
                    for (i, acc) in acc.iter_mut().enumerate() {
                        let xb = (i0 + i) * nb + b;
                        let xp = q.xq.as_ptr().add(xb * Q8_BLOCK);
                        // Two independent chains of four.
                        let (mut d0, mut d1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
                        for p in 0..4 {
                            d0 = _mm512_dpbusd_epi32(d0, lo[p], x4(xp, 8 * p));
                            d1 = _mm512_dpbusd_epi32(d1, hi[p], x4(xp, 8 * p + 4));
                        }
                        let dot = _mm512_add_epi32(d0, _mm512_srai_epi32::<4>(d1));
                        step::<ASYM>(acc, dot, q, xb, (ws, zv), w.offset);
                    }
                }
            }
            let j0 = tile * TILE;
            let lanes = TILE.min(n - j0);
            let keep: __mmask16 = if lanes == TILE { 0xffff } else { (1u16 << lanes) - 1 };
            for (i, a) in acc.iter().enumerate() {
                // SAFETY: row i0 + i < m, columns j0 .. j0 + lanes < n of y (m * n long, asserted
                // by `super::matmul`); only this task writes them.
                _mm512_mask_storeu_ps(y.get().add((i0 + i) * n + j0), keep, *a);
            }
        }
    }
}

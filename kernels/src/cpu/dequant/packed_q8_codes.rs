//! How the AVX2 `cpu-q8` packed kernel ([`super::packed_q8`]) reads each code width: one
//! [`Codes`] per width turns two consecutive 32-column blocks `b, b + 1` of one W row (a
//! *pair*), or a lone last block, into registers of codes, and multiplies them by the x codes
//! into eight i32 partial sums. Every width picks the order of its codes in the registers
//! that decodes cheapest; the kernel stores the quantized x once per call in that same order
//! ([`Codes::pair_col`], [`Codes::lone_col`]), so code and x line up. The sums are exact
//! integers, so the order does not change a bit of the result.
//!
//! Pair layout: i32 lanes 0-3 sum to block `b`'s dot, lanes 4-7 to block `b + 1`'s (the low
//! 128-bit half of every code register holds codes of `b`, the high half of `b + 1`); a lone
//! block's eight lanes sum to its dot. Row bytes per block (`BLOCK_BYTES`) and register
//! contents, `[low 128 | high 128]`, for the pair:
//! ```text
//! int2  8 B  v = qwords [b, b, b+1, b+1]; A = (v >> [0,2,0,2]) & 3, B = (v >> [4,6,4,6]) & 3
//!            (byte p of a qword shifted by 2s is code 4p + s)
//! int3 12 B  halves = 16 bytes at b (low) and at b + 8 bytes (high: block b + 1 from byte 4);
//!            A = codes 0-15, B = codes 16-31 of each half's block, in order (see `int3`)
//! int4 16 B  v = 32 bytes; A = v & 15 (even codes), B = (v >> 4) & 15 (odd codes)
//! int8 32 B  four i16 registers: codes 0-7, 8-15, 16-23, 24-31 of b | the same of b + 1
//! ```
//! int2/3/4 multiply with `_mm256_maddubs_epi16` (u8 code × i8 x; a pair of products is at
//! most 2 · 15 · 127, two registers' sums added in i16 at most 4 · 15 · 127) and
//! `_mm256_madd_epi16` by ones; int8 codes (up to 255) would overflow `maddubs`'s i16 pairs
//! (2 · 255 · 127 > 32767), so they are zero-extended to i16 and multiplied by x as i16 with
//! `_mm256_madd_epi16` (pairs summed in i32, exact).

use std::arch::x86_64::*;

/// One code width (module doc). Methods are `#[inline(always)]` and compile inside the
/// kernel's AVX2 functions.
pub(super) trait Codes {
    /// Bytes of one 32-code block in a packed row.
    const BLOCK_BYTES: usize;
    /// How x codes are stored for the kernel (`i8`, or `i16` for int8 weights).
    type X: Copy + Default + From<i8> + Send + Sync;
    /// The decoded codes of a pair (or a lone block) of one W row.
    type Dec: Copy;
    /// The column (0..64, `32 · (block − b) + t`) whose x code goes at position `p` of a
    /// pair's 64 stored x codes.
    fn pair_col(p: usize) -> usize;
    /// The column (0..32) whose x code goes at position `p` of a lone block's 32.
    fn lone_col(p: usize) -> usize;
    /// Decodes blocks `b, b + 1` of the row at `row`.
    ///
    /// # Safety
    /// AVX2 must be available; `row` valid for `(b + 2) · BLOCK_BYTES` bytes.
    unsafe fn pair(row: *const u8, b: usize) -> Self::Dec;
    /// Decodes block `b` alone.
    ///
    /// # Safety
    /// AVX2 must be available; `row` valid for `(b + 1) · BLOCK_BYTES` bytes.
    unsafe fn lone(row: *const u8, b: usize) -> Self::Dec;
    /// Eight i32 partial sums of a pair's products with the 64 x codes at `x`.
    ///
    /// # Safety
    /// AVX2 must be available; `x` valid for 64 elements.
    unsafe fn dot_pair(c: &Self::Dec, x: *const Self::X) -> __m256i;
    /// Eight i32 partial sums of a lone block's products with the 32 x codes at `x`.
    ///
    /// # Safety
    /// AVX2 must be available; `x` valid for 32 elements.
    unsafe fn dot_lone(c: &Self::Dec, x: *const Self::X) -> __m256i;
}

/// `madd(maddubs(a, xa) + maddubs(b, xb), 1)`: eight i32 sums of u8 codes times i8 x.
#[inline(always)]
unsafe fn dot_u8(a: __m256i, b: __m256i, x: *const i8) -> __m256i {
    // SAFETY: AVX2 is available; x valid for 64 bytes (the callers' contracts).
    unsafe {
        let s = _mm256_add_epi16(
            _mm256_maddubs_epi16(a, _mm256_loadu_si256(x.cast())),
            _mm256_maddubs_epi16(b, _mm256_loadu_si256(x.add(32).cast())),
        );
        _mm256_madd_epi16(s, _mm256_set1_epi16(1))
    }
}

/// `madd(maddubs(c, x), 1)` over 32 codes.
#[inline(always)]
unsafe fn dot_u8_one(c: __m256i, x: *const i8) -> __m256i {
    // SAFETY: AVX2 is available; x valid for 32 bytes (the callers' contracts).
    unsafe { _mm256_madd_epi16(_mm256_maddubs_epi16(c, _mm256_loadu_si256(x.cast())), _mm256_set1_epi16(1)) }
}

/// 2-bit codes, four per byte (code `4p + s` at bits `2s` of byte `p` of a block).
pub(super) struct Int2;

impl Codes for Int2 {
    const BLOCK_BYTES: usize = 8;
    type X = i8;
    type Dec = (__m256i, __m256i);

    fn pair_col(p: usize) -> usize {
        let (reg, half, q) = (p / 32, p / 16 % 2, p % 16);
        32 * half + 4 * (q % 8) + 2 * reg + q / 8
    }
    fn lone_col(p: usize) -> usize {
        4 * (p % 8) + p / 8
    }
    #[inline(always)]
    unsafe fn pair(row: *const u8, b: usize) -> Self::Dec {
        // SAFETY: AVX2 is available; 16 bytes at b · 8 are blocks b, b + 1 (the contract).
        unsafe {
            let v = _mm256_permute4x64_epi64::<0x50>(_mm256_castsi128_si256(_mm_loadu_si128(row.add(b * 8).cast())));
            let three = _mm256_set1_epi8(3);
            (
                _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(2, 0, 2, 0)), three),
                _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(6, 4, 6, 4)), three),
            )
        }
    }
    #[inline(always)]
    unsafe fn lone(row: *const u8, b: usize) -> Self::Dec {
        // SAFETY: AVX2 is available; 8 bytes at b · 8 are block b (the contract).
        unsafe {
            let v = _mm256_set1_epi64x(std::ptr::read_unaligned(row.add(b * 8).cast::<i64>()));
            let c = _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(6, 4, 2, 0)), _mm256_set1_epi8(3));
            (c, c)
        }
    }
    #[inline(always)]
    unsafe fn dot_pair(c: &Self::Dec, x: *const i8) -> __m256i {
        // SAFETY: the contract.
        unsafe { dot_u8(c.0, c.1, x) }
    }
    #[inline(always)]
    unsafe fn dot_lone(c: &Self::Dec, x: *const i8) -> __m256i {
        // SAFETY: the contract.
        unsafe { dot_u8_one(c.0, x) }
    }
}

/// 3-bit codes, eight per three bytes: code `c` of a block at bits `3c .. 3c + 3` of its 12
/// bytes (little-endian). In each 16-bit lane `l` of a half, codes `base + 2l` (low byte) and
/// `base + 2l + 1` (high byte) come out of two byte shuffles and two multiplies: the shuffle
/// puts the two bytes around a code into the lane (code at bit `s` of them), `mullo` by
/// `2^(8 − s)` lifts it to bits 8-10, `mulhi_epu16` by `2^(16 − s)` drops it to bits 0-2 (for
/// `s = 0` the lane takes the byte before and `2^8`); masks keep the two codes.
pub(super) struct Int3;

/// Shuffle control and multipliers for one register of [`Int3`] codes: `[low half | high
/// half]`, each half's codes `base ..` at byte offset `off` of its 16 loaded bytes.
#[repr(C, align(32))]
struct Int3Table {
    hi_ctrl: [u8; 32],
    lo_ctrl: [u8; 32],
    hi_mul: [u16; 16],
    lo_mul: [u16; 16],
}

/// The [`Int3Table`] of the halves `(base, off)`.
const fn int3_table(halves: [(usize, usize); 2]) -> Int3Table {
    let mut t = Int3Table { hi_ctrl: [0; 32], lo_ctrl: [0; 32], hi_mul: [0; 16], lo_mul: [0; 16] };
    // A block byte outside 0..12 reads as zero (never needed: the code lies in the other one).
    const fn at(byte: isize, off: usize) -> u8 {
        if byte < 0 || byte > 11 {
            0x80
        } else {
            byte as u8 + off as u8
        }
    }
    let mut h = 0;
    while h < 2 {
        let (base, off) = halves[h];
        let mut l = 0;
        while l < 8 {
            // High byte: code base + 2l + 1 via mullo.
            let c = base + 2 * l + 1;
            let (byte, s) = ((3 * c / 8) as isize, 3 * c % 8);
            t.hi_ctrl[16 * h + 2 * l] = at(byte, off);
            t.hi_ctrl[16 * h + 2 * l + 1] = at(byte + 1, off);
            t.hi_mul[8 * h + l] = 1 << (8 - s);
            // Low byte: code base + 2l via mulhi.
            let c = base + 2 * l;
            let (byte, s) = ((3 * c / 8) as isize, 3 * c % 8);
            let (first, s) = if s == 0 { (byte - 1, 8) } else { (byte, s) };
            t.lo_ctrl[16 * h + 2 * l] = at(first, off);
            t.lo_ctrl[16 * h + 2 * l + 1] = at(first + 1, off);
            t.lo_mul[8 * h + l] = 1 << (16 - s);
            l += 1;
        }
        h += 1;
    }
    t
}

/// Pair: codes 0-15 of `b` (bytes at 0) | of `b + 1` (bytes at 4); then codes 16-31.
static INT3_PAIR: [Int3Table; 2] = [int3_table([(0, 0), (0, 4)]), int3_table([(16, 0), (16, 4)])];
/// Lone block (its 12 bytes at offset 4 of both halves): codes 0-15 | 16-31.
static INT3_LONE: Int3Table = int3_table([(0, 4), (16, 4)]);

/// The 32 codes `t` selects from `v`, one per byte.
#[inline(always)]
unsafe fn int3_codes(v: __m256i, t: &Int3Table) -> __m256i {
    // SAFETY: AVX2 is available (the callers' contracts); the tables are 32 bytes each.
    unsafe {
        let hi_ctrl = _mm256_load_si256(t.hi_ctrl.as_ptr().cast());
        let lo_ctrl = _mm256_load_si256(t.lo_ctrl.as_ptr().cast());
        let hi = _mm256_mullo_epi16(_mm256_shuffle_epi8(v, hi_ctrl), _mm256_load_si256(t.hi_mul.as_ptr().cast()));
        let lo = _mm256_mulhi_epu16(_mm256_shuffle_epi8(v, lo_ctrl), _mm256_load_si256(t.lo_mul.as_ptr().cast()));
        _mm256_or_si256(_mm256_and_si256(hi, _mm256_set1_epi16(0x0700)), _mm256_and_si256(lo, _mm256_set1_epi16(7)))
    }
}

impl Codes for Int3 {
    const BLOCK_BYTES: usize = 12;
    type X = i8;
    type Dec = (__m256i, __m256i);

    fn pair_col(p: usize) -> usize {
        let (reg, half, q) = (p / 32, p / 16 % 2, p % 16);
        32 * half + 16 * reg + q
    }
    fn lone_col(p: usize) -> usize {
        p
    }
    #[inline(always)]
    unsafe fn pair(row: *const u8, b: usize) -> Self::Dec {
        // SAFETY: AVX2 is available; both 16-byte loads lie in the pair's 24 bytes at b · 12.
        unsafe {
            let p = row.add(b * 12);
            let v = _mm256_loadu2_m128i(p.add(8).cast(), p.cast());
            (int3_codes(v, &INT3_PAIR[0]), int3_codes(v, &INT3_PAIR[1]))
        }
    }
    #[inline(always)]
    unsafe fn lone(row: *const u8, b: usize) -> Self::Dec {
        let mut buf = [0u8; 16];
        // SAFETY: the block's 12 bytes are readable (the contract); AVX2 is available.
        unsafe {
            std::ptr::copy_nonoverlapping(row.add(b * 12), buf.as_mut_ptr().add(4), 12);
            let c = int3_codes(_mm256_broadcastsi128_si256(_mm_loadu_si128(buf.as_ptr().cast())), &INT3_LONE);
            (c, c)
        }
    }
    #[inline(always)]
    unsafe fn dot_pair(c: &Self::Dec, x: *const i8) -> __m256i {
        // SAFETY: the contract.
        unsafe { dot_u8(c.0, c.1, x) }
    }
    #[inline(always)]
    unsafe fn dot_lone(c: &Self::Dec, x: *const i8) -> __m256i {
        // SAFETY: the contract.
        unsafe { dot_u8_one(c.0, x) }
    }
}

/// 4-bit codes, two per byte (code `2p` in the low nibble of byte `p`, `2p + 1` in the high).
pub(super) struct Int4;

impl Codes for Int4 {
    const BLOCK_BYTES: usize = 16;
    type X = i8;
    type Dec = (__m256i, __m256i);

    /// Even columns of `b` | of `b + 1`, then odd columns of `b` | of `b + 1`.
    fn pair_col(p: usize) -> usize {
        let (odd, half, t) = (p / 32, p / 16 % 2, p % 16);
        32 * half + 2 * t + odd
    }
    /// Even columns, then odd ones.
    fn lone_col(p: usize) -> usize {
        2 * (p % 16) + p / 16
    }
    #[inline(always)]
    unsafe fn pair(row: *const u8, b: usize) -> Self::Dec {
        // SAFETY: AVX2 is available; 32 bytes at b · 16 are blocks b, b + 1.
        unsafe {
            let mask = _mm256_set1_epi8(0x0f);
            let v = _mm256_loadu_si256(row.add(b * 16).cast());
            (_mm256_and_si256(v, mask), _mm256_and_si256(_mm256_srli_epi16::<4>(v), mask))
        }
    }
    #[inline(always)]
    unsafe fn lone(row: *const u8, b: usize) -> Self::Dec {
        // SAFETY: AVX2 is available; 16 bytes at b · 16 are block b.
        unsafe {
            let v = _mm_loadu_si128(row.add(b * 16).cast());
            let lohi = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(v), _mm_srli_epi16::<4>(v));
            let c = _mm256_and_si256(lohi, _mm256_set1_epi8(0x0f));
            (c, c)
        }
    }
    #[inline(always)]
    unsafe fn dot_pair(c: &Self::Dec, x: *const i8) -> __m256i {
        // SAFETY: the contract.
        unsafe { dot_u8(c.0, c.1, x) }
    }
    #[inline(always)]
    unsafe fn dot_lone(c: &Self::Dec, x: *const i8) -> __m256i {
        // SAFETY: the contract.
        unsafe { dot_u8_one(c.0, x) }
    }
}

/// `madd(c, x[0..16])`: eight i32 sums of i16 pairs.
#[inline(always)]
unsafe fn madd16(c: __m256i, x: *const i16) -> __m256i {
    // SAFETY: AVX2 is available; x valid for 16 i16 (the callers' contracts).
    unsafe { _mm256_madd_epi16(c, _mm256_loadu_si256(x.cast())) }
}

/// 8-bit codes, one per byte; x stored as i16.
pub(super) struct Int8;

impl Codes for Int8 {
    const BLOCK_BYTES: usize = 32;
    type X = i16;
    type Dec = [__m256i; 4];

    /// Register `r` (of four, 16 i16 each): columns `8r .. 8r + 8` of `b` | of `b + 1`.
    fn pair_col(p: usize) -> usize {
        let (reg, half, q) = (p / 16, p / 8 % 2, p % 8);
        32 * half + 8 * reg + q
    }
    fn lone_col(p: usize) -> usize {
        p
    }
    #[inline(always)]
    unsafe fn pair(row: *const u8, b: usize) -> Self::Dec {
        // SAFETY: AVX2 is available; 64 bytes at b · 32 are blocks b, b + 1.
        unsafe {
            let (va, vb) =
                (_mm256_loadu_si256(row.add(b * 32).cast()), _mm256_loadu_si256(row.add(b * 32 + 32).cast()));
            let (lo, hi) = (_mm256_permute2x128_si256::<0x20>(va, vb), _mm256_permute2x128_si256::<0x31>(va, vb));
            let z = _mm256_setzero_si256();
            [
                _mm256_unpacklo_epi8(lo, z),
                _mm256_unpackhi_epi8(lo, z),
                _mm256_unpacklo_epi8(hi, z),
                _mm256_unpackhi_epi8(hi, z),
            ]
        }
    }
    #[inline(always)]
    unsafe fn lone(row: *const u8, b: usize) -> Self::Dec {
        // SAFETY: AVX2 is available; 32 bytes at b · 32 are block b.
        unsafe {
            let p = row.add(b * 32);
            let a = _mm256_cvtepu8_epi16(_mm_loadu_si128(p.cast()));
            let c = _mm256_cvtepu8_epi16(_mm_loadu_si128(p.add(16).cast()));
            [a, c, a, c]
        }
    }
    #[inline(always)]
    unsafe fn dot_pair(c: &Self::Dec, x: *const i16) -> __m256i {
        // SAFETY: AVX2 is available; x valid for 64 i16 (the contract).
        unsafe {
            let (m0, m1) = (madd16(c[0], x), madd16(c[1], x.add(16)));
            let (m2, m3) = (madd16(c[2], x.add(32)), madd16(c[3], x.add(48)));
            _mm256_add_epi32(_mm256_add_epi32(m0, m1), _mm256_add_epi32(m2, m3))
        }
    }
    #[inline(always)]
    unsafe fn dot_lone(c: &Self::Dec, x: *const i16) -> __m256i {
        // SAFETY: AVX2 is available; x valid for 32 i16 (the contract).
        unsafe { _mm256_add_epi32(madd16(c[0], x), madd16(c[1], x.add(16))) }
    }
}

//! The two tile heights of the `cpu-q8` GGML kernels ([`super::gguf_q8`]) behind one trait,
//! [`Tile`], so that one task body serves both: eight W rows in the lanes of 256-bit vectors
//! (`TBlock<8>`, the steps of `gguf_q8_tile`) and sixteen in 512-bit vectors (`TBlock<16>`,
//! the steps of `gguf_q8_zmm`; AVX-512 VNNI CPUs, `m >= 2`).

use super::gguf_q8_heads::Rows;
use super::gguf_q8_tile::{Q8Kind, TBlock, XBlock, ROWS};
use std::arch::x86_64::*;

/// A tile height: its unpacked block, its accumulator vector and its step.
pub(super) trait Tile: Copy {
    /// W rows (lanes).
    const R: usize;
    /// An all-zero block.
    const ZERO: Self;
    /// One f32 lane per W row.
    type Acc: Copy;
    /// # Safety
    /// The tile's instruction set must be available.
    unsafe fn zero() -> Self::Acc;
    /// Lane `t` into `out[t]`.
    ///
    /// # Safety
    /// As [`Tile::zero`].
    unsafe fn store(v: Self::Acc, out: &mut [f32; 2 * ROWS]);
    /// Rows `8h ..` of block `u`.
    ///
    /// # Safety
    /// As [`Q8Kind::unpack`].
    unsafe fn unpack<K: Q8Kind>(rows: &Rows, u: usize, h: usize, out: &mut [Self]);
    /// One step of the reference.
    ///
    /// # Safety
    /// As [`Q8Kind::update`] (`VNNI` only for 16 rows).
    unsafe fn update<K: Q8Kind, const M: usize, const VNNI: bool>(
        t: &Self,
        x: &[XBlock<'_>; M],
        acc: &mut [Self::Acc; M],
    );
}

impl Tile for TBlock<8> {
    const R: usize = 8;
    const ZERO: Self = TBlock::<8>::ZERO;
    type Acc = __m256;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        // SAFETY: AVX (the caller's contract).
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn store(v: __m256, out: &mut [f32; 2 * ROWS]) {
        // SAFETY: AVX (the caller's contract); eight of the sixteen.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) }
    }
    #[inline(always)]
    unsafe fn unpack<K: Q8Kind>(rows: &Rows, u: usize, h: usize, out: &mut [Self]) {
        // SAFETY: the caller's contract.
        unsafe { K::unpack::<8>(rows, u, h, out) }
    }
    #[inline(always)]
    unsafe fn update<K: Q8Kind, const M: usize, const VNNI: bool>(
        t: &Self,
        x: &[XBlock<'_>; M],
        acc: &mut [__m256; M],
    ) {
        // SAFETY: the caller's contract.
        unsafe { K::update::<M, VNNI>(t, x, acc) }
    }
}

impl Tile for TBlock<16> {
    const R: usize = 16;
    const ZERO: Self = TBlock::<16>::ZERO;
    type Acc = __m512;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        // SAFETY: AVX-512 F (the caller's contract).
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn store(v: __m512, out: &mut [f32; 2 * ROWS]) {
        // SAFETY: AVX-512 F (the caller's contract); sixteen f32.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), v) }
    }
    #[inline(always)]
    unsafe fn unpack<K: Q8Kind>(rows: &Rows, u: usize, h: usize, out: &mut [Self]) {
        // SAFETY: the caller's contract.
        unsafe { K::unpack::<16>(rows, u, h, out) }
    }
    #[inline(always)]
    unsafe fn update<K: Q8Kind, const M: usize, const VNNI: bool>(
        t: &Self,
        x: &[XBlock<'_>; M],
        acc: &mut [__m512; M],
    ) {
        // SAFETY: the caller's contract.
        unsafe { K::update16::<M>(t, x, acc) }
    }
}

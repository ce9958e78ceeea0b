//! Portable `Lanes`: eight `f32` in an array, unfused multiply-add, the same summation order
//! as the AVX2 implementation. LLVM vectorises these loops for whatever the target offers.

use super::Lanes;
use half::{bf16, f16};

/// Eight `f32` lanes in plain Rust.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable([f32; 8]);

impl Lanes for Portable {
    #[inline(always)]
    unsafe fn zero() -> Self {
        Portable([0.0; 8])
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees eight readable f32 at p.
        Portable(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }

    #[inline(always)]
    unsafe fn load_bf16(p: *const bf16) -> Self {
        // SAFETY: the caller guarantees eight readable bf16 at p.
        let raw = unsafe { p.cast::<[u16; 8]>().read_unaligned() };
        Portable(raw.map(|b| f32::from_bits(u32::from(b) << 16)))
    }

    #[inline(always)]
    unsafe fn load_f16(p: *const f16) -> Self {
        // SAFETY: the caller guarantees eight readable f16 at p.
        let raw = unsafe { p.cast::<[f16; 8]>().read_unaligned() };
        Portable(raw.map(f16::to_f32))
    }

    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees eight writable f32 at p.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(self.0) }
    }

    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        let mut out = self.0;
        for ((o, &x), &y) in out.iter_mut().zip(&a.0).zip(&b.0) {
            *o += x * y;
        }
        Portable(out)
    }

    #[inline(always)]
    unsafe fn hsum(self) -> f32 {
        let l = self.0;
        ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]))
    }

    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        Portable([v; 8])
    }

    #[inline(always)]
    unsafe fn load_u8(p: *const u8) -> Self {
        // SAFETY: the caller guarantees eight readable bytes at p.
        Portable(unsafe { p.cast::<[u8; 8]>().read_unaligned() }.map(f32::from))
    }

    #[inline(always)]
    unsafe fn load_i8(p: *const i8) -> Self {
        // SAFETY: the caller guarantees eight readable bytes at p.
        Portable(unsafe { p.cast::<[i8; 8]>().read_unaligned() }.map(f32::from))
    }

    #[inline(always)]
    unsafe fn mul(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] * b.0[i]))
    }

    #[inline(always)]
    unsafe fn add(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] + b.0[i]))
    }

    #[inline(always)]
    unsafe fn sub(self, b: Self) -> Self {
        Portable(std::array::from_fn(|i| self.0[i] - b.0[i]))
    }
}

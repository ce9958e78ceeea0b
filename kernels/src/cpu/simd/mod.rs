//! Eight-lane `f32` vectors behind one trait, `Lanes`, with an AVX2+FMA implementation and
//! a portable one, plus `WeightElem`, the weight element types (`f32`, `bf16`, `f16`) that
//! load eight at a time into lanes. The dequantizing kernels also use the unfused element-wise
//! ops (`mul`, `add`, `sub`) and byte loads, which round exactly as scalar Rust does.
//!
//! Kernels are written once, generic over `Lanes`, and instantiated per instruction set. The
//! two implementations add in the same order (see `Lanes::hsum`); they differ only in that
//! AVX2 fuses each multiply-add (one rounding) and the portable one does not.

mod avx2;
mod portable;

use half::{bf16, f16};

/// The instruction set a CPU kernel runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 AVX2 + FMA + F16C (checked at run time).
    Avx2Fma,
    /// Plain Rust on `[f32; 8]`, for any target.
    Portable,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        if avx2::available() {
            Isa::Avx2Fma
        } else {
            Isa::Portable
        }
    }

    /// Whether this CPU can run kernels built for `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Avx2Fma => avx2::available(),
            Isa::Portable => true,
        }
    }

    /// A short name: `avx2` or `portable`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx2Fma => "avx2",
            Isa::Portable => "portable",
        }
    }
}

/// Eight `f32` lanes. All methods are `unsafe`: pointers must be valid for eight reads, and
/// an implementation may only be used on a CPU that has its instruction set.
pub(crate) trait Lanes: Copy {
    /// All lanes 0.
    unsafe fn zero() -> Self;
    /// Eight consecutive `f32` (unaligned).
    unsafe fn load(p: *const f32) -> Self;
    /// Eight consecutive `bf16` widened to `f32`.
    unsafe fn load_bf16(p: *const bf16) -> Self;
    /// Eight consecutive `f16` widened to `f32`.
    unsafe fn load_f16(p: *const f16) -> Self;
    /// Stores the eight lanes at `p` (unaligned).
    unsafe fn store(self, p: *mut f32);
    /// `self + a * b` per lane (fused on AVX2).
    unsafe fn mul_add(self, a: Self, b: Self) -> Self;
    /// The sum of the lanes `l0..l7`, always in the order
    /// `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`.
    unsafe fn hsum(self) -> f32;
    /// Every lane `v`.
    unsafe fn splat(v: f32) -> Self;
    /// Eight consecutive `u8` converted to `f32` (exact).
    unsafe fn load_u8(p: *const u8) -> Self;
    /// Eight consecutive `i8` converted to `f32` (exact).
    unsafe fn load_i8(p: *const i8) -> Self;
    /// `self * b` per lane (one rounding).
    unsafe fn mul(self, b: Self) -> Self;
    /// `self + b` per lane.
    unsafe fn add(self, b: Self) -> Self;
    /// `self - b` per lane.
    unsafe fn sub(self, b: Self) -> Self;
}

/// A weight element type that loads eight at a time into `Lanes`.
pub(crate) trait WeightElem: Copy + Send + Sync + 'static {
    /// Whether `Self` is `f32` (so that a `*const Self` may be read as `*const f32`).
    const IS_F32: bool = false;
    /// Eight consecutive elements widened to `f32`.
    ///
    /// # Safety
    /// As [`Lanes::load`].
    unsafe fn load8<V: Lanes>(p: *const Self) -> V;
    /// One element widened to `f32` (exact).
    fn to_f32(self) -> f32;
}

impl WeightElem for f32 {
    const IS_F32: bool = true;
    #[inline(always)]
    unsafe fn load8<V: Lanes>(p: *const Self) -> V {
        V::load(p)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

impl WeightElem for bf16 {
    #[inline(always)]
    unsafe fn load8<V: Lanes>(p: *const Self) -> V {
        V::load_bf16(p)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from_bits(u32::from(self.to_bits()) << 16)
    }
}

impl WeightElem for f16 {
    #[inline(always)]
    unsafe fn load8<V: Lanes>(p: *const Self) -> V {
        V::load_f16(p)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
}

/// A kernel body generic over `Lanes`, run by [`run`] with the lanes of an [`Isa`].
pub(crate) trait LanesFn {
    /// Runs the body with lanes `V`.
    ///
    /// # Safety
    /// `V`'s instruction set must be present; the body's own pointer contracts apply.
    unsafe fn call<V: Lanes>(self);
}

/// Runs `f` with the lanes of `isa`, inside a function compiled for that instruction set so
/// that `f`'s (`#[inline(always)]`) body is vectorised for it.
///
/// # Safety
/// `isa.is_available()` must hold; `f`'s own contracts apply.
pub(crate) unsafe fn run<F: LanesFn>(isa: Isa, f: F) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { run_avx2(f) },
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx2Fma => unreachable!("AVX2 requested on a non-x86-64 target"),
        Isa::Portable => unsafe { f.call::<portable::Portable>() },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn run_avx2<F: LanesFn>(f: F) {
    unsafe { f.call::<avx2::Avx2>() }
}

/// Hints the CPU to fetch the cache line holding `p` into all cache levels. Never faults and
/// never dereferences in the Rust sense, so `p` may point anywhere (compute it with
/// `wrapping_add`). A no-op off x86-64.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is part of SSE (baseline on x86-64) and does not fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

//! AVX2 + FMA + F16C `Lanes` (x86-64 only; elsewhere `available` is false and the type is
//! never constructed). Kernels instantiated with `Avx2` must run inside a function compiled
//! with `#[target_feature(enable = "avx2,fma,f16c")]`, after `available` returned true.

/// Whether this CPU has AVX2, FMA and F16C.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use imp::Avx2;

#[cfg(target_arch = "x86_64")]
mod imp {
    use crate::cpu::simd::Lanes;
    use half::{bf16, f16};
    use std::arch::x86_64::*;

    /// Eight `f32` lanes in a `__m256`.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx2(__m256);

    impl Lanes for Avx2 {
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn zero() -> Self {
            Avx2(_mm256_setzero_ps())
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees eight readable f32 at p.
            Avx2(unsafe { _mm256_loadu_ps(p) })
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn load_bf16(p: *const bf16) -> Self {
            // SAFETY: the caller guarantees eight readable bf16 (16 bytes) at p.
            let raw = unsafe { _mm_loadu_si128(p.cast()) };
            // bf16 is the high half of an f32: widen each u16 to u32 and shift it up.
            let wide = _mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(raw));
            Avx2(_mm256_castsi256_ps(wide))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn load_f16(p: *const f16) -> Self {
            // SAFETY: the caller guarantees eight readable f16 (16 bytes) at p.
            let raw = unsafe { _mm_loadu_si128(p.cast()) };
            Avx2(_mm256_cvtph_ps(raw))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees eight writable f32 at p.
            unsafe { _mm256_storeu_ps(p, self.0) }
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn mul_add(self, a: Self, b: Self) -> Self {
            Avx2(_mm256_fmadd_ps(a.0, b.0, self.0))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn hsum(self) -> f32 {
            // [l0+l4, l1+l5, l2+l6, l3+l7]
            let s4 = _mm_add_ps(_mm256_castps256_ps128(self.0), _mm256_extractf128_ps::<1>(self.0));
            // [(l0+l4)+(l2+l6), (l1+l5)+(l3+l7), ..]
            let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            let s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
            _mm_cvtss_f32(s1)
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn splat(v: f32) -> Self {
            Avx2(_mm256_set1_ps(v))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn load_u8(p: *const u8) -> Self {
            // SAFETY: the caller guarantees eight readable bytes at p.
            let raw = unsafe { _mm_loadl_epi64(p.cast()) };
            Avx2(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(raw)))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn load_i8(p: *const i8) -> Self {
            // SAFETY: the caller guarantees eight readable bytes at p.
            let raw = unsafe { _mm_loadl_epi64(p.cast()) };
            Avx2(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(raw)))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn mul(self, b: Self) -> Self {
            Avx2(_mm256_mul_ps(self.0, b.0))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn add(self, b: Self) -> Self {
            Avx2(_mm256_add_ps(self.0, b.0))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn sub(self, b: Self) -> Self {
            Avx2(_mm256_sub_ps(self.0, b.0))
        }
    }
}

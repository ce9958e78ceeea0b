//! Test helpers: a seeded generator, backend construction with SKIP, and the float comparison
//! every op uses (NaN/Inf check, then a normalised-MSE bound, first mismatches on failure).

use kernels::{Backend, KernelError};

/// SplitMix64: small, seeded, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }

    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A seed from a test's name and shape, so each case has its own data.
pub fn seed(parts: &[usize]) -> u64 {
    parts.iter().fold(0x00C0_FFEE_u64, |h, &p| h.wrapping_mul(0x100_0000_01B3) ^ p as u64)
}

/// Builds a backend, or reports SKIP and returns `None` when its constructor fails with
/// `IsaUnavailable`, unless `QTOOL_REQUIRE` names the backend's label (comma-separated). A GPU
/// backend without a device (`KernelError::Device`) fails the test, with a message saying so,
/// unless `QTOOL_SKIP_WGSL=1`: CI must run the WGSL tests (on lavapipe), not skip them. The
/// CUDA backends (labels `cuda*`) SKIP without a driver or device (no CI machine has one)
/// unless `QTOOL_REQUIRE` contains `cuda`.
pub fn make(label: &str, ctor: impl FnOnce() -> Result<Box<dyn Backend>, KernelError>) -> Option<Box<dyn Backend>> {
    match ctor() {
        Ok(b) => Some(b),
        Err(e @ KernelError::IsaUnavailable { .. }) => {
            if required(label) {
                panic!("{label}: required by QTOOL_REQUIRE but unavailable: {e}");
            }
            eprintln!("SKIP {label}: {e}");
            None
        }
        Err(e @ KernelError::Device { backend: "cuda", .. }) => {
            if required(label) || required("cuda") {
                panic!("{label}: required by QTOOL_REQUIRE but unavailable: {e}");
            }
            eprintln!("SKIP {label}: {e}");
            None
        }
        Err(e @ KernelError::Device { .. }) => {
            if std::env::var("QTOOL_SKIP_WGSL").is_ok_and(|v| v == "1") {
                eprintln!("SKIP {label}: {e} (QTOOL_SKIP_WGSL=1)");
                return None;
            }
            panic!("{label}: no device for this backend: {e}\n(on a machine without Vulkan set QTOOL_SKIP_WGSL=1)");
        }
        Err(e) => panic!("{label}: {e}"),
    }
}

/// Whether `QTOOL_REQUIRE` (comma-separated labels) names `label`.
pub fn required(label: &str) -> bool {
    std::env::var("QTOOL_REQUIRE").unwrap_or_default().split(',').any(|r| r.trim() == label)
}

/// Whether `QTOOL_SKIP_WGSL=1` allows the WGSL backend to be absent.
pub fn skip_wgsl() -> bool {
    std::env::var("QTOOL_SKIP_WGSL").is_ok_and(|v| v == "1")
}

/// Normalised MSE `Σ(got − want)² / Σ want²` (plain MSE when `want` is all zeros).
pub fn nmse(got: &[f32], want: &[f32]) -> f64 {
    let (mut err, mut energy) = (0f64, 0f64);
    for (&g, &w) in got.iter().zip(want) {
        err += (f64::from(g) - f64::from(w)).powi(2);
        energy += f64::from(w).powi(2);
    }
    if energy == 0.0 {
        err / got.len().max(1) as f64
    } else {
        err / energy
    }
}

/// Fails (with the first mismatches) if `got` has a NaN/Inf where `want` is finite, differs
/// in length, or has a normalised MSE above `bound`. Returns the NMSE.
pub fn check(case: &str, got: &[f32], want: &[f32], bound: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{case}: output length");
    let bad: Vec<usize> = (0..got.len()).filter(|&i| !got[i].is_finite() && want[i].is_finite()).collect();
    if !bad.is_empty() {
        let list: Vec<String> = bad.iter().take(8).map(|&i| format!("[{i}] got {} want {}", got[i], want[i])).collect();
        panic!("{case}: {} non-finite outputs; first: {}", bad.len(), list.join(", "));
    }
    let e = nmse(got, want);
    if e.is_nan() || e > bound {
        let rms = (want.iter().map(|&w| f64::from(w).powi(2)).sum::<f64>() / want.len().max(1) as f64).sqrt();
        let tol = 1e-4 * rms.max(1e-30);
        let list: Vec<String> = (0..got.len())
            .filter(|&i| (f64::from(got[i]) - f64::from(want[i])).abs() > tol)
            .take(8)
            .map(|i| format!("[{i}] got {} want {}", got[i], want[i]))
            .collect();
        panic!("{case}: nmse {e:.3e} > bound {bound:.1e}; first mismatches (|diff| > {tol:.2e}): {}", list.join(", "));
    }
    e
}

//! Orthonormal Walsh–Hadamard matrices of the orders qtool rotates by (QuaRot): [`Hadamard`]
//! of order `n = m · 2^p`, where `m` is 1 or a Paley base order (see [`Hadamard::base_orders`]).
//!
//! Convention: `H = (H_m ⊗ H_{2^p}) / sqrt(n)`, `H_m` the ±1 base matrix and `H_{2^p}` the
//! Sylvester matrix, so with `P = 2^p`, `i = a · P + b` and `j = c · P + d`,
//! `H[i, j] = H_m[a, c] · (−1)^popcount(b & d) / sqrt(n)`. Applying it to a vector `x` seen as
//! a row-major `[m, P]` matrix `X` gives `H_m · X · H_P / sqrt(n)`: a fast Walsh–Hadamard
//! transform of each contiguous run of `P` values, then a dense `m × m` mix of the runs. `H` is
//! orthonormal (`H · Hᵀ = I`) but symmetric only when `H_m` is (Paley II bases are, Paley I
//! bases are not).
//!
//! - `order`: which base orders exist and how `n` is split.
//! - `construct`: Sylvester, Paley I, Paley II and Kronecker products as ±1 `i8` matrices.

pub mod construct;
pub mod order;

pub use order::Construction;

use crate::error::{KernelError, Result};

/// An orthonormal Hadamard matrix of order `n = m · 2^p` (see the module docs for the
/// Kronecker convention). Cheap to keep: it stores the `m × m` base, not the `n × n` matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hadamard {
    n: usize,
    m: usize,
    p: u32,
    construction: Construction,
    /// `H_m`, row-major `[m, m]`, entries ±1.
    base: Vec<i8>,
}

impl Hadamard {
    /// Order `n = m · 2^p` with `m` 1 or a base order qtool can build (the smallest such `m`
    /// is used). Any other `n` is [`KernelError::Unsupported`] naming `n` and the covered forms.
    pub fn new(n: usize) -> Result<Hadamard> {
        let Some((m, p, construction)) = order::split(n) else {
            return Err(KernelError::Unsupported {
                op: "hadamard",
                what: format!(
                    "order n = {n}: the orders covered are n = m · 2^p with m = 1 (Sylvester) or m a Paley \
                     base order (Paley I: q + 1 for a prime q ≡ 3 mod 4; Paley II: 2(q + 1) for a prime \
                     q ≡ 1 mod 4; not a power of two, at most {}): m ∈ {{{}}}",
                    order::MAX_BASE_ORDER,
                    Self::base_orders().iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")
                ),
            });
        };
        Ok(Hadamard { n, m, p, construction, base: construct::build(construction) })
    }

    /// The order `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The base order `m` (1 when `n` is a power of two).
    pub fn base_order(&self) -> usize {
        self.m
    }

    /// The power-of-two factor `P = 2^p = n / m`.
    pub fn pow2(&self) -> usize {
        1 << self.p
    }

    /// How the base matrix was built.
    pub fn construction(&self) -> Construction {
        self.construction
    }

    /// The ±1 base matrix `H_m`, row-major `[m, m]` (`H_m · H_mᵀ = m · I`).
    pub fn base_matrix(&self) -> &[i8] {
        &self.base
    }

    /// The scale `1 / sqrt(n)` every entry carries, rounded once to `f32`.
    pub fn scale(&self) -> f32 {
        (1.0 / (self.n as f64).sqrt()) as f32
    }

    /// The sign of entry `(i, j)` of `H` (`i, j < n`): `H_m[a, c] · (−1)^popcount(b & d)`.
    #[inline]
    pub fn sign(&self, i: usize, j: usize) -> i8 {
        let (pp, m) = (self.p, self.m);
        let mask = (1usize << pp) - 1;
        self.base[(i >> pp) * m + (j >> pp)] * construct::sylvester_sign(i & mask, j & mask)
    }

    /// The orthonormal matrix `H` (entries `±1/sqrt(n)`, i.e. `sign(i, j) · scale()`),
    /// row-major `[n, n]`; `H · Hᵀ = I`. Applying the op to a row `x` gives `H · x`.
    pub fn matrix(&self) -> Vec<f32> {
        let (n, s) = (self.n, self.scale());
        let mut h = vec![0f32; n * n];
        for (i, row) in h.chunks_exact_mut(n.max(1)).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = f32::from(self.sign(i, j)) * s;
            }
        }
        h
    }

    /// The supported base orders `m > 1` (Paley I and II orders up to 256 that are not powers
    /// of two), ascending; `m = 1` (plain Sylvester) is always supported too.
    pub fn base_orders() -> Vec<usize> {
        order::base_orders()
    }
}

#[cfg(test)]
mod tests;

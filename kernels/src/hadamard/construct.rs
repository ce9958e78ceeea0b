//! The ±1 Hadamard matrices qtool builds, row-major `i8` (`H · Hᵀ = order · I`):
//!
//! - Sylvester, order `2^p`: `H[i, j] = (−1)^popcount(i & j)` (the recursion `[[H, H], [H, −H]]`).
//! - Paley I, prime `q ≡ 3 (mod 4)`, order `q + 1`: with the Jacobsthal matrix `Q[i, j] = χ(j − i)`
//!   (`χ` the quadratic character of `GF(q)`, `χ(0) = 0`; skew-symmetric here),
//!   `S = [[0, 1ᵀ], [−1, Q]]` is a skew conference matrix (`S Sᵀ = q I`) and `H = I + S`.
//! - Paley II, prime `q ≡ 1 (mod 4)`, order `2 (q + 1)`: `C = [[0, 1ᵀ], [1, Q]]` is a symmetric
//!   conference matrix; `H` replaces each `0` of `C` by `[[1, −1], [−1, −1]]` and each `±1` by
//!   `±[[1, 1], [1, −1]]`.
//! - Kronecker product `A ⊗ B`: `(A ⊗ B)[a · mb + b, c · mb + d] = A[a, c] · B[b, d]`.

use super::order::Construction;

/// Entry `(i, j)` of the Sylvester matrix of any power-of-two order.
#[inline]
pub fn sylvester_sign(i: usize, j: usize) -> i8 {
    if (i & j).count_ones().is_multiple_of(2) {
        1
    } else {
        -1
    }
}

/// The Sylvester matrix of order `order` (a power of two), `[order, order]`.
pub fn sylvester(order: usize) -> Vec<i8> {
    assert!(order.is_power_of_two(), "Sylvester order {order} is not a power of two");
    (0..order * order).map(|k| sylvester_sign(k / order, k % order)).collect()
}

/// The quadratic character of `GF(q)` (`q` prime) as a table: `chi[a]` for `a` in `0..q`.
fn quadratic_character(q: usize) -> Vec<i8> {
    let mut chi = vec![-1i8; q];
    chi[0] = 0;
    for a in 1..q {
        chi[a * a % q] = 1;
    }
    chi
}

/// The Jacobsthal matrix of the prime `q`: `Q[i, j] = χ(j − i)`, `[q, q]`.
fn jacobsthal(q: usize) -> Vec<i8> {
    let chi = quadratic_character(q);
    (0..q * q).map(|k| chi[(k % q + q - k / q) % q]).collect()
}

/// The conference matrix `[[0, 1ᵀ], [s, Q]]` of order `q + 1` (`s = −1` for Paley I, `+1`
/// for Paley II).
fn conference(q: usize, first_col: i8) -> Vec<i8> {
    let (jq, o) = (jacobsthal(q), q + 1);
    let mut c = vec![0i8; o * o];
    for j in 1..o {
        c[j] = 1;
        c[j * o] = first_col;
        for k in 1..o {
            c[j * o + k] = jq[(j - 1) * q + (k - 1)];
        }
    }
    c
}

/// Paley I: order `q + 1` for a prime `q ≡ 3 (mod 4)`, `H = I + S`.
pub fn paley_i(q: usize) -> Vec<i8> {
    assert!(q % 4 == 3, "Paley I needs q ≡ 3 (mod 4), got {q}");
    let o = q + 1;
    let mut h = conference(q, -1);
    for i in 0..o {
        h[i * o + i] += 1;
    }
    h
}

/// Paley II: order `2 (q + 1)` for a prime `q ≡ 1 (mod 4)`.
pub fn paley_ii(q: usize) -> Vec<i8> {
    assert!(q % 4 == 1, "Paley II needs q ≡ 1 (mod 4), got {q}");
    let (c, o) = (conference(q, 1), q + 1);
    const ZERO: [[i8; 2]; 2] = [[1, -1], [-1, -1]];
    const ONE: [[i8; 2]; 2] = [[1, 1], [1, -1]];
    let n = 2 * o;
    let mut h = vec![0i8; n * n];
    for i in 0..o {
        for j in 0..o {
            let v = c[i * o + j];
            for (di, (z, e)) in ZERO.iter().zip(&ONE).enumerate() {
                for dj in 0..2 {
                    h[(2 * i + di) * n + 2 * j + dj] = if v == 0 { z[dj] } else { v * e[dj] };
                }
            }
        }
    }
    h
}

/// The Kronecker product `A ⊗ B` of `A[ma, ma]` and `B[mb, mb]`, `[ma · mb, ma · mb]`.
pub fn kronecker(a: &[i8], ma: usize, b: &[i8], mb: usize) -> Vec<i8> {
    let n = ma * mb;
    (0..n * n)
        .map(|k| {
            let (i, j) = (k / n, k % n);
            a[(i / mb) * ma + j / mb] * b[(i % mb) * mb + j % mb]
        })
        .collect()
}

/// The base matrix of a construction, `[m, m]`.
pub fn build(c: Construction) -> Vec<i8> {
    match c {
        Construction::One => vec![1],
        Construction::PaleyI(q) => paley_i(q),
        Construction::PaleyII(q) => paley_ii(q),
    }
}

//! Unit tests of the constructions and of [`Hadamard`]'s matrix.

use super::construct::{kronecker, paley_i, paley_ii, sylvester};
use super::*;

/// The orders the model needs (hidden and intermediate sizes of the Qwen2.5 / Llama families).
pub(crate) const MUST_WORK: [usize; 10] = [64, 128, 576, 896, 960, 1536, 2048, 4096, 4864, 8960];

/// `Σ_k a[i, k] · a[j, k]` for a ±1 matrix `a[o, o]`, exactly.
fn gram_i32(a: &[i8], o: usize) -> Vec<i32> {
    let mut g = vec![0i32; o * o];
    for i in 0..o {
        for j in 0..o {
            g[i * o + j] = (0..o).map(|k| i32::from(a[i * o + k]) * i32::from(a[j * o + k])).sum();
        }
    }
    g
}

fn assert_scaled_identity(g: &[i32], o: usize, what: &str) {
    for i in 0..o {
        for j in 0..o {
            let want = if i == j { o as i32 } else { 0 };
            assert_eq!(g[i * o + j], want, "{what}: (H Hᵀ)[{i}, {j}]");
        }
    }
}

#[test]
fn every_base_matrix_is_hadamard() {
    let orders = Hadamard::base_orders();
    assert_eq!(
        orders,
        [
            12, 20, 24, 28, 36, 44, 48, 60, 68, 72, 76, 80, 84, 104, 108, 124, 132, 140, 148, 152, 164, 168, 180, 192,
            196, 200, 204, 212, 220, 224, 228, 240, 252
        ]
    );
    for &m in &orders {
        let c = order::construction(m).unwrap();
        let h = construct::build(c);
        assert_eq!(h.len(), m * m, "{c}");
        assert!(h.iter().all(|&v| v == 1 || v == -1), "{c}: entries not ±1");
        assert_scaled_identity(&gram_i32(&h, m), m, &format!("m = {m}, {c}"));
    }
    // Both Paley constructions where they overlap, and Sylvester.
    for q in [3, 7, 11, 59] {
        assert_scaled_identity(&gram_i32(&paley_i(q), q + 1), q + 1, &format!("Paley I q = {q}"));
    }
    for q in [5, 13, 29, 41] {
        let o = 2 * (q + 1);
        assert_scaled_identity(&gram_i32(&paley_ii(q), o), o, &format!("Paley II q = {q}"));
    }
    for o in [1, 2, 4, 64] {
        assert_scaled_identity(&gram_i32(&sylvester(o), o), o, &format!("Sylvester {o}"));
    }
}

#[test]
fn matrix_is_the_documented_kronecker_product() {
    for n in [1, 2, 12, 48, 56, 64, 576] {
        let h = Hadamard::new(n).unwrap();
        let (m, pp) = (h.base_order(), h.pow2());
        assert_eq!(m * pp, n);
        let k = kronecker(h.base_matrix(), m, &sylvester(pp), pp);
        let s = h.scale();
        let mat = h.matrix();
        for (idx, (&v, &sign)) in mat.iter().zip(&k).enumerate() {
            assert_eq!(v, f32::from(sign) * s, "n = {n}: entry ({}, {})", idx / n, idx % n);
        }
    }
}

/// Checks `matrix() · matrix()ᵀ = I` to 1e-6 (max abs) on rows `rows` against every row.
/// Every entry is first checked to be exactly `±scale()`, so each dot product is exactly
/// `scale² · (Σ sign · sign)`; the sign sums are computed exactly on bit-packed rows.
fn check_orthonormal(h: &Hadamard, rows: &[usize]) {
    let n = h.n();
    let s = h.scale();
    let mat = h.matrix();
    let words = n.div_ceil(64);
    let mut bits = vec![0u64; n * words];
    for (i, row) in mat.chunks_exact(n).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            assert!(v == s || v == -s, "n = {n}: H[{i}, {j}] = {v}, expected ±{s}");
            if v < 0.0 {
                bits[i * words + j / 64] |= 1 << (j % 64);
            }
        }
    }
    let s2 = f64::from(s) * f64::from(s);
    let mut worst = 0f64;
    for &i in rows {
        let bi = &bits[i * words..(i + 1) * words];
        for j in 0..n {
            let bj = &bits[j * words..(j + 1) * words];
            let differ: u32 = bi.iter().zip(bj).map(|(a, b)| (a ^ b).count_ones()).sum();
            let dot = s2 * (n as f64 - 2.0 * f64::from(differ));
            let err = (dot - if i == j { 1.0 } else { 0.0 }).abs();
            assert!(err <= 1e-6, "n = {n}: (H Hᵀ)[{i}, {j}] = {dot}");
            worst = worst.max(err);
        }
    }
    assert!(worst <= 1e-6);
}

#[test]
fn must_work_orders_are_orthonormal() {
    for n in MUST_WORK {
        let h = Hadamard::new(n).unwrap_or_else(|e| panic!("n = {n}: {e}"));
        assert_eq!(h.n(), n);
        // All rows up to 2048; above, 64 spread rows (and the last) against every row.
        let rows: Vec<usize> =
            if n <= 2048 { (0..n).collect() } else { (0..64).map(|k| k * n / 64 + k % 7).chain([n - 1]).collect() };
        check_orthonormal(&h, &rows);
    }
    let want = [(64, 1), (128, 1), (576, 36), (896, 28), (960, 60), (1536, 12), (2048, 1), (4864, 76), (8960, 140)];
    for (n, m) in want {
        assert_eq!(Hadamard::new(n).unwrap().base_order(), m, "n = {n}");
    }
}

#[test]
fn unsupported_orders_are_errors_naming_n() {
    for n in [0usize, 7, 11008, 172, 13 * 4, 3 * 64 * 43] {
        let e = Hadamard::new(n).expect_err(&format!("n = {n} should be unsupported"));
        let msg = e.to_string();
        assert!(matches!(e, KernelError::Unsupported { op: "hadamard", .. }), "{msg}");
        assert!(msg.contains(&n.to_string()) && msg.contains("Paley") && msg.contains("2^p"), "{msg}");
    }
    // Small odd factors times enough powers of two are fine.
    for n in [1, 2, 448, 12, 112, 3 * 1024, 5 * 1024] {
        assert!(Hadamard::new(n).is_ok(), "n = {n}");
    }
}

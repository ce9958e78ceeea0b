//! `hadamard_ref`: `x ← H · x` for each row, `H` the orthonormal [`Hadamard`] matrix, as a
//! plain dense matrix-vector product.

use crate::hadamard::Hadamard;

/// Reference Hadamard rotation of each of the `rows` rows of `x[rows, n]`, in place:
/// `y[i] = Σ_j H[i, j] · x[j]` over the full `n × n` matrix (entries `h.sign(i, j) · h.scale()`,
/// exactly [`Hadamard::matrix`]'s, generated on the fly rather than stored), summed in `f64`
/// and rounded once. O(rows · n²): slow on purpose.
pub fn hadamard_ref(x: &mut [f32], rows: usize, h: &Hadamard) {
    let n = h.n();
    let s = f64::from(h.scale());
    let mut col = vec![0f64; n];
    for r in 0..rows {
        let row = &mut x[r * n..(r + 1) * n];
        for (c, &v) in col.iter_mut().zip(row.iter()) {
            *c = f64::from(v);
        }
        for (i, out) in row.iter_mut().enumerate() {
            let acc: f64 = col.iter().enumerate().map(|(j, &v)| f64::from(h.sign(i, j)) * v).sum();
            *out = (acc * s) as f32;
        }
    }
}

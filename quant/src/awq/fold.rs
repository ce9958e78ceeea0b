//! Folding AWQ / SmoothQuant scales into the model: the Linears reading `X` get their columns
//! multiplied by `s`, whatever produces `X` gets divided by `s`. All in place; `s` must hold
//! positive finite values.

use crate::stats::channel::check_scales;
use crate::QuantError;

/// `W[n, k] ← W ⊙ s`: column `j` multiplied by `s[j]` (a Linear reading the scaled input).
pub fn scale_columns(w: &mut [f32], n: usize, k: usize, s: &[f32]) -> Result<(), QuantError> {
    check_scales(s, k)?;
    if w.len() != n * k {
        return Err(QuantError::BadInput { what: format!("{} weights for shape [{n}, {k}]", w.len()) });
    }
    for row in w.chunks_exact_mut(k.max(1)) {
        row.iter_mut().zip(s).for_each(|(v, &sj)| *v *= sj);
    }
    Ok(())
}

/// `v ← v ⊘ s` element `i` divided by `s[i mod k]`, `k = s.len()`: a norm weight or bias `[k]`,
/// or rows of activations `X[m, k]`. `v.len()` must be a multiple of `k`.
pub fn divide(v: &mut [f32], s: &[f32]) -> Result<(), QuantError> {
    check_scales(s, s.len())?;
    if s.is_empty() || !v.len().is_multiple_of(s.len()) {
        return Err(QuantError::BadInput {
            what: format!("{} values are not whole rows of the {} scales", v.len(), s.len()),
        });
    }
    for row in v.chunks_exact_mut(s.len()) {
        row.iter_mut().zip(s).for_each(|(x, &sj)| *x /= sj);
    }
    Ok(())
}

/// `W[k, cols]` row `j` divided by `s[j]`: the preceding Linear whose output (`k` features) is
/// the scaled input. Its bias, if any, goes through [`divide`].
pub fn divide_rows(w: &mut [f32], k: usize, cols: usize, s: &[f32]) -> Result<(), QuantError> {
    check_scales(s, k)?;
    if w.len() != k * cols {
        return Err(QuantError::BadInput { what: format!("{} weights for shape [{k}, {cols}]", w.len()) });
    }
    for (row, &sj) in w.chunks_exact_mut(cols.max(1)).zip(s) {
        row.iter_mut().for_each(|v| *v /= sj);
    }
    Ok(())
}

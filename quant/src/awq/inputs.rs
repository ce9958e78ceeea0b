//! Validation shared by the AWQ searches: the Linears' shapes and values, the statistics' width
//! and row count.

use crate::stats::ChannelStats;
use crate::QuantError;

/// Checks one Linear `W[n, k]`: non-empty, `n · k` values, all finite. `which` names it.
pub fn check_linear(w: &[f32], n: usize, k: usize, which: &str) -> Result<(), QuantError> {
    if n == 0 || k == 0 || w.len() != n * k {
        return Err(QuantError::BadInput { what: format!("{which}: {} weights for shape [{n}, {k}]", w.len()) });
    }
    if let Some(i) = w.iter().position(|x| !x.is_finite()) {
        return Err(QuantError::BadInput { what: format!("{which}: weight [{}, {}] is {}", i / k, i % k, w[i]) });
    }
    Ok(())
}

/// Checks the statistics (width `k`, at least one row and one sampled row) and every Linear.
pub fn check_inputs(stats: &ChannelStats, linears: &[(&[f32], usize)], k: usize) -> Result<(), QuantError> {
    if linears.is_empty() {
        return Err(QuantError::BadInput { what: "no Linears given to scale".into() });
    }
    stats.check_usable(k)?;
    for (i, (w, n)) in linears.iter().enumerate() {
        check_linear(w, *n, k, &format!("Linear {i}"))?;
    }
    Ok(())
}

//! `w_mean[k]`: how large each input column of the Linears is relative to its group. Every
//! element's `|w|` is divided by its group's `max |w| + 1e-6` (groups along k as in `format`),
//! then averaged over all rows of all Linears (AutoAWQ concatenates the Linears along the
//! output dimension and does the same).

use crate::format::WeightFormat;

/// The mean over all rows of all `linears` (`W[n, k]` each, already validated) of
/// group-normalized `|W|`.
pub(crate) fn weight_mean(linears: &[(&[f32], usize)], k: usize, format: &WeightFormat) -> Vec<f32> {
    let g = format.group_size(k);
    let mut sum = vec![0f64; k];
    let mut rows = 0usize;
    for (w, n) in linears {
        for row in w.chunks_exact(k).take(*n) {
            for (cols, acc) in row.chunks(g).zip(sum.chunks_mut(g)) {
                let amax = cols.iter().fold(0f32, |m, v| m.max(v.abs())) as f64 + 1e-6;
                acc.iter_mut().zip(cols).for_each(|(a, v)| *a += v.abs() as f64 / amax);
            }
            rows += 1;
        }
    }
    sum.iter().map(|s| (s / rows.max(1) as f64) as f32).collect()
}

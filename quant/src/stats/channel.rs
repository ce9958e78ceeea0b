//! [`ChannelStats`]: per-input-channel `mean |x|` and `max |x|` over every row added (summed in
//! f64, so exact up to the final rounding to f32), plus a row sample of bounded size.
//!
//! Sampling: the sample holds the rows whose global index (counting from 0 over all `add` calls)
//! is a multiple of a stride `r`. `r` starts at 1; whenever the sample would exceed `max_rows`,
//! every second kept row is dropped and `r` doubles. The sample is therefore an evenly spaced
//! subset of everything seen (not biased to the first batches), between `max_rows / 2` and
//! `max_rows` rows once more than `max_rows` rows were added, and depends only on the rows and
//! their order, never on how they were split into batches.

use crate::QuantError;

/// Running statistics of the inputs `x[k]` of one Linear (or of several sharing one input).
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelStats {
    k: usize,
    max_rows: usize,
    rows: usize,
    abs_sum: Vec<f64>,
    abs_max: Vec<f32>,
    stride: usize,
    /// `[sample_len, k]`: global rows `0, stride, 2·stride, ...`.
    sample: Vec<f32>,
}

impl ChannelStats {
    /// Empty statistics for inputs of `k` features keeping at most `max_rows` sampled rows
    /// (`max_rows` 0 is taken as 1).
    pub fn new(k: usize, max_rows: usize) -> ChannelStats {
        ChannelStats {
            k,
            max_rows: max_rows.max(1),
            rows: 0,
            abs_sum: vec![0.0; k],
            abs_max: vec![0.0; k],
            stride: 1,
            sample: Vec::new(),
        }
    }

    /// Adds the rows of `x` (`[rows, k]` row-major). An empty batch changes nothing; a batch that
    /// is not whole rows or holds a non-finite value is refused and changes nothing.
    pub fn add(&mut self, x: &[f32]) -> Result<(), QuantError> {
        let k = self.k;
        if k == 0 || !x.len().is_multiple_of(k) {
            return Err(QuantError::BadInput {
                what: format!("{} activation values are not whole rows of k = {k}", x.len()),
            });
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(QuantError::BadInput {
                what: format!("activation row {} (of this batch), channel {} is {}", i / k, i % k, x[i]),
            });
        }
        for row in x.chunks_exact(k) {
            for ((s, m), &v) in self.abs_sum.iter_mut().zip(&mut self.abs_max).zip(row) {
                *s += v.abs() as f64;
                *m = m.max(v.abs());
            }
            if self.rows.is_multiple_of(self.stride) {
                self.sample.extend_from_slice(row);
                if self.sample.len() / k > self.max_rows {
                    self.thin();
                }
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// Drops every second sampled row (keeps sample positions 0, 2, 4, ...) and doubles the stride.
    fn thin(&mut self) {
        let k = self.k;
        let kept = self.sample.len() / k;
        for (dst, src) in (0..kept).step_by(2).enumerate() {
            self.sample.copy_within(src * k..(src + 1) * k, dst * k);
        }
        self.sample.truncate(kept.div_ceil(2) * k);
        self.stride *= 2;
    }

    /// Statistics of `x ⊘ s` (every row's channel `j` divided by `s[j]`), as if those rows had
    /// been added: what the next Linear sees after AWQ/SmoothQuant scales are folded in. `s`
    /// must be `k` positive finite values.
    pub fn divided_by(&self, s: &[f32]) -> Result<ChannelStats, QuantError> {
        check_scales(s, self.k)?;
        let mut out = self.clone();
        for ((sum, max), &sj) in out.abs_sum.iter_mut().zip(&mut out.abs_max).zip(s) {
            *sum /= sj as f64;
            *max /= sj;
        }
        for row in out.sample.chunks_exact_mut(self.k.max(1)) {
            row.iter_mut().zip(s).for_each(|(v, &sj)| *v /= sj);
        }
        Ok(out)
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Per-channel `mean |x|` over all rows (zeros before any row was added).
    pub fn mean_abs(&self) -> Vec<f32> {
        let n = self.rows.max(1) as f64;
        self.abs_sum.iter().map(|s| (s / n) as f32).collect()
    }

    /// Per-channel `max |x|` over all rows.
    pub fn abs_max(&self) -> &[f32] {
        &self.abs_max
    }

    /// The sampled rows, `[rows, k]` row-major, and their count.
    pub fn sample_rows(&self) -> (&[f32], usize) {
        (&self.sample, self.sample.len() / self.k.max(1))
    }

    /// Refuses statistics without rows or for another width than `k`.
    pub fn check_usable(&self, k: usize) -> Result<(), QuantError> {
        if self.k != k {
            return Err(QuantError::BadInput { what: format!("channel statistics are for k = {}, not {k}", self.k) });
        }
        if self.rows == 0 {
            return Err(QuantError::BadInput { what: "channel statistics hold no rows (no calibration data)".into() });
        }
        Ok(())
    }
}

/// Checks that `s` holds `k` positive finite scales.
pub(crate) fn check_scales(s: &[f32], k: usize) -> Result<(), QuantError> {
    if s.len() != k {
        return Err(QuantError::BadInput { what: format!("{} scales for k = {k} channels", s.len()) });
    }
    if let Some(j) = s.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(QuantError::BadInput {
            what: format!("scale of channel {j} is {}, not positive and finite", s[j]),
        });
    }
    Ok(())
}

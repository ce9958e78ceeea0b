//! The numbers a KLD run reports, from the per-position scores: KL divergence (mean ± standard
//! error, median, p90/p95/p99, min, max), top-1 agreement (± standard error), perplexity of
//! base and model (± error), and the mean of ln(PPL(model)/PPL(base)) with an error that uses
//! the covariance of the two negative log-likelihoods, as llama.cpp reports them.

use crate::kld::dist::PositionScore;
use crate::kld::stats::{self, MeanSe};
use serde::Serialize;

/// Distribution of the per-position KL divergence (nats).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KldStats {
    /// Mean with standard error.
    pub mean: MeanSe,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Smallest (can be a tiny negative number from rounding).
    pub min: f64,
}

/// Everything a KLD run measures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KldSummary {
    /// Scored positions (tokens).
    pub tokens: usize,
    /// KL(P_base || Q_model) per position.
    pub kld: KldStats,
    /// Fraction of positions where both models' most likely token is the same.
    pub same_top: MeanSe,
    /// Perplexity of the base on the scored tokens (± its error).
    pub ppl_base: MeanSe,
    /// Perplexity of the model.
    pub ppl_model: MeanSe,
    /// Mean of ln(PPL(model) / PPL(base)), i.e. of nll_model - nll_base.
    pub ln_ppl_ratio: MeanSe,
}

/// exp(mean) with the error propagated (d exp(x) = exp(x) dx).
fn perplexity(nll: &[f64]) -> MeanSe {
    let m = stats::mean_se(nll);
    let ppl = m.mean.exp();
    MeanSe { mean: ppl, se: ppl * m.se }
}

/// Summarizes per-position scores.
pub fn summarize(scores: &[PositionScore]) -> KldSummary {
    let mut kld: Vec<f64> = scores.iter().map(|s| s.kld).collect();
    let mean = stats::mean_se(&kld);
    kld.sort_by(f64::total_cmp);
    let nll_model: Vec<f64> = scores.iter().map(|s| s.nll_model).collect();
    let nll_base: Vec<f64> = scores.iter().map(|s| s.nll_base).collect();
    KldSummary {
        tokens: scores.len(),
        kld: KldStats {
            mean,
            median: stats::median(&kld),
            p90: stats::percentile(&kld, 0.90),
            p95: stats::percentile(&kld, 0.95),
            p99: stats::percentile(&kld, 0.99),
            max: kld.last().copied().unwrap_or(f64::NAN),
            min: kld.first().copied().unwrap_or(f64::NAN),
        },
        same_top: stats::proportion(scores.iter().filter(|s| s.same_top).count(), scores.len()),
        ppl_base: perplexity(&nll_base),
        ppl_model: perplexity(&nll_model),
        ln_ppl_ratio: stats::paired_difference(&nll_model, &nll_base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_hand_made_scores() {
        // KLD 0.0, 0.1, ..., 1.0 (11 values, given shuffled); 8 of 11 agree on the top token.
        let order = [3, 9, 0, 10, 5, 1, 7, 2, 8, 4, 6];
        let scores: Vec<PositionScore> = order
            .iter()
            .map(|&i| PositionScore {
                kld: i as f64 / 10.0,
                nll_model: 1.0 + i as f64 / 100.0,
                nll_base: 1.0,
                same_top: i < 8,
            })
            .collect();
        let s = summarize(&scores);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert_eq!(s.tokens, 11);
        assert!(close(s.kld.mean.mean, 0.5));
        // sample sd of 0, 0.1, ..., 1.0 is sqrt(0.11); se = sd / sqrt(11).
        assert!(close(s.kld.mean.se, (0.11f64 / 11.0).sqrt()), "{}", s.kld.mean.se);
        assert!(close(s.kld.median, 0.5));
        assert!(close(s.kld.p90, 0.9) && close(s.kld.p95, 0.95) && close(s.kld.p99, 0.99));
        assert!(close(s.kld.max, 1.0) && close(s.kld.min, 0.0));
        assert!(close(s.same_top.mean, 8.0 / 11.0));
        assert!(close(s.same_top.se, (8.0 / 11.0 * 3.0 / 11.0 / 10.0f64).sqrt()));
        // The base is constant: PPL e with no error; ln ratio = mean(i)/100 = 0.05.
        assert!(close(s.ppl_base.mean, 1f64.exp()) && s.ppl_base.se == 0.0);
        assert!(close(s.ln_ppl_ratio.mean, 0.05));
        assert!(close(s.ppl_model.mean, 1.05f64.exp()));
        assert!(close(s.ln_ppl_ratio.se, (0.0011f64 / 11.0).sqrt()), "{}", s.ln_ppl_ratio.se);
    }
}

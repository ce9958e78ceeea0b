//! Per-position distribution maths: the base's compact record (top-K ids with their
//! log-probabilities, the log of the remaining tail mass and the log-probability of the true
//! next token) and the score of a model's logits against such a record (bucketed KL divergence,
//! negative log-likelihoods, same top token). Base and model go through the same functions, so
//! identical logits give bit-identical log-probabilities and a KL of exactly 0.

/// `ln Σ exp(row)`, in f64 over f32 exponentials of `row - max`.
pub fn log_sum_exp(row: &[f32]) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f64 = row.iter().map(|&x| f64::from((x - max).exp())).sum();
    f64::from(max) + s.ln()
}

/// The `k` ids of highest logit, best first; ties go to the lower id. `k >= row.len()` gives
/// every id.
pub fn top_k_ids(row: &[f32], k: usize) -> Vec<u32> {
    let by_logit = |a: &u32, b: &u32| row[*b as usize].total_cmp(&row[*a as usize]).then(a.cmp(b));
    let mut ids: Vec<u32> = (0..row.len() as u32).collect();
    if k == 0 {
        return Vec::new();
    }
    if k < ids.len() {
        ids.select_nth_unstable_by(k - 1, by_logit);
        ids.truncate(k);
    }
    ids.sort_unstable_by(by_logit);
    ids
}

/// The id of the highest logit (the lowest such id on ties, as `top_k_ids`).
pub fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate() {
        if x.total_cmp(&row[best]).is_gt() {
            best = i;
        }
    }
    best as u32
}

/// `ln p(id)` of one token given its logit and `ln Σ exp(row)`.
fn log_prob(logit: f32, lse: f64) -> f32 {
    (f64::from(logit) - lse) as f32
}

/// Log-probabilities of `ids` and the log of the probability mass of every other id
/// (`-inf` when `ids` covers the vocabulary). The tail is summed directly, not as `1 - Σ`, so a
/// tiny tail keeps its precision.
pub fn bucket_log_probs(row: &[f32], ids: &[u32], lse: f64) -> (Vec<f32>, f32) {
    let mut in_top = vec![false; row.len()];
    for &id in ids {
        in_top[id as usize] = true;
    }
    let logp = ids.iter().map(|&id| log_prob(row[id as usize], lse)).collect();
    let tail: f64 = row
        .iter()
        .zip(&in_top)
        .filter(|(_, &t)| !t)
        .map(|(&x, _)| f64::from(((f64::from(x) - lse) as f32).exp()))
        .sum();
    let log_tail = if tail > 0.0 { tail.ln() as f32 } else { f32::NEG_INFINITY };
    (logp, log_tail)
}

/// What the base cache keeps for one scored position.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseRecord {
    /// The base's top-K token ids, most likely first.
    pub ids: Vec<u32>,
    /// Their log-probabilities under the base.
    pub logp: Vec<f32>,
    /// Log of the base's probability mass outside `ids` (`-inf` when K covers the vocabulary).
    pub log_tail: f32,
    /// The base's log-probability of the true next token.
    pub target_logp: f32,
}

impl BaseRecord {
    /// The record of one row of base logits whose true next token is `target`.
    pub fn from_logits(row: &[f32], target: u32, k: usize) -> Self {
        let lse = log_sum_exp(row);
        let ids = top_k_ids(row, k);
        let (logp, log_tail) = bucket_log_probs(row, &ids, lse);
        BaseRecord { ids, logp, log_tail, target_logp: log_prob(row[target as usize], lse) }
    }
}

/// A borrowed view of a `BaseRecord` (as stored flat in the cache).
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// Top-K ids, most likely first.
    pub ids: &'a [u32],
    /// Their base log-probabilities.
    pub logp: &'a [f32],
    /// Log of the base's tail mass.
    pub log_tail: f32,
    /// Base log-probability of the true next token.
    pub target_logp: f32,
}

impl BaseRecord {
    /// This record as a view.
    pub fn view(&self) -> RecordRef<'_> {
        RecordRef { ids: &self.ids, logp: &self.logp, log_tail: self.log_tail, target_logp: self.target_logp }
    }
}

/// One scored position: the model against the base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionScore {
    /// KL(P_base || Q_model) over the base's top-K tokens plus one tail bucket (nats).
    pub kld: f64,
    /// The model's negative log-likelihood of the true next token.
    pub nll_model: f64,
    /// The base's negative log-likelihood of the true next token.
    pub nll_base: f64,
    /// Whether the model's most likely token is the base's.
    pub same_top: bool,
}

/// KL divergence of two bucketed distributions given as log-probabilities of the same K
/// buckets plus a tail bucket each: `Σ p (ln p - ln q)`, the tail counted when `p_tail > 0`.
pub fn kl_bucketed(p: &[f32], p_tail: f32, q: &[f32], q_tail: f32) -> f64 {
    let term = |lp: f32, lq: f32| {
        let lp = f64::from(lp);
        lp.exp() * (lp - f64::from(lq))
    };
    let mut kl: f64 = p.iter().zip(q).filter(|(lp, _)| lp.is_finite()).map(|(&lp, &lq)| term(lp, lq)).sum();
    if p_tail.is_finite() {
        kl += term(p_tail, q_tail);
    }
    kl
}

/// Scores one row of model logits against the base's record for the same position.
pub fn score(row: &[f32], target: u32, base: RecordRef<'_>) -> PositionScore {
    let lse = log_sum_exp(row);
    let (logq, log_q_tail) = bucket_log_probs(row, base.ids, lse);
    PositionScore {
        kld: kl_bucketed(base.logp, base.log_tail, &logq, log_q_tail),
        nll_model: -f64::from(log_prob(row[target as usize], lse)),
        nll_base: -f64::from(base.target_logp),
        same_top: base.ids.first() == Some(&argmax(row)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Exact KL(P || Q) over the full vocabulary, computed independently (f64 softmax).
    fn exact_kl(p: &[f32], q: &[f32]) -> f64 {
        let soft = |r: &[f32]| {
            let m = r.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let z: f64 = r.iter().map(|&x| (x as f64 - m).exp()).sum();
            r.iter().map(|&x| x as f64 - m - z.ln()).collect::<Vec<f64>>()
        };
        let (lp, lq) = (soft(p), soft(q));
        lp.iter().zip(&lq).map(|(a, b)| a.exp() * (a - b)).sum()
    }

    /// Gaussian logits (sd `spread`) and a perturbed copy (sd `noise`), via Box-Muller.
    fn synthetic(rng: &mut impl Rng, vocab: usize, spread: f32, noise: f32) -> (Vec<f32>, Vec<f32>) {
        let mut normal = || {
            let (u, v): (f32, f32) = (rng.random_range(1e-7..1.0), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
        };
        let p: Vec<f32> = (0..vocab).map(|_| spread * normal()).collect();
        let q = p.iter().map(|x| x + noise * normal()).collect();
        (p, q)
    }

    #[test]
    fn top_k_is_sorted_with_low_id_ties() {
        let row = [0.5, 2.0, -1.0, 2.0, 1.0];
        assert_eq!(top_k_ids(&row, 3), vec![1, 3, 4]);
        assert_eq!(top_k_ids(&row, 9), vec![1, 3, 4, 0, 2]);
        assert_eq!(argmax(&row), 1);
    }

    #[test]
    fn identical_logits_score_exactly_zero() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (p, _) = synthetic(&mut rng, 3000, 3.0, 0.0);
        for k in [1, 64, 3000] {
            let s = score(&p, 17, BaseRecord::from_logits(&p, 17, k).view());
            assert_eq!(s.kld, 0.0);
            assert_eq!(s.nll_model, s.nll_base);
            assert!(s.same_top);
        }
    }

    #[test]
    fn full_vocabulary_k_is_the_exact_kl() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (p, q) = synthetic(&mut rng, 2000, 3.0, 0.5);
        let full = score(&q, 0, BaseRecord::from_logits(&p, 0, p.len()).view()).kld;
        let exact = exact_kl(&p, &q);
        assert!((full - exact).abs() < 1e-6 * exact.max(1e-3), "{full} vs {exact}");
        // Bucket logs are exact too: the tail of an empty complement is -inf.
        assert_eq!(BaseRecord::from_logits(&p, 0, p.len()).log_tail, f32::NEG_INFINITY);
    }

    /// Top-K + tail against the exact KL on peaked synthetic distributions (Gaussian logits,
    /// sd 4, over 8192 tokens) perturbed by isotropic logit noise: a lower bound for every row,
    /// non-decreasing in K (the buckets of a larger K refine those of a smaller one), and for
    /// isotropic noise the relative gap is about the base's tail mass.
    #[test]
    fn top_k_estimate_is_a_lower_bound_that_tightens_with_k() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let (vocab, rows) = (8192, 64);
        let ks = [16, 64, 256, 1024];
        let (mut sums, mut tails, mut exact) = ([0.0f64; 4], [0.0f64; 4], 0.0);
        for _ in 0..rows {
            let (p, q) = synthetic(&mut rng, vocab, 4.0, 0.3);
            let e = score(&q, 0, BaseRecord::from_logits(&p, 0, vocab).view()).kld;
            let mut prev = 0.0;
            for (i, &k) in ks.iter().enumerate() {
                let r = BaseRecord::from_logits(&p, 0, k);
                let kl = score(&q, 0, r.view()).kld;
                assert!(kl <= e + 1e-9, "grouping cannot increase KL: K={k} {kl} > {e}");
                assert!(kl >= prev - 1e-9, "K={k}: {kl} < {prev} at a smaller K");
                prev = kl;
                sums[i] += kl;
                tails[i] += f64::from(r.log_tail).exp();
            }
            exact += e;
        }
        println!("synthetic (vocab {vocab}, {rows} rows): mean exact KL {:.6}", exact / rows as f64);
        for (i, k) in ks.iter().enumerate() {
            let gap = (exact - sums[i]) / exact;
            let tail = tails[i] / rows as f64;
            println!(
                "  K={k:5}: mean KL {:.6}, relative gap {gap:.4}, mean base tail mass {tail:.4}",
                sums[i] / rows as f64
            );
            assert!(gap <= 2.0 * tail + 1e-3, "K={k}: gap {gap} far above the tail mass {tail}");
        }
        let gap64 = (exact - sums[1]) / exact;
        assert!(gap64 < 0.2, "K=64 relative gap {gap64}");
    }
}

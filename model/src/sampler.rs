//! Next-token sampling: greedy, or temperature with top-k and top-p (nucleus) filtering, from a
//! seeded ChaCha8 stream per sequence, so the same seed gives the same tokens.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Sampling settings (temperature 0 means greedy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature; 0 selects the arg-max.
    pub temperature: f32,
    /// Keep the smallest set of tokens whose probability reaches `top_p` (1 = off).
    pub top_p: f32,
    /// Keep the `top_k` most likely tokens (0 = off).
    pub top_k: usize,
    /// Seed of the random stream.
    pub seed: u64,
}

impl SamplingParams {
    /// Checks the settings: a finite temperature >= 0 and a finite top-p in (0, 1]. The error
    /// names the flag (`--temperature`, `--top-p`) and the value.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(format!("--temperature {} must be a finite number >= 0", self.temperature));
        }
        if !(self.top_p.is_finite() && self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("--top-p {} must be in (0, 1]", self.top_p));
        }
        Ok(())
    }
}

impl Default for SamplingParams {
    fn default() -> Self {
        SamplingParams { temperature: 0.0, top_p: 1.0, top_k: 0, seed: 42 }
    }
}

/// A sampler with its own random stream.
pub struct Sampler {
    params: SamplingParams,
    rng: ChaCha8Rng,
}

/// Index of the largest value (the first one on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

impl Sampler {
    /// A sampler for one sequence; `stream` separates the random streams of sequences sharing a
    /// seed (e.g. the item index).
    pub fn new(params: SamplingParams, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        rng.set_stream(stream);
        Sampler { params, rng }
    }

    /// Picks the next token from `logits` [V].
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let p = self.params;
        if p.temperature <= 0.0 {
            return argmax(logits);
        }
        // Candidates sorted by logit, descending (ties by id for determinism).
        let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
        let k = if p.top_k > 0 { p.top_k.min(idx.len()) } else { idx.len() };
        let cmp = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]).then(a.cmp(b));
        if k < idx.len() {
            idx.select_nth_unstable_by(k - 1, cmp);
            idx.truncate(k);
        }
        idx.sort_unstable_by(cmp);
        let max = logits[idx[0] as usize];
        let mut probs: Vec<f64> =
            idx.iter().map(|&i| (((logits[i as usize] - max) / p.temperature) as f64).exp()).collect();
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= total);
        if p.top_p < 1.0 {
            let mut cum = 0.0;
            let mut keep = probs.len();
            for (j, &q) in probs.iter().enumerate() {
                cum += q;
                if cum >= p.top_p as f64 {
                    keep = j + 1;
                    break;
                }
            }
            probs.truncate(keep);
            idx.truncate(keep);
            let t: f64 = probs.iter().sum();
            probs.iter_mut().for_each(|x| *x /= t);
        }
        let r: f64 = self.rng.random();
        let mut cum = 0.0;
        for (j, &q) in probs.iter().enumerate() {
            cum += q;
            if r < cum {
                return idx[j];
            }
        }
        *idx.last().expect("at least one candidate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logits() -> Vec<f32> {
        vec![1.0, 3.0, 2.0, -1.0, 2.5, 0.0]
    }

    #[test]
    fn greedy_is_argmax() {
        assert_eq!(Sampler::new(SamplingParams::default(), 0).sample(&logits()), 1);
        assert_eq!(argmax(&[1.0, 5.0, 5.0]), 1, "first index wins ties");
    }

    #[test]
    fn same_seed_same_tokens_and_streams_differ() {
        let p = SamplingParams { temperature: 1.0, top_p: 1.0, top_k: 0, seed: 7 };
        let run = |stream| {
            let mut s = Sampler::new(p, stream);
            (0..64).map(|_| s.sample(&logits())).collect::<Vec<_>>()
        };
        assert_eq!(run(0), run(0));
        assert_ne!(run(0), run(1));
    }

    #[test]
    fn top_k_and_top_p_restrict_the_support() {
        let mut s = Sampler::new(SamplingParams { temperature: 1.0, top_p: 1.0, top_k: 2, seed: 1 }, 0);
        for _ in 0..200 {
            assert!([1, 4].contains(&s.sample(&logits())));
        }
        // Probabilities at T=1: token 1 has ~0.48; top_p 0.4 keeps it alone.
        let mut s = Sampler::new(SamplingParams { temperature: 1.0, top_p: 0.4, top_k: 0, seed: 1 }, 0);
        for _ in 0..50 {
            assert_eq!(s.sample(&logits()), 1);
        }
    }

    #[test]
    fn temperature_sampling_follows_the_distribution() {
        let mut s = Sampler::new(SamplingParams { temperature: 1.0, top_p: 1.0, top_k: 0, seed: 3 }, 0);
        let n = 20000;
        let mut counts = [0usize; 6];
        for _ in 0..n {
            counts[s.sample(&logits()) as usize] += 1;
        }
        let l = logits();
        let z: f64 = l.iter().map(|&x| (x as f64).exp()).sum();
        for (i, &c) in counts.iter().enumerate() {
            let expect = (l[i] as f64).exp() / z;
            assert!(((c as f64 / n as f64) - expect).abs() < 0.015, "token {i}: {c} vs p={expect}");
        }
    }
}

//! Calibration samples: the source's documents (after the eval guard) tokenized without special
//! tokens, joined by `"\n\n"` into one token stream, cut into consecutive windows of
//! `seqlen - 1` tokens (`seqlen` when the tokenizer adds no BOS), of which `n_samples` distinct
//! windows are drawn with a seeded ChaCha8 generator; each sample is BOS (when the tokenizer
//! adds one) followed by its window, `seqlen` tokens in all. Held-out samples (for
//! [`super::holdout`]) are windows the calibration draw did not pick, drawn with a second
//! generator, so the calibration samples are the same with or without them.

use super::guard::EvalGuard;
use super::source::CalibSource;
use anyhow::{bail, Context};
use model::tokenizer::Tokenizer;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `--calib`, `--calib-samples`, `--calib-seqlen`, `--seed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalibSpec {
    /// Where the text comes from.
    pub source: CalibSource,
    /// Samples to draw.
    pub n_samples: usize,
    /// Tokens per sample.
    pub seqlen: usize,
    /// Seed of the window draw.
    pub seed: u64,
}

/// The drawn samples and what they came from.
#[derive(Debug, Clone)]
pub struct CalibSet {
    /// `n_samples` sequences of `seqlen` tokens.
    pub samples: Vec<Vec<u32>>,
    /// Documents used / dropped by the eval guard.
    pub documents: usize,
    /// Documents dropped because they contain an evaluation item.
    pub dropped: usize,
    /// Whole windows the stream held (the draw's population).
    pub windows: usize,
    /// Held-out samples: windows not in `samples`, same length.
    pub holdout: Vec<Vec<u32>>,
}

/// Reads, guards, tokenizes and draws the samples, and `n_holdout` held-out samples from
/// windows the draw did not pick. `context` is the model's maximum sequence length.
pub fn build_samples(
    spec: &CalibSpec,
    tokenizer: &Tokenizer,
    guard: &EvalGuard,
    context: usize,
    n_holdout: usize,
) -> anyhow::Result<CalibSet> {
    let label = spec.source.label();
    if spec.n_samples == 0 {
        bail!("--calib-samples must be at least 1");
    }
    if spec.seqlen < 2 {
        bail!("--calib-seqlen {} is too short (at least 2 tokens)", spec.seqlen);
    }
    if spec.seqlen > context {
        bail!("--calib-seqlen {} is longer than the model's context of {context} tokens", spec.seqlen);
    }
    let all = spec.source.documents()?;
    let total = all.len();
    let docs: Vec<String> = all.into_iter().filter(|d| guard.find(d).is_none()).collect();
    let dropped = total - docs.len();
    if docs.is_empty() {
        bail!(
            "calibration source {label}: every one of its {total} documents contains an evaluation item (GSM8K test, {}); \
             calibration must not overlap evaluation",
            guard.source.as_ref().map_or("?".into(), |p| p.display().to_string())
        );
    }
    let sep = tokenizer.encode("\n\n", false).context("tokenizing the separator")?;
    let mut stream: Vec<u32> = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            stream.extend_from_slice(&sep);
        }
        stream.extend(tokenizer.encode(d, false).with_context(|| format!("tokenizing {label}"))?);
    }
    let bos = if tokenizer.add_bos() { tokenizer.bos_id() } else { None };
    let window = spec.seqlen - usize::from(bos.is_some());
    let windows = stream.len() / window;
    if windows == 0 {
        bail!(
            "calibration source {label}: {} tokens, shorter than one sample of {} tokens; pass a longer text or a \
             shorter --calib-seqlen",
            stream.len(),
            spec.seqlen
        );
    }
    if windows < spec.n_samples {
        bail!(
            "calibration source {label}: {} tokens make only {windows} samples of {} tokens, {} asked; pass \
             --calib-samples {windows}, a shorter --calib-seqlen or more text",
            stream.len(),
            spec.seqlen,
            spec.n_samples
        );
    }
    if windows < spec.n_samples + n_holdout {
        bail!(
            "calibration source {label}: {windows} samples of {} tokens cannot give {} calibration and {n_holdout} \
             held-out ones",
            spec.seqlen,
            spec.n_samples
        );
    }
    let sample = |w: usize| -> Vec<u32> {
        bos.into_iter().chain(stream[w * window..(w + 1) * window].iter().copied()).collect()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let picks = rand::seq::index::sample(&mut rng, windows, spec.n_samples).into_vec();
    let samples = picks.iter().map(|&w| sample(w)).collect();
    let holdout = if n_holdout == 0 {
        Vec::new()
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ HOLDOUT_SEED);
        let taken: std::collections::HashSet<usize> = picks.iter().copied().collect();
        rand::seq::index::sample(&mut rng, windows, spec.n_samples + n_holdout)
            .into_iter()
            .filter(|w| !taken.contains(w))
            .take(n_holdout)
            .map(sample)
            .collect()
    };
    Ok(CalibSet { samples, documents: docs.len(), dropped, windows, holdout })
}

/// Mixed into the seed of the held-out draw.
const HOLDOUT_SEED: u64 = 0x686f_6c64_6f75_7421;

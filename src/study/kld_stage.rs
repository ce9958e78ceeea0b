//! A configuration's KL divergence and top-1 agreement against the base on the fixed text
//! (`qtool kld`'s pipeline; the base's log-probabilities are cached once for the whole study in
//! `DIR/ckpt/kld-base-logits.bin`), written atomically to `DIR/NAME/kld.json` and reused on
//! rerun. The base against itself is 0 and 100% by definition and is not run.

use super::layout::Layout;
use super::plan::Configuration;
use anyhow::Context;
use eval::kld::{KldSpec, Observer, TextSource};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What the study keeps of a KLD run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KldNumbers {
    /// Mean KL divergence (nats per token).
    pub kld_mean: f64,
    /// Its standard error.
    pub kld_se: f64,
    /// Median.
    pub kld_median: f64,
    /// 99th percentile.
    pub kld_p99: f64,
    /// Share of positions whose most likely token is the base's (0..1).
    pub top1: f64,
    /// Perplexity of the base on the scored tokens.
    pub ppl_base: f64,
    /// Perplexity of the configuration.
    pub ppl_model: f64,
    /// Scored tokens (0 for the base against itself).
    pub tokens: usize,
    /// Seconds the run took.
    pub seconds: f64,
}

/// `kld.json`: the numbers, and `qtool kld`'s whole report when it ran.
#[derive(Serialize)]
struct KldFile<'a> {
    numbers: &'a KldNumbers,
    report: Option<&'a eval::kld::KldReport>,
}

#[derive(Deserialize)]
struct KldFileRead {
    numbers: KldNumbers,
}

/// The KLD text, ctx and chunks of a study.
#[derive(Debug, Clone)]
pub struct KldSettings {
    /// The text.
    pub text: TextSource,
    /// Tokens per chunk.
    pub ctx: usize,
    /// Chunks scored.
    pub chunks: usize,
    /// Backend.
    pub backend: String,
}

/// The saved numbers of a configuration, if measured.
pub fn recorded(layout: &Layout, c: &Configuration) -> Option<KldNumbers> {
    let text = std::fs::read_to_string(layout.kld(c)).ok()?;
    serde_json::from_str::<KldFileRead>(&text).ok().map(|f| f.numbers)
}

/// Measures the configuration (or reuses its saved numbers); returns them and whether they were
/// measured now.
pub fn ensure(
    layout: &Layout,
    c: &Configuration,
    model: &Path,
    checkpoint: &Path,
    s: &KldSettings,
    obs: &mut dyn Observer,
) -> anyhow::Result<(KldNumbers, bool)> {
    if let Some(n) = recorded(layout, c) {
        return Ok((n, false));
    }
    let (numbers, report) = if c.entry.is_none() {
        let n = KldNumbers {
            kld_mean: 0.0,
            kld_se: 0.0,
            kld_median: 0.0,
            kld_p99: 0.0,
            top1: 1.0,
            ppl_base: 0.0,
            ppl_model: 0.0,
            tokens: 0,
            seconds: 0.0,
        };
        (n, None)
    } else {
        let spec = KldSpec {
            base: model.to_path_buf(),
            base_dtype: None,
            model: checkpoint.to_path_buf(),
            model_dtype: None,
            backend: s.backend.clone(),
            text: s.text.clone(),
            ctx: s.ctx,
            chunks: Some(s.chunks),
            top_k: eval::kld::DEFAULT_TOP_K,
            batch: None,
            cache: Some(layout.base_logits()),
        };
        let r = eval::kld::run(&spec, obs).with_context(|| format!("KLD of configuration {}", c.name))?;
        let sm = &r.summary;
        let n = KldNumbers {
            kld_mean: sm.kld.mean.mean,
            kld_se: sm.kld.mean.se,
            kld_median: sm.kld.median,
            kld_p99: sm.kld.p99,
            top1: sm.same_top.mean,
            ppl_base: sm.ppl_base.mean,
            ppl_model: sm.ppl_model.mean,
            tokens: sm.tokens,
            seconds: r.timings.total_s,
        };
        (n, Some(r))
    };
    let text = serde_json::to_string_pretty(&KldFile { numbers: &numbers, report: report.as_ref() })? + "\n";
    crate::atomic::write(&layout.kld(c), text.as_bytes())?;
    Ok((numbers, c.entry.is_some()))
}

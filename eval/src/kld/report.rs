//! The result of a KLD run as data (serialized for `--json`) and as the summary table the CLI
//! prints.

use crate::kld::summary::KldSummary;
use serde::Serialize;
use std::fmt::Write;

/// How the base's records were obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheUse {
    /// Read from a cache whose key matched.
    Reused,
    /// No cache existed: the base ran and the cache was written.
    Computed,
    /// A cache existed but was refused (the reason); the base ran and replaced it.
    Recomputed(String),
}

/// Wall-clock seconds of the stages (0 for a stage that did not run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Loading the base.
    pub load_base_s: f64,
    /// Running the base over the chunks and keeping its records.
    pub base_s: f64,
    /// Loading the model under test.
    pub load_model_s: f64,
    /// Running the model and scoring it.
    pub model_s: f64,
    /// The whole run.
    pub total_s: f64,
}

/// Everything about one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KldReport {
    /// Base checkpoint.
    pub base: String,
    /// Its dtype (`native`: the checkpoint's own).
    pub base_dtype: String,
    /// Model under test.
    pub model: String,
    /// Its dtype.
    pub model_dtype: String,
    /// Backend the model ran on.
    pub backend: String,
    /// Worker threads.
    pub threads: usize,
    /// Where the text came from.
    pub text_source: String,
    /// sha256 of the text.
    pub text_sha256: String,
    /// sha256 of the scored chunks' token ids (u32 little-endian, chunk after chunk, BOS already
    /// substituted): another tool that scores the same tokens gets the same hash.
    pub tokens_sha256: String,
    /// Tokens per chunk.
    pub ctx: usize,
    /// Chunks scored.
    pub chunks: usize,
    /// Scored tokens per chunk (the second half).
    pub tokens_per_chunk_scored: usize,
    /// Base tokens kept per position.
    pub top_k: usize,
    /// Vocabulary size.
    pub vocab: usize,
    /// Chunks per forward.
    pub batch: usize,
    /// The measurements.
    pub summary: KldSummary,
    /// The base-logit cache file.
    pub cache_path: String,
    /// Whether it was reused.
    pub cache: CacheUse,
    /// Stage times.
    pub timings: Timings,
}

impl KldReport {
    /// The summary table, as markdown.
    pub fn table(&self) -> String {
        let s = &self.summary;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "KL divergence of {} ({}) against base {} ({})",
            self.model, self.model_dtype, self.base, self.base_dtype
        );
        let _ = writeln!(
            o,
            "text {} (sha256 {}…), ctx {}, {} chunks x {} scored tokens, top-{} + tail, backend {} ({} threads)\n",
            self.text_source,
            &self.text_sha256[..12.min(self.text_sha256.len())],
            self.ctx,
            self.chunks,
            self.tokens_per_chunk_scored,
            self.top_k,
            self.backend,
            self.threads
        );
        let rows = [
            ("KLD mean", format!("{:.6} ± {:.6}", s.kld.mean.mean, s.kld.mean.se)),
            ("KLD median", format!("{:.6}", s.kld.median)),
            ("KLD p90", format!("{:.6}", s.kld.p90)),
            ("KLD p95", format!("{:.6}", s.kld.p95)),
            ("KLD p99", format!("{:.6}", s.kld.p99)),
            ("KLD max", format!("{:.6}", s.kld.max)),
            ("same top token", format!("{:.3} ± {:.3} %", 100.0 * s.same_top.mean, 100.0 * s.same_top.se)),
            ("PPL(base)", format!("{:.4} ± {:.4}", s.ppl_base.mean, s.ppl_base.se)),
            ("PPL(model)", format!("{:.4} ± {:.4}", s.ppl_model.mean, s.ppl_model.se)),
            ("ln(PPL(model)/PPL(base))", format!("{:.6} ± {:.6}", s.ln_ppl_ratio.mean, s.ln_ppl_ratio.se)),
            ("scored tokens", s.tokens.to_string()),
        ];
        let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
        let vwidth = rows.iter().map(|(_, v)| v.chars().count()).max().unwrap_or(0);
        let _ = writeln!(o, "| {:width$} | {:vwidth$} |", "metric", "value");
        let _ = writeln!(o, "|{}|{}|", "-".repeat(width + 2), "-".repeat(vwidth + 2));
        for (k, v) in rows {
            let _ = writeln!(o, "| {k:width$} | {v:>vwidth$} |");
        }
        let t = &self.timings;
        let cache = match &self.cache {
            CacheUse::Reused => "reused".to_owned(),
            CacheUse::Computed => "computed".to_owned(),
            CacheUse::Recomputed(why) => format!("recomputed ({why})"),
        };
        let tokens = (self.chunks * self.ctx) as f64;
        let tps = |secs: f64| if secs > 0.0 { format!("{:.0} tok/s", tokens / secs) } else { "-".into() };
        let _ = writeln!(o, "\nbase logits: {} [{cache}]", self.cache_path);
        let base = match self.cache {
            CacheUse::Reused => "base from cache".to_owned(),
            _ => format!("base load {:.1} s + run {:.1} s ({})", t.load_base_s, t.base_s, tps(t.base_s)),
        };
        let _ = write!(
            o,
            "time: {base}, model load {:.1} s + run {:.1} s ({}), total {:.1} s; {} chunks per forward",
            t.load_model_s,
            t.model_s,
            tps(t.model_s),
            t.total_s,
            self.batch
        );
        o
    }
}

//! End-to-end speed of a model: for each weight dtype and batch size, prefill `prompt_tokens`
//! per sequence, then decode `gen_tokens` greedily (EOS ignored, so every run does the same
//! work). A decode step reads every weight once, so decode speed is bounded by memory
//! bandwidth: the report gives the achieved bytes/s of weights against a STREAM-like read
//! measured in the same run.

use model::generate::{generate_batch, GenerateParams};
use model::load::load_checkpoint;
use model::sampler::SamplingParams;
use model::weights::DType;
use model::Model;
use serde::Serialize;
use std::path::PathBuf;

/// What to measure.
#[derive(Debug, Clone)]
pub struct ModelBenchConfig {
    /// Checkpoint (GGUF or HF folder).
    pub model: PathBuf,
    /// Sequences in flight.
    pub batches: Vec<usize>,
    /// Prompt length per sequence.
    pub prompt_tokens: usize,
    /// Generated tokens per sequence.
    pub gen_tokens: usize,
    /// Runs per configuration; the fastest is kept.
    pub repeats: usize,
    /// Backend name.
    pub backend: String,
}

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct ModelBenchRow {
    /// Weight dtype (`native`: as stored, quantized Linears packed).
    pub dtype: String,
    /// Sequences in flight.
    pub batch: usize,
    /// Prompt tokens per sequence.
    pub prompt_tokens: usize,
    /// Generated tokens per sequence.
    pub gen_tokens: usize,
    /// Prompt tokens per second (whole batch).
    pub prefill_tps: f64,
    /// Decode tokens per second (whole batch).
    pub decode_tps: f64,
    /// Milliseconds per decode step.
    pub decode_step_ms: f64,
    /// Weight bytes one decode step reads.
    pub weight_bytes: usize,
    /// Weight bytes read per second during decode, GB/s.
    pub decode_gbps: f64,
}

/// Deterministic prompt ids: different per sequence, spread over the vocabulary.
pub(crate) fn prompt(seq: usize, len: usize, vocab: usize) -> Vec<u32> {
    (0..len).map(|i| ((seq * 7919 + i * 104_729 + 17) % vocab.min(32_000)) as u32).collect()
}

/// Runs the benchmark with the weights held as `dtype` (`None`: the checkpoint's own storage,
/// e.g. packed quantized weights).
pub fn bench_checkpoint(
    cfg: &ModelBenchConfig,
    dtype: Option<DType>,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Vec<ModelBenchRow>> {
    let dname = dtype.map_or("native", DType::name);
    let ck = load_checkpoint(&cfg.model, dtype)?;
    let m = Model::new(ck, kernels::backend_by_name(&cfg.backend)?)?;
    let vocab = m.config.vocab_size;
    let weight_bytes = m.weight_bytes();
    let mut rows = Vec::new();
    for &b in &cfg.batches {
        let prompts: Vec<Vec<u32>> = (0..b).map(|s| prompt(s, cfg.prompt_tokens, vocab)).collect();
        let params =
            GenerateParams { max_new_tokens: cfg.gen_tokens, sampling: SamplingParams::default(), eos_ids: vec![] };
        let mut best: Option<ModelBenchRow> = None;
        for r in 0..cfg.repeats.max(1) {
            progress(&format!("{dname} batch {b} run {}/{}", r + 1, cfg.repeats.max(1)));
            let (_, st) = generate_batch(&m, &prompts, &params, &mut |_, _| false)?;
            let step = st.decode_secs / st.decode_steps.max(1) as f64;
            let row = ModelBenchRow {
                dtype: dname.into(),
                batch: b,
                prompt_tokens: cfg.prompt_tokens,
                gen_tokens: cfg.gen_tokens,
                prefill_tps: st.prefill_tps(),
                decode_tps: st.decode_tps(),
                decode_step_ms: step * 1e3,
                weight_bytes,
                decode_gbps: weight_bytes as f64 / step / 1e9,
            };
            best = Some(match best {
                Some(p) => ModelBenchRow {
                    prefill_tps: p.prefill_tps.max(row.prefill_tps),
                    decode_tps: p.decode_tps.max(row.decode_tps),
                    decode_step_ms: p.decode_step_ms.min(row.decode_step_ms),
                    decode_gbps: p.decode_gbps.max(row.decode_gbps),
                    ..p
                },
                None => row,
            });
        }
        rows.extend(best);
    }
    Ok(rows)
}

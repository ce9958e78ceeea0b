//! `qtool bench throughput`: qtool and llama.cpp side by side on the same GGUF, interleaved in
//! one run. Each repeat runs every workload once on qtool, then once on llama.cpp:
//!
//! - decode at batch 1: `gen` tokens after a 1-token prompt (llama-bench `-p 0 -n gen`);
//! - prefill of one `prefill`-token prompt (llama-bench `-p prefill -n 0`);
//! - B sequences in flight for each B: `batch_prompt` prompt tokens each, then `batch_gen`
//!   decode steps of B tokens (llama-batched-bench `-npp -ntg -npl`, its S_PP and S_TG).
//!
//! Every figure is tokens per second of the whole batch; qtool's prompts are synthetic ids and
//! its decoding greedy with EOS ignored, as llama.cpp's benches run. The machine's read
//! bandwidth and f32 / int8 compute peaks are measured in the same run (before and after) so
//! decode can be set against the bandwidth limit and prefill against the compute limit.

use super::llamacpp_tools::LlamaTools;
use super::model_speed::prompt;
use model::generate::{generate_batch, GenerateParams};
use model::load::load_checkpoint;
use model::sampler::SamplingParams;
use model::Model;
use serde::Serialize;
use std::path::PathBuf;

/// What to measure.
#[derive(Debug, Clone)]
pub struct ThroughputConfig {
    /// qtool's checkpoint (GGUF or HF folder).
    pub model: PathBuf,
    /// The GGUF llama.cpp runs (the same file when `model` is a GGUF), if llama.cpp runs.
    pub llama_gguf: Option<PathBuf>,
    /// The folder of llama.cpp's tools, if llama.cpp runs.
    pub llamacpp_bin: Option<PathBuf>,
    /// qtool's backend.
    pub backend: String,
    /// Threads for both engines.
    pub threads: usize,
    /// Tokens decoded at batch 1.
    pub decode_tokens: usize,
    /// Prompt tokens of the prefill workload.
    pub prefill_tokens: usize,
    /// Sequences in flight of the batched workloads.
    pub batches: Vec<usize>,
    /// Prompt tokens per sequence of the batched workloads.
    pub batch_prompt: usize,
    /// Decode steps of the batched workloads.
    pub batch_gen: usize,
    /// Interleaved repeats.
    pub repeats: usize,
}

/// One workload's samples, one per repeat on each engine (tokens per second).
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// What ran (`decode, batch 1`, ...).
    pub name: String,
    /// qtool's tokens per second, one per repeat.
    pub qtool: Vec<f64>,
    /// llama.cpp's tokens per second, one per repeat (empty when llama.cpp did not run).
    pub llamacpp: Vec<f64>,
    /// llama.cpp's command of the last repeat.
    pub llamacpp_command: Option<String>,
    /// Prompt tokens per sequence (0 for pure decode).
    pub prompt_tokens: usize,
    /// Sequences in flight.
    pub batch: usize,
    /// Whether the figure is prompt processing (else decode).
    pub prefill: bool,
}

impl Workload {
    /// A workload with no samples yet.
    fn new(name: String, prompt_tokens: usize, batch: usize, prefill: bool) -> Self {
        Workload { name, qtool: vec![], llamacpp: vec![], llamacpp_command: None, prompt_tokens, batch, prefill }
    }
}

/// The machine's limits, measured with the run's thread count.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// Read bandwidth before the runs, GB/s.
    pub read_gbps_before: f64,
    /// Read bandwidth after the runs, GB/s.
    pub read_gbps_after: f64,
    /// f32 multiply-add peak, GFLOP/s.
    pub f32_gflops: f64,
    /// int8 dot-product peak, GOP/s, and the instructions it used.
    pub int8_gops: Option<(f64, String)>,
}

/// What the model costs per token, for the roofline columns.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCost {
    /// Weight bytes one decode step reads.
    pub weight_bytes: usize,
    /// Multiply-adds × 2 of the decoder Linears per token (lm_head excluded: prefill computes
    /// logits for the last position only).
    pub linear_flops_per_token: f64,
    /// Layers, query width, for the attention term.
    pub layers: usize,
    /// Query heads × head width.
    pub q_width: usize,
    /// Key/value heads × head width.
    pub kv_width: usize,
}

impl ModelCost {
    fn of(m: &Model) -> ModelCost {
        let c = &m.config;
        let (d, f) = (c.hidden_size, c.intermediate_size);
        let (qd, kvd) = (c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim);
        let per_layer = d * qd + 2 * d * kvd + qd * d + 3 * d * f;
        ModelCost {
            weight_bytes: m.weight_bytes(),
            linear_flops_per_token: 2.0 * (per_layer * c.num_hidden_layers) as f64,
            layers: c.num_hidden_layers,
            q_width: qd,
            kv_width: kvd,
        }
    }

    /// FLOPs of prefilling `p` tokens: the Linears, plus causal attention (`q·k` and `p·v`,
    /// `2 · 2 · q_width` per query-key pair, `p (p + 1) / 2` pairs per layer).
    pub fn prefill_flops(&self, p: usize) -> f64 {
        let pairs = (p * (p + 1) / 2) as f64;
        self.linear_flops_per_token * p as f64 + 4.0 * (self.q_width * self.layers) as f64 * pairs
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputRun {
    /// Workloads in run order.
    pub workloads: Vec<Workload>,
    /// Machine limits.
    pub limits: Limits,
    /// The model's per-token cost.
    pub cost: ModelCost,
    /// How qtool stores the Linears (from the loader).
    pub quant_description: String,
    /// The backend qtool ran on (`auto` resolved).
    pub backend: String,
    /// llama.cpp's build, if it ran.
    pub llamacpp_build: Option<String>,
    /// llama.cpp's CPU description, if it ran.
    pub llamacpp_cpu: Option<String>,
}

fn qtool_run(m: &Model, batch: usize, prompt_len: usize, steps: usize) -> anyhow::Result<(f64, f64)> {
    let vocab = m.config.vocab_size;
    let prompts: Vec<Vec<u32>> = (0..batch).map(|s| prompt(s, prompt_len, vocab)).collect();
    // The first new token comes from the prefill's logits; `steps` decode steps follow it.
    let params = GenerateParams { max_new_tokens: steps + 1, sampling: SamplingParams::default(), eos_ids: vec![] };
    let (_, st) = generate_batch(m, &prompts, &params, &mut |_, _| false)?;
    Ok((st.prefill_tps(), st.decode_tps()))
}

/// The limits measured before the runs (the bandwidth is measured again after them).
fn limits_before(threads: usize) -> anyhow::Result<Limits> {
    let read_gbps_before = kernels::cpu::bandwidth::measure_read_bandwidth(1 << 30, threads)?;
    let f32_gflops = kernels::cpu::flops::measure_peak_gflops(kernels::Isa::detect(), threads)?;
    let int8_gops =
        kernels::cpu::int8_peak::measure_peak_int8_gops(threads).ok().map(|(g, p)| (g, p.name().to_string()));
    Ok(Limits { read_gbps_before, read_gbps_after: read_gbps_before, f32_gflops, int8_gops })
}

/// Runs the whole comparison; `progress` gets a line per step.
pub fn run(cfg: &ThroughputConfig, progress: &dyn Fn(&str)) -> anyhow::Result<ThroughputRun> {
    let llama = match (&cfg.llamacpp_bin, &cfg.llama_gguf) {
        (Some(bin), Some(gguf)) => Some((LlamaTools::new(bin)?, gguf.clone())),
        _ => None,
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build()?;
    progress("measuring read bandwidth and compute peaks");
    let mut limits = limits_before(cfg.threads)?;
    let m = Model::new(load_checkpoint(&cfg.model, None)?, kernels::backend_by_name(&cfg.backend)?)?;
    let mut w = vec![
        Workload::new("decode, batch 1".into(), 0, 1, false),
        Workload::new(format!("prefill, {} tokens", cfg.prefill_tokens), cfg.prefill_tokens, 1, true),
    ];
    for &b in &cfg.batches {
        w.push(Workload::new(format!("{b} sequences, decode (S_TG)"), cfg.batch_prompt, b, false));
        w.push(Workload::new(format!("{b} sequences, prefill (S_PP)"), cfg.batch_prompt, b, true));
    }
    let (mut build, mut cpu) = (None, None);
    for r in 1..=cfg.repeats {
        progress(&format!("repeat {r}/{}: decode, batch 1", cfg.repeats));
        let (_, dec) = pool.install(|| qtool_run(&m, 1, 1, cfg.decode_tokens))?;
        w[0].qtool.push(dec);
        if let Some((tools, gguf)) = &llama {
            let run = tools.bench(gguf, cfg.threads, 0, cfg.decode_tokens)?;
            w[0].llamacpp.push(run.tokens_per_s);
            w[0].llamacpp_command = Some(run.command);
            (build, cpu) = (Some(run.build), Some(run.cpu_info));
        }
        progress(&format!("repeat {r}/{}: prefill {}", cfg.repeats, cfg.prefill_tokens));
        let (pre, _) = pool.install(|| qtool_run(&m, 1, cfg.prefill_tokens, 0))?;
        w[1].qtool.push(pre);
        if let Some((tools, gguf)) = &llama {
            let run = tools.bench(gguf, cfg.threads, cfg.prefill_tokens, 0)?;
            w[1].llamacpp.push(run.tokens_per_s);
            w[1].llamacpp_command = Some(run.command);
        }
        for (i, &b) in cfg.batches.iter().enumerate() {
            progress(&format!("repeat {r}/{}: {b} sequences", cfg.repeats));
            let (pp, tg) = pool.install(|| qtool_run(&m, b, cfg.batch_prompt, cfg.batch_gen))?;
            w[2 + 2 * i].qtool.push(tg);
            w[3 + 2 * i].qtool.push(pp);
        }
        if let Some((tools, gguf)) = &llama {
            progress(&format!("repeat {r}/{}: llama-batched-bench", cfg.repeats));
            let runs = tools.batched(gguf, cfg.threads, (cfg.batch_prompt, cfg.batch_gen), &cfg.batches)?;
            for (i, run) in runs.iter().enumerate() {
                w[2 + 2 * i].llamacpp.push(run.speed_tg);
                w[3 + 2 * i].llamacpp.push(run.speed_pp);
                w[2 + 2 * i].llamacpp_command = Some(run.command.clone());
                w[3 + 2 * i].llamacpp_command = Some(run.command.clone());
            }
        }
    }
    progress("measuring read bandwidth again");
    limits.read_gbps_after = kernels::cpu::bandwidth::measure_read_bandwidth(1 << 30, cfg.threads)?;
    Ok(ThroughputRun {
        workloads: w,
        limits,
        cost: ModelCost::of(&m),
        quant_description: m.quant_description.clone(),
        backend: m.backend().name().to_string(),
        llamacpp_build: build,
        llamacpp_cpu: cpu,
    })
}

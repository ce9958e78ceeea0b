//! `qtool serve`: load a checkpoint and serve it over an OpenAI-compatible HTTP API (see
//! `crate::serve`).

use anyhow::Context;
use model::weights::DType;
use std::path::PathBuf;

/// Flags of `qtool serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Checkpoint: a GGUF file or a Hugging Face folder.
    #[arg(long)]
    pub model: PathBuf,
    /// The name clients send as `model` [default: the checkpoint's file or folder name].
    #[arg(long)]
    pub served_model_name: Option<String>,
    /// Backend: auto (the fast CPU path: int8 activations for GGML-block and int2/3/4/8 packed weights, as
    /// llama.cpp does; today cpu-q8), cpu (exact f32, the reference twin), cpu-q8, ref, cpu-v1,
    /// cpu-v2, cpu-v3, cpu-portable; wgsl, wgsl-gemv, wgsl-tiled (built with
    /// --features wgpu); cuda, cuda-wide, cuda-tuned, cuda-simple (built with --features cuda).
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Weight dtype in memory (default: as stored).
    #[arg(long, value_parser = ["f32", "bf16", "f16"])]
    pub dtype: Option<String>,
    /// What the KV cache stores K/V rows as: f32, or f16 (half the memory for long reasoning
    /// traces; each value rounded to f16 once, as llama.cpp's default cache does).
    #[arg(long, value_parser = ["f32", "f16"], default_value = "f32")]
    pub kv_cache_dtype: String,
    /// Address to listen on (loopback by default; 0.0.0.0 exposes the server to the network).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one; the address is printed on stdout).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Most sequences in flight (continuous batching across all clients).
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Largest max_tokens a request may ask for [default: the model's context].
    #[arg(long)]
    pub max_tokens_limit: Option<usize>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body_bytes: usize,
    /// Most sequences waiting for a slot; more requests get HTTP 429.
    #[arg(long, default_value_t = 256)]
    pub max_queue: usize,
}

/// Runs `qtool serve` (until the process is stopped).
pub fn run(a: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=super::MAX_BATCH).contains(&a.batch),
        "--batch {} must be from 1 to {}",
        a.batch,
        super::MAX_BATCH
    );
    anyhow::ensure!(a.max_tokens_limit != Some(0), "--max-tokens-limit must be at least 1");
    let dtype = a.dtype.as_deref().and_then(DType::parse);
    let mut loaded = model::load::load_model(&a.model, dtype, kernels::backend_by_name(&a.backend)?)
        .with_context(|| format!("loading {}", a.model.display()))?;
    loaded.model.kv_cache_dtype = super::kv_cache_dtype(&a.kv_cache_dtype)?;
    let name = a.served_model_name.clone().unwrap_or_else(|| {
        let stem = if a.model.is_dir() { a.model.file_name() } else { a.model.file_stem() };
        stem.map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into())
    });
    let context = loaded.model.config.max_position_embeddings;
    let config = crate::serve::ServeConfig {
        addr: format!("{}:{}", a.host, a.port),
        name,
        path: a.model.display().to_string(),
        backend: loaded.model.backend().name().to_string(),
        batch: a.batch,
        max_tokens_limit: a.max_tokens_limit.unwrap_or(context),
        max_body_bytes: a.max_body_bytes,
        max_queue: a.max_queue,
    };
    crate::serve::http::serve(loaded.model, loaded.tokenizer, config)
}

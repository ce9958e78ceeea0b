//! `qtool generate`: stream a completion of a prompt (optionally through the chat template)
//! and print prefill and decode speed at the end.

use anyhow::Context;
use model::generate::{generate_batch, FinishReason, GenerateParams};
use model::sampler::SamplingParams;
use model::tokenizer::ChatMessage;
use model::weights::DType;
use std::io::Write;
use std::path::PathBuf;

/// Most samples one `generate` runs (they are prefilled together in one batch).
const MAX_SAMPLES: usize = 256;

/// Flags of `qtool generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Checkpoint: a GGUF file or a Hugging Face folder.
    #[arg(long)]
    pub model: PathBuf,
    /// The prompt text.
    #[arg(long)]
    pub prompt: String,
    /// Wrap the prompt as a user message in the model's chat template.
    #[arg(long)]
    pub chat: bool,
    /// System message (with --chat).
    #[arg(long)]
    pub system: Option<String>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_new_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling threshold (1 = off).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Keep only the k most likely tokens (0 = off).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Random seed: the same seed gives the same tokens.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop when the output ends with this text (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// Weight dtype in memory (default: as stored, quantized Linears packed and dequantized in
    /// the matmul; a dtype dequantizes them at load).
    #[arg(long, value_parser = ["f32", "bf16", "f16"])]
    pub dtype: Option<String>,
    /// What the KV cache stores K/V rows as: f32, or f16 (half the memory for long reasoning
    /// traces; each value rounded to f16 once, as llama.cpp's default cache does).
    #[arg(long, value_parser = ["f32", "f16"], default_value = "f32")]
    pub kv_cache_dtype: String,
    /// Backend: auto (the fast CPU path: int8 activations for GGML-block and int2/3/4/8 packed weights, as
    /// llama.cpp does; today cpu-q8), cpu (exact f32, the reference twin), cpu-q8, ref, cpu-v1,
    /// cpu-v2, cpu-v3, cpu-portable; wgsl, wgsl-gemv, wgsl-tiled (built with
    /// --features wgpu); cuda, cuda-wide, cuda-tuned, cuda-simple (built with --features cuda).
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Generate this many samples of the prompt in one batch (seed streams 0..n); the first
    /// is streamed, the others printed after.
    #[arg(long, default_value_t = 1)]
    pub samples: usize,
}

/// Runs `qtool generate`.
pub fn run(a: Args) -> anyhow::Result<()> {
    let sampling = SamplingParams { temperature: a.temperature, top_p: a.top_p, top_k: a.top_k, seed: a.seed };
    sampling.validate().map_err(anyhow::Error::msg)?;
    if !(1..=MAX_SAMPLES).contains(&a.samples) {
        anyhow::bail!("--samples {} must be from 1 to {MAX_SAMPLES}", a.samples);
    }
    let dtype = a.dtype.as_deref().and_then(DType::parse);
    let mut loaded = model::load::load_model(&a.model, dtype, kernels::backend_by_name(&a.backend)?)
        .with_context(|| format!("loading {}", a.model.display()))?;
    loaded.model.kv_cache_dtype = super::kv_cache_dtype(&a.kv_cache_dtype)?;
    let (m, tok) = (loaded.model, loaded.tokenizer);
    let ids = if a.chat {
        let tpl = tok.chat_template().with_context(|| format!("{} has no chat template", a.model.display()))?;
        let mut msgs = Vec::new();
        if let Some(s) = &a.system {
            msgs.push(ChatMessage::system(s.clone()));
        }
        msgs.push(ChatMessage::user(a.prompt.clone()));
        tok.encode(&tpl.render(&msgs, true)?, false)?
    } else {
        tok.encode(&a.prompt, true)?
    };
    let params = GenerateParams { max_new_tokens: a.max_new_tokens, sampling, eos_ids: tok.eos_ids().to_vec() };
    let prompts = vec![ids; a.samples];
    let mut texts = vec![String::new(); a.samples];
    let mut decoders: Vec<_> = (0..a.samples).map(|_| tok.stream_decoder(true)).collect();
    let mut stdout = std::io::stdout();
    let (outs, st) = generate_batch(&m, &prompts, &params, &mut |s, t| {
        if let Ok(Some(piece)) = decoders[s].push(t) {
            texts[s].push_str(&piece);
            if s == 0 {
                let _ = stdout.write_all(piece.as_bytes());
                let _ = stdout.flush();
            }
        }
        a.stop.iter().any(|stop| texts[s].ends_with(stop.as_str()))
    })?;
    for (s, d) in decoders.iter_mut().enumerate() {
        if let Ok(Some(piece)) = d.finish() {
            texts[s].push_str(&piece);
            if s == 0 {
                print!("{piece}");
            }
        }
    }
    println!();
    for (s, text) in texts.iter().enumerate().skip(1) {
        println!("--- sample {s} ---\n{text}");
    }
    let reason = |f: FinishReason| match f {
        FinishReason::Eos => "eos",
        FinishReason::Length => "max-new-tokens",
        FinishReason::Stop => "stop string",
        FinishReason::ContextFull => "context full",
    };
    eprintln!(
        "[{} prompt tokens x{}, {} generated ({}), prefill {:.1} tok/s, decode {:.1} tok/s ({} backend, {} threads)]",
        prompts[0].len(),
        a.samples,
        st.generated_tokens,
        reason(outs[0].finish),
        st.prefill_tps(),
        st.decode_tps(),
        m.backend().name(),
        rayon::current_num_threads()
    );
    Ok(())
}

//! One KLD run end to end: check the options and the two vocabularies (from metadata, before
//! any weights load), take the base's records from the cache when its key matches (else run
//! the base, once, and cache them), then run the model under test and summarize.

use crate::error::{EvalError, Result};
use crate::kld::base_logits::BaseLogits;
use crate::kld::chunks::{self, Chunks};
use crate::kld::dist::PositionScore;
use crate::kld::key::{default_cache_path, CacheKey};
use crate::kld::progress::Observer;
use crate::kld::report::{CacheUse, KldReport, Timings};
use crate::kld::text::{Text, TextSource};
use crate::kld::{cache, runner, summary};
use model::config::ModelConfig;
use model::load::{is_gguf, load_model, LoadedModel};
use model::weights::DType;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Default K: base tokens kept per position.
pub const DEFAULT_TOP_K: usize = 256;

/// What to compare, on what text, how.
#[derive(Debug, Clone)]
pub struct KldSpec {
    /// The reference checkpoint (GGUF file or HF folder).
    pub base: PathBuf,
    /// Its weight dtype (`None`: the checkpoint's own; quantized GGUF tensors become f32).
    pub base_dtype: Option<DType>,
    /// The checkpoint under test.
    pub model: PathBuf,
    /// Its weight dtype.
    pub model_dtype: Option<DType>,
    /// Backend name (`cpu`, `ref`, ...).
    pub backend: String,
    /// The text.
    pub text: TextSource,
    /// Tokens per chunk.
    pub ctx: usize,
    /// Most chunks to score (`None`: all whole chunks of the text).
    pub chunks: Option<usize>,
    /// Base tokens kept per position (capped at the vocabulary; the vocabulary size gives the
    /// exact KL).
    pub top_k: usize,
    /// Chunks per forward (`None`: `runner::auto_batch`).
    pub batch: Option<usize>,
    /// Base-logit cache file (`None`: `key::default_cache_path`).
    pub cache: Option<PathBuf>,
}

/// The name of a dtype choice (`native` when the checkpoint's own is kept).
pub fn dtype_name(d: Option<DType>) -> &'static str {
    d.map_or("native", DType::name)
}

/// A checkpoint's architecture from its metadata only (no weights read).
pub fn read_config(path: &Path) -> Result<ModelConfig> {
    if is_gguf(path) {
        Ok(ModelConfig::from_gguf(&quant::gguf::GgufFile::open(path)?)?)
    } else {
        Ok(ModelConfig::from_hf_json(&path.join("config.json"))?)
    }
}

fn check_options(spec: &KldSpec) -> Result<()> {
    chunks::validate(spec.ctx, spec.chunks)?;
    if spec.top_k == 0 {
        return Err(EvalError::BadOption("--top-k 0: keep at least one token per position".into()));
    }
    if spec.batch == Some(0) {
        return Err(EvalError::BadOption("--batch 0: at least one chunk per forward".into()));
    }
    Ok(())
}

/// Refuses a pair of checkpoints whose logits do not index the same tokens.
pub fn check_vocab(base: &ModelConfig, model: &ModelConfig) -> Result<()> {
    if base.vocab_size != model.vocab_size {
        return Err(EvalError::VocabMismatch(format!(
            "the base has {} tokens, the model {}; KL divergence needs the same vocabulary",
            base.vocab_size, model.vocab_size
        )));
    }
    Ok(())
}

/// Refuses a model whose tokenizer does not reproduce the base's tokens of the text (every
/// position but the chunk starts, where BOS was substituted).
pub fn check_tokens(base: &BaseLogits, model_tokens: &[u32], tokenizer_vocab: usize) -> Result<()> {
    if tokenizer_vocab != base.tokenizer_vocab {
        return Err(EvalError::VocabMismatch(format!(
            "the base tokenizer has {} tokens, the model's {tokenizer_vocab}",
            base.tokenizer_vocab
        )));
    }
    let want = &base.chunks.tokens;
    let ctx = base.chunks.ctx;
    let first_diff = (0..want.len()).find(|&p| p % ctx != 0 && model_tokens.get(p) != Some(&want[p]));
    if let Some(p) = first_diff {
        return Err(EvalError::VocabMismatch(format!(
            "the model's tokenizer splits the text differently from the base's (token {p}: base id {}, model {})",
            want[p],
            model_tokens.get(p).map_or("none".into(), |t| t.to_string())
        )));
    }
    Ok(())
}

fn load(path: &Path, dtype: Option<DType>, backend: &str) -> Result<LoadedModel> {
    Ok(load_model(path, dtype, kernels::backend_by_name(backend)?)?)
}

/// Runs the base over the text and returns its records (not yet cached).
fn run_base(spec: &KldSpec, text: &Text, batch: usize, obs: &mut dyn Observer, t: &mut Timings) -> Result<BaseLogits> {
    let t0 = Instant::now();
    let LoadedModel { model, tokenizer } = load(&spec.base, spec.base_dtype, &spec.backend)?;
    t.load_base_s = t0.elapsed().as_secs_f64();
    let bos = tokenizer.add_bos().then(|| tokenizer.bos_id()).flatten();
    let chunks = Chunks::cut(&tokenizer.encode(&text.text, true)?, spec.ctx, spec.chunks, bos)?;
    let t1 = Instant::now();
    obs.stage("base", chunks.len());
    let recs = runner::base_records(&model, &chunks, spec.top_k, batch, tokenizer.vocab_size(), bos, obs)?;
    obs.finish_stage();
    t.base_s = t1.elapsed().as_secs_f64();
    Ok(recs)
}

/// The base's records: from the cache when it matches, else computed and cached.
fn base_logits(
    spec: &KldSpec,
    text: &Text,
    key: &CacheKey,
    path: &Path,
    batch: usize,
    obs: &mut dyn Observer,
    t: &mut Timings,
) -> Result<(BaseLogits, CacheUse)> {
    let status = match cache::load(path, key) {
        Ok(Some(b)) => return Ok((b, CacheUse::Reused)),
        Ok(None) => CacheUse::Computed,
        Err(e @ (EvalError::CacheMismatch { .. } | EvalError::CacheCorrupt { .. })) => {
            obs.note(&format!("{e}; recomputing it"));
            CacheUse::Recomputed(e.to_string())
        }
        Err(e) => return Err(e),
    };
    let b = run_base(spec, text, batch, obs, t)?;
    cache::save(path, key, &text.source, &b)?;
    Ok((b, status))
}

/// Runs a whole KLD comparison of `spec.model` against `spec.base`.
pub fn run(spec: &KldSpec, obs: &mut dyn Observer) -> Result<KldReport> {
    let t_all = Instant::now();
    check_options(spec)?;
    let (base_cfg, model_cfg) = (read_config(&spec.base)?, read_config(&spec.model)?);
    check_vocab(&base_cfg, &model_cfg)?;
    let text = spec.text.load()?;
    let batch = spec.batch.unwrap_or_else(|| runner::auto_batch(spec.ctx, base_cfg.vocab_size));
    let key = CacheKey::new(&spec.base, dtype_name(spec.base_dtype), &text.sha256, spec.ctx, spec.chunks, spec.top_k)?;
    let path = spec.cache.clone().unwrap_or_else(|| default_cache_path(&key));
    let mut t = Timings::default();
    let (base, cache_use) = base_logits(spec, &text, &key, &path, batch, obs, &mut t)?;

    let t0 = Instant::now();
    let LoadedModel { model, tokenizer } = load(&spec.model, spec.model_dtype, &spec.backend)?;
    t.load_model_s = t0.elapsed().as_secs_f64();
    check_tokens(&base, &tokenizer.encode(&text.text, true)?, tokenizer.vocab_size())?;
    let t1 = Instant::now();
    obs.stage("model", base.chunks.len());
    let scores: Vec<PositionScore> = runner::model_scores(&model, &base, batch, obs)?;
    obs.finish_stage();
    t.model_s = t1.elapsed().as_secs_f64();
    t.total_s = t_all.elapsed().as_secs_f64();
    Ok(KldReport {
        base: spec.base.display().to_string(),
        base_dtype: dtype_name(spec.base_dtype).into(),
        model: spec.model.display().to_string(),
        model_dtype: dtype_name(spec.model_dtype).into(),
        backend: model.backend().name().to_string(),
        threads: rayon::current_num_threads(),
        text_source: text.source,
        text_sha256: text.sha256,
        tokens_sha256: base.chunks.tokens_sha256(),
        ctx: spec.ctx,
        chunks: base.chunks.len(),
        tokens_per_chunk_scored: base.chunks.scored_per_chunk(),
        top_k: base.k,
        vocab: base.vocab,
        batch,
        summary: summary::summarize(&scores),
        cache_path: path.display().to_string(),
        cache: cache_use,
        timings: t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kld::chunks::Chunks;

    fn config(vocab: usize) -> ModelConfig {
        let v = serde_json::json!({
            "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
            "num_attention_heads": 4, "num_hidden_layers": 2, "rms_norm_eps": 1e-5,
            "vocab_size": vocab, "max_position_embeddings": 256
        });
        ModelConfig::from_hf_value(&v, Path::new("config.json")).unwrap()
    }

    #[test]
    fn different_vocabularies_are_refused() {
        check_vocab(&config(49152), &config(49152)).unwrap();
        let e = check_vocab(&config(49152), &config(151936)).unwrap_err();
        assert!(matches!(e, EvalError::VocabMismatch(_)));
        assert!(e.to_string().contains("the base has 49152 tokens, the model 151936"), "{e}");
    }

    #[test]
    fn token_check_names_the_first_difference() {
        let chunks = Chunks::cut(&(10..26).collect::<Vec<u32>>(), 8, None, Some(1)).unwrap();
        let base = BaseLogits::new(chunks, 4, 64, 64, Some(1));
        let same: Vec<u32> = (10..30).collect(); // chunk starts differ (BOS) and extra tokens are fine
        check_tokens(&base, &same, 64).unwrap();
        let mut other = same.clone();
        other[12] = 99;
        let e = check_tokens(&base, &other, 64).unwrap_err().to_string();
        assert!(e.contains("token 12: base id 22, model 99"), "{e}");
        let e = check_tokens(&base, &same[..10], 64).unwrap_err().to_string();
        assert!(e.contains("token 10: base id 20, model none"), "{e}");
        let e = check_tokens(&base, &same, 65).unwrap_err().to_string();
        assert!(e.contains("base tokenizer has 64 tokens, the model's 65"), "{e}");
    }
}

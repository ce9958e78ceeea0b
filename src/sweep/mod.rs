//! `qtool sweep`: quantize one model to many schemes and measure each against the base —
//! KL divergence and top-1 agreement on fixed text, perplexity, checkpoint size and bits per
//! weight, and CPU decode speed — then write one markdown report (and its JSON).
//!
//! An entry is a scheme name (`w4a16`, quantized with RTN) or `METHOD[/CALIB]:SCHEME`
//! (`gptq:w4a16-asym`, `awq:w3a16-asym`, `quarot:w4a4-kvr4`, `rtn/fortunes:kv4`): the method of
//! `qtool quantize --method`, calibrated on the named `--calib NAME=SPEC` (the first one when
//! the method needs data and no name is given; an entry without a method or calibration name
//! gets no calibration data). GPTQ runs as the study's does: act-order, static groups, MSE clip
//! search.
//!
//! Resumable: each finished scheme's row is saved as `WORK/NAME.row.json` with the settings that
//! produced it; a rerun with the same settings reuses those rows and measures only the rest.

pub mod report;

use crate::bench::model_speed::{bench_checkpoint, ModelBenchConfig};
use crate::calib::CalibSpec;
use crate::quantize::{self, QuantizeOptions};
use anyhow::Context;
use eval::kld::{KldSpec, Observer, TextSource};
use model::weights::DType;
use quant::writer::FormatOptions;
use quant::Scheme;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// The base checkpoint ("full precision"; GGUF or HF folder).
    pub base: PathBuf,
    /// Scheme names (`bf16` = the base stored in bf16).
    pub schemes: Vec<String>,
    /// Where quantized checkpoints go.
    pub work: PathBuf,
    /// KLD text.
    pub text: TextSource,
    /// KLD context.
    pub ctx: usize,
    /// KLD chunks.
    pub chunks: Option<usize>,
    /// Tokens generated per decode-speed run.
    pub gen_tokens: usize,
    /// Backend.
    pub backend: String,
    /// Named calibration sets (`--calib NAME=SPEC`), the first the default.
    pub calib: Vec<(String, CalibSpec)>,
    /// Entries whose checkpoints stay in `work` after they are measured (`all`: every one);
    /// the others are deleted once their row is saved (a 1.5B model's fake-quant checkpoint
    /// is about 3 GB, and a methods sweep has two dozen).
    pub keep: Vec<String>,
}

/// One sweep entry, parsed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The entry as written.
    pub name: String,
    /// `--method`.
    pub method: String,
    /// The calibration set, if any.
    pub calib: Option<(String, CalibSpec)>,
    /// The scheme.
    pub scheme: Scheme,
}

impl Entry {
    /// Parses `SCHEME` or `METHOD[/CALIB]:SCHEME` against the sweep's calibration sets.
    pub fn parse(name: &str, calib: &[(String, CalibSpec)]) -> anyhow::Result<Entry> {
        let (head, scheme) = match name.split_once(':') {
            Some((h, s)) => (Some(h), s),
            None => (None, name),
        };
        let scheme = Scheme::parse(scheme)?;
        let (method, calib_name) = match head.map(|h| h.split_once('/').map_or((h, None), |(m, c)| (m, Some(c)))) {
            Some((m, c)) => (m.to_string(), c),
            None => ("rtn".to_string(), None),
        };
        let recipe = crate::calib::Recipe::parse(&method).with_context(|| format!("sweep entry {name}"))?;
        let calib = match calib_name {
            Some(c) => Some(
                calib
                    .iter()
                    .find(|(n, _)| n == c)
                    .cloned()
                    .with_context(|| format!("sweep entry {name}: no --calib {c}=SPEC was given"))?,
            ),
            None if recipe.needs_calibration() => Some(
                calib
                    .first()
                    .cloned()
                    .with_context(|| format!("sweep entry {name}: --method {method} needs a --calib"))?,
            ),
            None => None,
        };
        Ok(Entry { name: name.to_string(), method, calib, scheme })
    }

    /// The file-name form of the entry (`gptq_fortunes_w4a16-asym`).
    pub fn file_name(&self) -> String {
        self.name.replace([':', '/'], "_")
    }
}

/// One scheme's measurements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepRow {
    /// Canonical scheme name.
    pub scheme: String,
    /// Checkpoint format written.
    pub format: String,
    /// Bits per weight the scheme itself costs on the Linears (codes + scales + zero points), whatever
    /// the checkpoint stores (fake-quant folders store bf16).
    pub scheme_bpw: f64,
    /// Bits per weight of the quantized Linears as stored (16 for bf16 and fake-quant folders).
    pub linear_bpw: f64,
    /// Size of the checkpoint's tensor data, bytes.
    pub checkpoint_bytes: u64,
    /// Bits per weight over every tensor.
    pub file_bpw: f64,
    /// KLD mean and its standard error.
    pub kld_mean: f64,
    /// KLD standard error.
    pub kld_se: f64,
    /// KLD median.
    pub kld_median: f64,
    /// KLD 99th percentile.
    pub kld_p99: f64,
    /// Top-1 agreement, percent.
    pub same_top_pct: f64,
    /// Perplexity of the base.
    pub ppl_base: f64,
    /// Perplexity of the model.
    pub ppl_model: f64,
    /// Decode tokens/s at batch 1.
    pub decode_tps: f64,
    /// Notes from the writer.
    pub notes: Vec<String>,
    /// Wall time of `qtool quantize` (0 for the base).
    #[serde(default)]
    pub quantize_seconds: f64,
}

struct Quiet;
impl Observer for Quiet {
    fn note(&mut self, msg: &str) {
        eprintln!("    {msg}");
    }
}

/// The settings a saved row was measured with; a row is reused only when they are all equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RowKey {
    qtool_version: String,
    base: String,
    scheme: String,
    text: String,
    ctx: usize,
    chunks: Option<usize>,
    gen_tokens: usize,
    backend: String,
    #[serde(default)]
    calib: String,
}

#[derive(Serialize, Deserialize)]
struct SavedRow {
    key: RowKey,
    row: SweepRow,
}

impl RowKey {
    /// `text_sha256`: the KLD text's hash, so an edited text file is measured again.
    fn new(cfg: &SweepConfig, e: &Entry, text_sha256: &str) -> RowKey {
        RowKey {
            qtool_version: env!("CARGO_PKG_VERSION").into(),
            base: cfg.base.display().to_string(),
            scheme: e.name.clone(),
            text: format!("{:?} sha256 {text_sha256}", cfg.text),
            ctx: cfg.ctx,
            chunks: cfg.chunks,
            gen_tokens: cfg.gen_tokens,
            backend: cfg.backend.clone(),
            calib: e.calib.as_ref().map_or(String::new(), |(n, c)| format!("{n}={c:?}")),
        }
    }
}

fn row_path(cfg: &SweepConfig, name: &str) -> PathBuf {
    cfg.work.join(format!("{name}.row.json"))
}

/// The saved row for `key`, if one exists and was measured with exactly these settings.
fn saved_row(path: &Path, key: &RowKey) -> Option<SweepRow> {
    let saved: SavedRow = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    (saved.key == *key).then_some(saved.row)
}

/// Runs the sweep; rows in the order of `cfg.schemes`. Rows saved by an earlier run with the
/// same settings are reused.
pub fn run(cfg: &SweepConfig) -> anyhow::Result<Vec<SweepRow>> {
    let mut rows = Vec::new();
    std::fs::create_dir_all(&cfg.work)
        .map_err(|e| anyhow::anyhow!("cannot create the work folder {}: {e}", cfg.work.display()))?;
    let text_sha256 = cfg.text.load()?.sha256;
    let entries: Vec<Entry> = cfg.schemes.iter().map(|n| Entry::parse(n, &cfg.calib)).collect::<anyhow::Result<_>>()?;
    for e in &entries {
        let key = RowKey::new(cfg, e, &text_sha256);
        let path = row_path(cfg, &e.file_name());
        if let Some(row) = saved_row(&path, &key) {
            eprintln!("== {}: reusing the row saved in {}", e.name, path.display());
            rows.push(row);
            continue;
        }
        let row = measure(cfg, e)?;
        let saved = serde_json::to_string_pretty(&SavedRow { key, row: row.clone() })?;
        crate::atomic::write(&path, format!("{saved}\n").as_bytes())?;
        if !cfg.keep.iter().any(|k| k == "all" || *k == e.name) {
            remove_checkpoint(&cfg.work.join(e.file_name()))?;
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Deletes a measured entry's checkpoint (a folder, or a file for GGUF); none is fine.
fn remove_checkpoint(path: &Path) -> anyhow::Result<()> {
    let r = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::anyhow!("deleting the measured checkpoint {}: {e}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The `qtool quantize` settings of a sweep entry: its method, scheme and calibration set, GPTQ
/// as the study runs it (act-order, static groups, MSE clip search), the default format, and
/// `force` (a stale output of a killed run is replaced).
pub fn quantize_options(e: &Entry, base: &Path, out: PathBuf) -> anyhow::Result<QuantizeOptions> {
    let gptq = crate::calib::Recipe::parse(&e.method)?.gptq;
    Ok(QuantizeOptions {
        model: base.to_path_buf(),
        out,
        scheme: e.scheme.clone(),
        format: None,
        format_options: FormatOptions::default(),
        method: e.method.clone(),
        smooth_alpha: quant::smooth::DEFAULT_ALPHA,
        seed: e.calib.as_ref().map_or(0, |(_, c)| c.seed),
        calib: e.calib.as_ref().map(|(_, c)| c.clone()),
        calib_holdout: 0,
        gptq: crate::quantize::GptqSettings { act_order: gptq, static_groups: gptq, ..Default::default() },
        clip_search: gptq.then(quant::ClipSearch::default),
        quantize_lm_head: false,
        force: true,
        dtype: None,
    })
}

/// Quantizes the base to one scheme and measures it.
fn measure(cfg: &SweepConfig, e: &Entry) -> anyhow::Result<SweepRow> {
    let scheme = &e.scheme;
    eprintln!("== {}: {}", e.name, scheme.describe().lines().next().unwrap_or(""));
    let mut quantize_seconds = 0.0;
    let (path, dtype, format, linear_bpw, bytes, file_bpw, notes) = if scheme.is_unquantized() && e.method == "rtn" {
        let cfg_m = eval::kld::pipeline::read_config(&cfg.base)?;
        let params = model_params(&cfg_m);
        (cfg.base.clone(), Some(DType::BF16), "base in bf16".to_string(), 16.0, params * 2, 16.0, vec![])
    } else {
        let out = cfg.work.join(e.file_name());
        let opts = quantize_options(e, &cfg.base, out)?;
        let s = quantize::run(&opts).with_context(|| format!("sweep entry {}", e.name))?;
        quantize_seconds = s.seconds;
        let st = &s.stats;
        let (lb, fb) = (st.linear_bits_per_weight(), st.file_bits_per_weight());
        (s.out.clone(), None, s.format.name().to_string(), lb, st.file_bytes(), fb, s.notes.clone())
    };
    let spec = KldSpec {
        base: cfg.base.clone(),
        base_dtype: None,
        model: path.clone(),
        model_dtype: dtype,
        backend: cfg.backend.clone(),
        text: cfg.text.clone(),
        ctx: cfg.ctx,
        chunks: cfg.chunks,
        top_k: eval::kld::DEFAULT_TOP_K,
        batch: None,
        cache: None,
    };
    let k = eval::kld::run(&spec, &mut Quiet)?;
    let bench = ModelBenchConfig {
        model: path,
        batches: vec![1],
        prompt_tokens: 64,
        gen_tokens: cfg.gen_tokens,
        repeats: 1,
        backend: cfg.backend.clone(),
    };
    let speed = bench_checkpoint(&bench, dtype, &|_| {})?;
    let sm = &k.summary;
    let row = SweepRow {
        scheme_bpw: scheme_bits_per_weight(scheme, &cfg.base)?,
        scheme: e.name.clone(),
        format,
        linear_bpw,
        checkpoint_bytes: bytes,
        file_bpw,
        kld_mean: sm.kld.mean.mean,
        kld_se: sm.kld.mean.se,
        kld_median: sm.kld.median,
        kld_p99: sm.kld.p99,
        same_top_pct: sm.same_top.mean * 100.0,
        ppl_base: sm.ppl_base.mean,
        ppl_model: sm.ppl_model.mean,
        decode_tps: speed.first().map_or(0.0, |r| r.decode_tps),
        notes,
        quantize_seconds,
    };
    eprintln!(
        "   KLD {:.5} (p99 {:.4}), top-1 {:.2}%, PPL {:.3}, {:.2} bits/w, {:.1} tok/s",
        row.kld_mean, row.kld_p99, row.same_top_pct, row.ppl_model, row.linear_bpw, row.decode_tps
    );
    Ok(row)
}

/// Codes plus a 16-bit scale (and a zero point of the code width when asymmetric) per group,
/// averaged over the model's Linears (group = the whole row for per-channel formats).
pub fn scheme_bits_per_weight(scheme: &Scheme, base: &std::path::Path) -> anyhow::Result<f64> {
    let Some(w) = &scheme.weight else { return Ok(16.0) };
    let c = eval::kld::pipeline::read_config(base)?;
    let (d, f, hd) = (c.hidden_size, c.intermediate_size, c.head_dim);
    let (q, kv) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
    // (n, k) of q, k, v, o, gate, up, down.
    let shapes = [(q, d), (kv, d), (kv, d), (d, q), (f, d), (f, d), (d, f)];
    let (mut bits, mut params) = (0f64, 0f64);
    for (n, k) in shapes {
        let groups = w.n_groups(k) as f64;
        let per_group = 16.0 + if w.symmetric() { 0.0 } else { w.bits() as f64 };
        bits += (n * k) as f64 * w.bits() as f64 + n as f64 * groups * per_group;
        params += (n * k) as f64;
    }
    Ok(bits / params)
}

/// Parameters of a decoder with this config (embeddings, layers, norms, lm_head if untied).
fn model_params(c: &model::ModelConfig) -> u64 {
    let (d, f, hd) = (c.hidden_size as u64, c.intermediate_size as u64, c.head_dim as u64);
    let (q, kv) = (c.num_attention_heads as u64 * hd, c.num_key_value_heads as u64 * hd);
    let bias = if c.attention_bias { q + 2 * kv } else { 0 };
    let layer = d * q + 2 * d * kv + q * d + 3 * d * f + 2 * d + bias;
    let emb = c.vocab_size as u64 * d;
    emb * if c.tie_word_embeddings { 1 } else { 2 } + layer * c.num_hidden_layers as u64 + d
}

#[cfg(test)]
mod tests {
    use super::remove_checkpoint;

    #[test]
    fn measured_checkpoints_are_removed_whether_folder_file_or_absent() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("rtn_w4a16");
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        std::fs::write(folder.join("sub/model.safetensors"), b"x").unwrap();
        let file = dir.path().join("rtn_w4a16.gguf");
        std::fs::write(&file, b"GGUF").unwrap();
        remove_checkpoint(&folder).unwrap();
        remove_checkpoint(&file).unwrap();
        remove_checkpoint(&dir.path().join("never_written")).unwrap();
        assert!(!folder.exists() && !file.exists());
        assert!(dir.path().exists(), "only the checkpoint goes");
    }
}

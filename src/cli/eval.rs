//! `qtool eval`: answer benchmark tasks with a model and grade them. Results go to
//! `<out>/results.jsonl` (one line per (task, seed, item), all tasks in one file, appended as
//! each answer finishes; rerunning the same command resumes) and the summary table to stdout
//! and `<out>/summary.md`.

use super::eval_progress::Bar;
use anyhow::Context;
use eval::runner::{self, EvalSettings, LocalGenerator};
use model::weights::DType;
use std::path::PathBuf;
use std::time::Instant;

/// Flags of `qtool eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Checkpoint: a GGUF file or a Hugging Face folder (an `--endpoint` runner comes later).
    #[arg(long)]
    pub model: PathBuf,
    /// Comma-separated tasks: gsm8k, math500 (MMATH subset, 311 problems), aime24, aime25, aime,
    /// gpqa, humaneval, mmath-<lang> (ar en es fr ja ko pt th vi zh).
    #[arg(long)]
    pub tasks: String,
    /// Comma-separated sampling seeds [default: 42,43,44; 42 alone with --greedy].
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Greedy decoding instead of the study's sampling (temperature 0.6, top-p 0.95).
    #[arg(long)]
    pub greedy: bool,
    /// Sampling temperature (ignored with --greedy).
    #[arg(long, default_value_t = runner::STUDY_TEMPERATURE)]
    pub temperature: f32,
    /// Nucleus threshold.
    #[arg(long, default_value_t = runner::STUDY_TOP_P)]
    pub top_p: f32,
    /// Keep the k most likely tokens (0 = off; the study uses 30 for QwQ).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Only the first N items of each task.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Most tokens per answer, clamped to the model's context.
    #[arg(long, default_value_t = runner::STUDY_MAX_NEW_TOKENS)]
    pub max_new_tokens: usize,
    /// Most sequences in flight (continuous batching).
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Backend: cpu, ref, cpu-v1, cpu-v2, cpu-portable.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Weight dtype in memory (default: as stored).
    #[arg(long, value_parser = ["f32", "bf16", "f16"])]
    pub dtype: Option<String>,
    /// Output folder [default: runs/eval-<model name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Assets folder [default: $QTOOL_ASSETS, else ./assets].
    #[arg(long)]
    pub assets: Option<PathBuf>,
}

/// Runs `qtool eval`.
pub fn run(a: Args) -> anyhow::Result<()> {
    let seeds = match (a.seeds.is_empty(), a.greedy) {
        (false, _) => a.seeds.clone(),
        (true, true) => vec![runner::STUDY_SEEDS[0]],
        (true, false) => runner::STUDY_SEEDS.to_vec(),
    };
    let settings = EvalSettings {
        seeds,
        temperature: if a.greedy { 0.0 } else { a.temperature },
        top_p: if a.greedy { 1.0 } else { a.top_p },
        top_k: if a.greedy { 0 } else { a.top_k },
        limit: a.limit,
        max_new_tokens: a.max_new_tokens,
    };
    settings.validate()?;
    if a.batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }
    let assets = super::assets::resolve_dir(a.assets.clone());
    let tasks = eval::tasks::parse_task_list(&a.tasks)?
        .iter()
        .map(|name| eval::tasks::load_task(name, &assets))
        .collect::<Result<Vec<_>, _>>()?;
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = a.model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        PathBuf::from("runs").join(format!("eval-{stem}"))
    });

    // Read back earlier results before the (slow) model load, so a corrupt file fails at once.
    let results = out.join("results.jsonl");
    let opened = runner::ResultsFile::open(&results)?;

    let dtype = a.dtype.as_deref().and_then(DType::parse);
    let loaded = model::load::load_model(&a.model, dtype, kernels::backend_by_name(&a.backend)?)
        .with_context(|| format!("loading {}", a.model.display()))?;
    let mut generator =
        LocalGenerator::new(loaded.model, loaded.tokenizer, a.batch, &a.model.display().to_string(), &a.backend)?;

    let mut bar = Bar::default();
    let t0 = Instant::now();
    let records = runner::run_eval(&mut generator, &tasks, &settings, opened, &mut bar)?;
    let wall = t0.elapsed().as_secs_f64();
    bar.finish();

    let table = runner::render_table(&runner::summarize(&records));
    println!("{table}");
    let new_tokens = bar.generated_tokens();
    println!(
        "{} answers ({} new) in {wall:.1} s: {new_tokens} tokens generated, {:.1} tok/s with up to {} sequences in flight ({} backend, {} threads)",
        records.len(),
        bar.new_items(),
        new_tokens as f64 / wall.max(1e-9),
        a.batch,
        a.backend,
        rayon::current_num_threads()
    );
    println!("results: {}", results.display());
    let summary = format!("# qtool eval\n\n`{}`\n\n{table}", super::command_line());
    crate::atomic::write(&out.join("summary.md"), summary.as_bytes())?;
    Ok(())
}

//! `qtool eval`: answer benchmark tasks with a model and grade them. Results go to
//! `<out>/results.jsonl` (one line per (task, seed, item), all tasks in one file, appended as
//! each answer finishes; rerunning the same command resumes) and the summary table to stdout
//! and `<out>/summary.md`. The engine is the in-process model (`--model`) or any
//! OpenAI-compatible server (`--endpoint`, e.g. `qtool serve` or vLLM), with the same prompts,
//! graders and results file.

use super::eval_progress::Bar;
use anyhow::Context;
use eval::runner::{self, EvalSettings, Generator, HttpGenerator, HttpSettings, LocalGenerator};
use model::weights::DType;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Flags of `qtool eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Checkpoint: a GGUF file or a Hugging Face folder, run in process.
    #[arg(long, required_unless_present = "endpoint", conflicts_with = "endpoint")]
    pub model: Option<PathBuf>,
    /// An OpenAI-compatible server's base URL instead of --model (`http://HOST:PORT/v1`;
    /// `qtool serve`, vLLM, llama.cpp's server). Plain HTTP only.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Evaluate --model through an external OpenAI-compatible server that qtool starts from
    /// this launch template, waits for, and stops at the end: `{gguf}` / `{hf}` / `{model}` is
    /// the --model path, `{port}` a free loopback port, `{host}` 127.0.0.1; run without a shell.
    /// E.g. `--serve 'llama-server -m {gguf} --port {port} --parallel 16 -c 32768'` or
    /// `--serve 'vllm serve {hf} --port {port}'`. Its output goes to <out>/server.log.
    #[arg(long, requires = "model", conflicts_with = "endpoint")]
    pub serve: Option<String>,
    /// Seconds the --serve server may take to start answering.
    #[arg(long, default_value_t = 600, requires = "serve")]
    pub serve_timeout: u64,
    /// The served model's name (with --endpoint or --serve) [default: the only one the server
    /// lists].
    #[arg(long)]
    pub served_model: Option<String>,
    /// Most requests in flight (with --endpoint).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seconds one request may take before it is retried (with --endpoint).
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// Retries of a request after a connection error, timeout, 429 or 5xx, with exponential
    /// backoff from 0.5 s (with --endpoint).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
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
    /// Backend: auto (the fast CPU path: int8 activations for GGML-block and int2/3/4/8 packed weights, as
    /// llama.cpp does; today cpu-q8), cpu (exact f32, the reference twin), cpu-q8, ref, cpu-v1,
    /// cpu-v2, cpu-v3, cpu-portable; wgsl, wgsl-gemv, wgsl-tiled (built with
    /// --features wgpu); cuda, cuda-wide, cuda-tuned, cuda-simple (built with --features cuda).
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Weight dtype in memory (default: as stored).
    #[arg(long, value_parser = ["f32", "bf16", "f16"])]
    pub dtype: Option<String>,
    /// What the KV cache stores K/V rows as: f32, or f16 (half the memory for long reasoning
    /// traces; each value rounded to f16 once, as llama.cpp's default cache does).
    #[arg(long, value_parser = ["f32", "f16"], default_value = "f32")]
    pub kv_cache_dtype: String,
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
        command: Some(super::command_line()),
    };
    settings.validate()?;
    if !(1..=super::MAX_BATCH).contains(&a.batch) {
        anyhow::bail!("--batch {} must be from 1 to {}", a.batch, super::MAX_BATCH);
    }
    let assets = super::assets::resolve_dir(a.assets.clone());
    let tasks = eval::tasks::parse_task_list(&a.tasks)?
        .iter()
        .map(|name| eval::tasks::load_task(name, &assets))
        .collect::<Result<Vec<_>, _>>()?;
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = match (&a.model, &a.served_model) {
            (Some(m), _) => m.file_stem().map(|s| s.to_string_lossy().into_owned()),
            (None, Some(name)) => Some(name.replace(['/', '\\'], "_")),
            (None, None) => Some("endpoint".into()),
        };
        PathBuf::from("runs").join(format!("eval-{}", stem.unwrap_or_else(|| "model".into())))
    });

    // One run per output folder, held until this run ends (the OS releases it if it is killed).
    let _lock = runner::RunLock::acquire(&out, &super::command_line())?;
    // Read back earlier results before the (slow) model load, so a corrupt file fails at once.
    let results = out.join("results.jsonl");
    let opened = runner::ResultsFile::open(&results)?;

    // With --serve: the external server, kept alive (and stopped on drop) for the whole run.
    let mut server = None;
    let endpoint = match (&a.serve, &a.model) {
        (Some(template), Some(path)) => {
            let vars = if path.is_dir() {
                crate::external::LaunchVars { gguf: None, hf: Some(path.clone()) }
            } else {
                crate::external::LaunchVars { gguf: Some(path.clone()), hf: None }
            };
            std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let log = out.join("server.log");
            eprintln!("starting `{template}` (log: {})", log.display());
            let s = crate::external::ExternalServer::start(
                template,
                &vars,
                &log,
                Duration::from_secs(a.serve_timeout.max(1)),
            )?;
            eprintln!("server ready at {} (`{}`)", s.endpoint(), s.command());
            let e = s.endpoint().to_string();
            server = Some(s);
            Some(e)
        }
        _ => a.endpoint.clone(),
    };
    let model = if a.serve.is_some() { None } else { a.model.clone() };
    let (mut generator, in_flight): (Box<dyn Generator>, usize) = match (&model, &endpoint) {
        (Some(path), _) => {
            let dtype = a.dtype.as_deref().and_then(DType::parse);
            let mut loaded = model::load::load_model(path, dtype, kernels::backend_by_name(&a.backend)?)
                .with_context(|| format!("loading {}", path.display()))?;
            loaded.model.kv_cache_dtype = super::kv_cache_dtype(&a.kv_cache_dtype)?;
            let backend = loaded.model.backend().name();
            let g = LocalGenerator::new(loaded.model, loaded.tokenizer, a.batch, &path.display().to_string(), backend)?;
            (Box::new(g), a.batch)
        }
        (None, Some(endpoint)) => {
            let g = HttpGenerator::new(HttpSettings {
                endpoint: endpoint.clone(),
                model: a.served_model.clone(),
                concurrency: a.concurrency,
                timeout: Duration::from_secs(a.timeout.max(1)),
                retries: a.retries,
                backoff: Duration::from_millis(500),
            })?;
            (Box::new(g), a.concurrency)
        }
        (None, None) => anyhow::bail!("give --model or --endpoint"),
    };
    let engine = generator.info();

    let mut bar = Bar::default();
    let t0 = Instant::now();
    let records = runner::run_eval(generator.as_mut(), &tasks, &settings, opened, &mut bar);
    let wall = t0.elapsed().as_secs_f64();
    bar.finish();
    // A server that died mid-run explains the failed requests better than they do.
    if let Some(s) = server.as_mut() {
        s.check_alive().context("the --serve server")?;
    }
    let records = records?;
    drop(server);

    let table = runner::render_table(&runner::summarize(&records));
    println!("{table}");
    let new_tokens = bar.generated_tokens();
    println!(
        "{} answers ({} new) in {wall:.1} s: {new_tokens} tokens generated, {:.1} tok/s with up to {} sequences in flight ({} backend, {} threads)",
        records.len(),
        bar.new_items(),
        new_tokens as f64 / wall.max(1e-9),
        in_flight,
        engine.backend,
        rayon::current_num_threads()
    );
    println!("results: {}", results.display());
    let log = eval::report::runs::RunLog {
        answers: records.len(),
        new_answers: bar.new_items(),
        wall_s: wall,
        gen_tokens: new_tokens as u64,
        in_flight,
        backend: engine.backend.to_string(),
        threads: rayon::current_num_threads(),
        command: super::command_line(),
        load_avg: eval::report::runs::load_avg(),
    };
    eval::report::runs::append_run(&out, &log)
        .with_context(|| format!("appending to {}", out.join("runs.jsonl").display()))?;
    let summary = format!("# qtool eval\n\n`{}`\n\n{table}", super::command_line());
    crate::atomic::write(&out.join("summary.md"), summary.as_bytes())?;
    Ok(())
}

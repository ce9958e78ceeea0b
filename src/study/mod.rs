//! `qtool study`: the whole study in one resumable command. For each configuration (`base`, or a
//! sweep entry `METHOD[/CALIB]:SCHEME`): quantize once into `DIR/ckpt/NAME`, measure KLD and
//! top-1 agreement against the base on fixed text, answer the benchmark items into
//! `DIR/NAME/results.jsonl`, and regenerate `DIR/report.md`.
//!
//! Resumable at any point: every output is written atomically or appended a whole line at a
//! time, a rerun reads the folder back (`reconcile`) and does only what is missing, and the
//! answers depend on (seed, item) only, so a study killed anywhere and restarted with the same
//! command ends with the same results as an uninterrupted one. `study.json` (the manifest)
//! records the settings, and a rerun with other settings is refused with the differences; a
//! lock keeps a second study off the folder. Calibration is checked disjoint from every
//! evaluated item before anything runs.
//!
//! Modules: `plan` (configurations, `--matrix paper`), `settings` and `fingerprint` (what the
//! results depend on), `manifest` (`study.json`), `lock`, `overlap` (calibration vs evaluation),
//! `layout` (file names), `checkpoint`, `kld_stage`, `evaluate` (the generator seam),
//! `config_run` (one configuration's stages),
//! `progress` (bars), `status` (`--status`), `report` (`--report`).

pub mod checkpoint;
pub mod config_run;
pub mod evaluate;
pub mod fingerprint;
pub mod kld_stage;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod overlap;
pub mod plan;
pub mod progress;
pub mod report;
pub mod settings;
pub mod status;

use crate::calib::{CalibSource, CalibSpec};
use anyhow::Context;
use eval::runner::EvalSettings;
use eval::tasks::Task;
use evaluate::{answered, wanted, Engine};
use fingerprint::Fingerprinter;
use kld_stage::KldSettings;
use layout::Layout;
use manifest::{ConfigState, Manifest, Stage};
use plan::{Configuration, Matrix};
use progress::Bars;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Everything `qtool study` was asked to do.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    /// The model as given (GGUF file or HF folder).
    pub model: PathBuf,
    /// `--configs`.
    pub configs: Vec<String>,
    /// `--matrix`.
    pub matrix: Option<Matrix>,
    /// Task names.
    pub tasks: Vec<String>,
    /// The assets folder.
    pub assets: PathBuf,
    /// Sampling seeds.
    pub seeds: Vec<u64>,
    /// Temperature (0: greedy).
    pub temperature: f32,
    /// Nucleus threshold.
    pub top_p: f32,
    /// Top-k (0: off).
    pub top_k: usize,
    /// `--limit`.
    pub limit: Option<usize>,
    /// `--items`.
    pub items: Option<PathBuf>,
    /// Most new tokens per answer.
    pub max_new_tokens: usize,
    /// Most sequences in flight.
    pub batch: usize,
    /// Backend.
    pub backend: String,
    /// Answer through an external server started per configuration instead of in process.
    pub serve: Option<evaluate::ServeSettings>,
    /// Calibration sets.
    pub calib: Vec<(String, CalibSpec)>,
    /// KLD text, ctx, chunks.
    pub kld: KldSettings,
    /// Keep every checkpoint after its configuration is done.
    pub keep_checkpoints: bool,
    /// The study folder.
    pub out: PathBuf,
    /// The command line.
    pub command: String,
}

/// The calibration sets the configurations use, each once.
fn used_calibration(configs: &[Configuration]) -> Vec<(String, CalibSpec)> {
    let mut used: Vec<(String, CalibSpec)> = Vec::new();
    for (name, spec) in configs.iter().filter_map(|c| c.entry.as_ref()?.calib.as_ref()) {
        if !used.iter().any(|(n, _)| n == name) {
            used.push((name.clone(), spec.clone()));
        }
    }
    used
}

/// A configuration's stage as its files show it (the manifest's timings are kept).
fn reconcile(
    layout: &Layout,
    c: &Configuration,
    model: &Path,
    keys: &HashSet<(String, u64, String)>,
    state: &mut ConfigState,
) -> anyhow::Result<()> {
    state.answers_total = keys.len();
    state.answers_done = answered(&layout.results(c), keys)?;
    let ckpt = checkpoint::recorded(layout, c).is_some();
    let kld = kld_stage::recorded(layout, c).is_some();
    state.stage = if ckpt && kld && state.answers_done == state.answers_total {
        Stage::Done
    } else if kld && state.answers_done > 0 {
        Stage::Evaluating
    } else if kld {
        Stage::KldDone
    } else if checkpoint::complete(layout, c, model).is_some() {
        Stage::Quantized
    } else {
        Stage::Pending
    };
    Ok(())
}

fn check_options(o: &StudyOptions) -> anyhow::Result<()> {
    if !o.model.exists() {
        anyhow::bail!("--model {}: no such file or folder", o.model.display());
    }
    if o.seeds.is_empty() {
        anyhow::bail!("--seeds is empty; give at least one seed");
    }
    if o.batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }
    if o.max_new_tokens == 0 {
        anyhow::bail!("--max-new-tokens must be at least 1");
    }
    if o.kld.chunks == 0 || o.kld.ctx < 4 {
        anyhow::bail!("--kld-ctx must be at least 4 and --kld-chunks at least 1");
    }
    Ok(())
}

/// Loads the tasks and cuts them to the evaluated items.
fn load_tasks(o: &StudyOptions) -> anyhow::Result<Vec<Task>> {
    let names = eval::tasks::parse_task_list(&o.tasks.join(","))?;
    let tasks = names.iter().map(|n| eval::tasks::load_task(n, &o.assets)).collect::<Result<Vec<_>, _>>()?;
    evaluate::select_items(tasks, o.limit, o.items.as_deref())
}

/// The manifest for this run: the recorded one (same settings required) or a new one, with
/// every configuration's stage read back from the folder.
fn open_manifest(
    o: &StudyOptions,
    layout: &Layout,
    configs: &[Configuration],
    tasks: &[Task],
    skipped: Vec<String>,
) -> anyhow::Result<Manifest> {
    let previous = Manifest::load(&o.out)?;
    let mut fp = Fingerprinter::new(previous.as_ref().map_or(Vec::new(), |m| m.files.clone()));
    let now = settings::collect(o, configs, tasks, &mut fp)?;
    let mut m = match previous {
        Some(m) => {
            let diff = settings::differences(&m.settings, &now);
            if !diff.is_empty() {
                anyhow::bail!(
                    "{} holds a study with other settings, which would mix results: {}. Rerun with the recorded \
                     settings to resume (`qtool study --status {}` shows the study; its commands are in {}), or use \
                     another --out",
                    o.out.display(),
                    diff.join("; "),
                    o.out.display(),
                    o.out.join(manifest::MANIFEST).display()
                );
            }
            m
        }
        None => Manifest {
            commands: Vec::new(),
            settings: now.clone(),
            batch: o.batch,
            skipped,
            files: Vec::new(),
            configs: configs.iter().map(|c| ConfigState::new(&c.name, 0)).collect(),
        },
    };
    if !m.commands.contains(&o.command) {
        m.commands.push(o.command.clone());
    }
    m.batch = o.batch;
    m.files = fp.stamps;
    let keys = wanted(tasks, &o.seeds);
    for c in configs {
        if m.config_mut(&c.name).is_none() {
            m.configs.push(ConfigState::new(&c.name, 0));
        }
        let state = m.config_mut(&c.name).context("configuration state")?;
        reconcile(layout, c, &o.model, &keys, state)?;
    }
    Ok(m)
}

/// Runs (or resumes) the study.
pub fn run(o: &StudyOptions) -> anyhow::Result<()> {
    check_options(o)?;
    let model_config = eval::kld::pipeline::read_config(&o.model)
        .with_context(|| format!("reading the architecture of {}", o.model.display()))?;
    let (configs, skipped) = plan::configurations(&o.configs, o.matrix, &o.calib, &model_config)?;
    let tasks = load_tasks(o)?;
    overlap::check_disjoint(&used_calibration(&configs), &tasks)?;
    let _lock = lock::StudyLock::acquire(&o.out)?;
    let layout = Layout { dir: o.out.clone(), gguf_checkpoints: o.serve.as_ref().is_some_and(|s| s.wants_gguf()) };
    let mut m = open_manifest(o, &layout, &configs, &tasks, skipped)?;
    m.save(&o.out)?;
    for s in &m.skipped {
        eprintln!("note: left out of --matrix paper: {s}");
    }
    let total: usize = m.configs.iter().map(|c| c.answers_total).sum();
    let done: usize = m.configs.iter().map(|c| c.answers_done).sum();
    let bars = Bars::new(total as u64, done as u64);
    let engine = match &o.serve {
        Some(s) => Engine::Served(s.clone()),
        None => Engine::InProcess { backend: o.backend.clone(), batch: o.batch },
    };
    let eval_settings = EvalSettings {
        seeds: o.seeds.clone(),
        temperature: o.temperature,
        top_p: o.top_p,
        top_k: o.top_k,
        limit: None,
        max_new_tokens: o.max_new_tokens,
        command: Some(o.command.clone()),
    };
    for (k, c) in configs.iter().enumerate() {
        bars.config(k + 1, configs.len(), &c.name);
        let run = config_run::ConfigRun {
            o,
            layout: &layout,
            bars: &bars,
            engine: &engine,
            tasks: &tasks,
            eval: &eval_settings,
            configs: &configs,
        };
        run.run(c, &mut m).with_context(|| format!("configuration {}", c.name))?;
        if !o.keep_checkpoints {
            checkpoint::remove(&layout, c)?;
        }
    }
    bars.finish();
    let path = report::write(&layout, &m, &configs, &o.model)?;
    print!("{}", report::summary(&layout, &configs, &tasks)?);
    println!("report: {}", path.display());
    Ok(())
}

/// `qtool study --report DIR`: the report of the study in `dir`, from its files.
pub fn write_report(dir: &Path) -> anyhow::Result<PathBuf> {
    let Some(m) = Manifest::load(dir)? else {
        anyhow::bail!("{} holds no study (no study.json)", dir.display());
    };
    let calib = m
        .settings
        .calib
        .iter()
        .map(|c| {
            let source = CalibSource::parse(&c.source)?;
            Ok((c.name.clone(), CalibSpec { source, n_samples: c.samples, seqlen: c.seqlen, seed: c.seed }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let configs: Vec<Configuration> =
        m.settings.configs.iter().map(|n| Configuration::parse(n, &calib)).collect::<anyhow::Result<_>>()?;
    let layout = Layout { dir: dir.to_path_buf(), gguf_checkpoints: false };
    report::write(&layout, &m, &configs, Path::new(&m.settings.model))
}

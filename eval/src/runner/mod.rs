//! Running benchmark tasks through a [`Generator`] and recording every graded answer.
//!
//! [`run_eval`] lists the (task, seed, item) jobs, skips those already in the results JSONL
//! (resume), hands the rest to the generator in one stream (so the in-process engine keeps
//! its batch full across task and seed boundaries), grades each completion as it arrives and
//! appends it to the file at once. Every item samples from the stream `(seed, hash(item id))`,
//! so a run killed and restarted with the same command ends with the same records as an
//! uninterrupted one.
//!
//! Modules: `generator` (the engine trait), `batcher` (the continuous-batching step loop),
//! `local` (in-process engine), `http` (client of an OpenAI-compatible server),
//! `record` (one JSONL line), `results_file` (read back, truncate a partial line, append),
//! `lock` (one run per output folder),
//! `summary` (the table), `progress` (observer).

pub mod batcher;
pub mod generator;
pub mod http;
pub mod local;
pub mod lock;
pub mod progress;
pub mod record;
pub mod results_file;
pub mod summary;

#[cfg(test)]
mod tests;

pub use generator::{EngineInfo, Finish, GenOutput, GenRequest, Generator};
pub use http::{HttpGenerator, HttpSettings};
pub use local::LocalGenerator;
pub use lock::RunLock;
pub use progress::{Progress, Quiet};
pub use record::{count_steps, Record, RunConfig};
pub use results_file::{Existing, ResultsFile};
pub use summary::{render_table, summarize, SummaryRow};

use crate::error::{EvalError, Result};
use crate::tasks::{item_stream, Task};
use model::sampler::SamplingParams;
use std::collections::HashSet;

/// The study's sampling: temperature 0.6, top-p 0.95.
pub const STUDY_TEMPERATURE: f32 = 0.6;
/// The study's nucleus threshold.
pub const STUDY_TOP_P: f32 = 0.95;
/// The study's seeds.
pub const STUDY_SEEDS: [u64; 3] = [42, 43, 44];
/// The study's output budget.
pub const STUDY_MAX_NEW_TOKENS: usize = 32768;

/// What to run.
#[derive(Debug, Clone)]
pub struct EvalSettings {
    /// Seeds; each item is answered once per seed.
    pub seeds: Vec<u64>,
    /// Temperature (0 = greedy).
    pub temperature: f32,
    /// Nucleus threshold.
    pub top_p: f32,
    /// Top-k (0 = off).
    pub top_k: usize,
    /// Only the first `limit` items of each task.
    pub limit: Option<usize>,
    /// Most generated tokens per answer (clamped to the context by the engine).
    pub max_new_tokens: usize,
    /// The command line that ran this, recorded with every new answer (for reports).
    pub command: Option<String>,
}

impl EvalSettings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EvalError::BadOption(m));
        if self.seeds.is_empty() {
            return bad("--seeds is empty; give at least one seed".into());
        }
        if self.limit == Some(0) {
            return bad("--limit 0 selects no items; give at least 1 (or leave it out for all items)".into());
        }
        if self.max_new_tokens == 0 {
            return bad("--max-new-tokens must be at least 1".into());
        }
        let sampling = SamplingParams { temperature: self.temperature, top_p: self.top_p, top_k: self.top_k, seed: 0 };
        sampling.validate().map_err(EvalError::BadOption)?;
        Ok(())
    }
}

/// A job: one item of one task under one seed.
struct Job<'a> {
    task: &'a Task,
    item: usize,
    seed: u64,
    posed: crate::tasks::Posed,
}

/// Runs `tasks` under `settings` through `generator`, appending to the results JSONL opened by
/// [`ResultsFile::open`] (with what it found there); returns the records of every requested job
/// (those found in the file and the new ones), in job order.
pub fn run_eval(
    generator: &mut dyn Generator,
    tasks: &[Task],
    settings: &EvalSettings,
    opened: (ResultsFile, Existing),
    progress: &mut dyn Progress,
) -> Result<Vec<Record>> {
    settings.validate()?;
    let (mut file, existing) = opened;
    let results = file.path().to_path_buf();
    let config = RunConfig {
        engine: generator.info(),
        temperature: settings.temperature,
        top_p: settings.top_p,
        top_k: settings.top_k,
        max_new_tokens: settings.max_new_tokens,
    };
    if existing.truncated_bytes > 0 {
        progress.note(&format!(
            "{}: cut away a partial last line ({} bytes) left by an interrupted run",
            results.display(),
            existing.truncated_bytes
        ));
    }
    if let Some(other) = existing.records.iter().find(|r| r.config != config) {
        return Err(EvalError::BadOption(format!(
            "{} holds results of another configuration ({}); resume needs the same model, backend, sampling and \
             --max-new-tokens: use another --out",
            results.display(),
            config_difference(&other.config, &config)
        )));
    }

    let mut jobs = Vec::new();
    for task in tasks {
        let n = settings.limit.map_or(task.items.len(), |l| l.min(task.items.len()));
        for &seed in &settings.seeds {
            for (i, item) in task.items[..n].iter().enumerate() {
                jobs.push(Job { task, item: i, seed, posed: task.pose(item, seed) });
            }
        }
    }
    let key = |j: &Job| (j.task.name.clone(), j.seed, j.task.items[j.item].id.clone());
    let wanted: HashSet<_> = jobs.iter().map(key).collect();
    let mut found: std::collections::HashMap<_, Record> =
        existing.records.into_iter().filter(|r| wanted.contains(&r.key())).map(|r| (r.key(), r)).collect();
    progress.start(jobs.len(), found.len());
    if !found.is_empty() {
        progress.note(&format!("resuming: {} of {} answers already in {}", found.len(), jobs.len(), results.display()));
    }

    let requests: Vec<GenRequest> = jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| !found.contains_key(&key(j)))
        .map(|(k, j)| GenRequest {
            key: k,
            user: j.posed.user.clone(),
            sampling: SamplingParams {
                temperature: settings.temperature,
                top_p: settings.top_p,
                top_k: settings.top_k,
                seed: j.seed,
            },
            stream: item_stream(&j.task.items[j.item].id),
            max_new_tokens: settings.max_new_tokens,
        })
        .collect();
    generator.generate(requests, &mut |out: GenOutput| {
        let j = &jobs[out.key];
        let item = &j.task.items[j.item];
        let verdict = j.task.grade(item, j.seed, &out.text);
        let record = Record {
            config: config.clone(),
            task: j.task.name.clone(),
            seed: j.seed,
            id: item.id.clone(),
            prompt_tokens: out.prompt_tokens,
            steps: count_steps(&out.text),
            response: out.text,
            extracted: verdict.extracted,
            source: verdict.source.map(str::to_string),
            correct: verdict.correct,
            gen_tokens: out.gen_tokens,
            finish: out.finish,
            secs: out.secs,
            command: settings.command.clone(),
        };
        file.append(&record)?;
        progress.finished(&record);
        found.insert(record.key(), record);
        Ok(())
    })?;
    Ok(jobs.iter().filter_map(|j| found.remove(&key(j))).collect())
}

fn config_difference(a: &RunConfig, b: &RunConfig) -> String {
    let a = serde_json::to_value(a).expect("serializes");
    let b = serde_json::to_value(b).expect("serializes");
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return String::new() };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} in the file, {} now", b.get(k).cloned().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("; ")
}

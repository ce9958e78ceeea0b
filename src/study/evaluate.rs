//! A configuration's evaluation. [`evaluate`] is the one place answers are produced: it takes
//! any [`Generator`] and runs `eval::runner::run_eval` into the configuration's
//! `results.jsonl` (which resumes per item). The generator is the in-process engine
//! ([`Engine::InProcess`]) or an external OpenAI-compatible server (llama.cpp's
//! `llama-server`, vLLM, `qtool serve`) that [`Engine::Served`] starts from a launch template
//! on the configuration's checkpoint, evaluates through and stops ([`crate::external`]).
//!
//! Also here: which items a study evaluates (`--limit` or `--items FILE`), and how many of a
//! configuration's answers are already in its file.

use crate::external::{ExternalServer, LaunchVars};
use anyhow::Context;
use eval::runner::{
    EngineInfo, EvalSettings, GenOutput, GenRequest, Generator, HttpGenerator, HttpSettings, LocalGenerator, Progress,
    Record, ResultsFile,
};
use eval::tasks::Task;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// What generates a configuration's answers.
#[derive(Debug, Clone)]
pub enum Engine {
    /// The checkpoint loaded in this process, continuous batching.
    InProcess {
        /// Backend name.
        backend: String,
        /// Most sequences in flight.
        batch: usize,
    },
    /// An external server per configuration.
    Served(ServeSettings),
}

/// How to start and use an external server (`qtool study --serve`).
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// The launch template (see [`crate::external`]).
    pub template: String,
    /// Most requests in flight.
    pub concurrency: usize,
    /// Seconds the server may take to come up.
    pub startup_timeout: u64,
    /// Where the servers' output goes (appended, one file for the study).
    pub log: std::path::PathBuf,
}

impl ServeSettings {
    /// Whether the template serves a GGUF file (`{gguf}`), so checkpoints are written as GGUF.
    pub fn wants_gguf(&self) -> bool {
        self.template.contains("{gguf}")
    }
}

/// An [`HttpGenerator`] on a server this process started; the server stops when this drops.
struct Served {
    http: HttpGenerator,
    server: ExternalServer,
}

impl Generator for Served {
    fn info(&self) -> EngineInfo {
        self.http.info()
    }

    fn generate(
        &mut self,
        requests: Vec<GenRequest>,
        on_done: &mut dyn FnMut(GenOutput) -> eval::Result<()>,
    ) -> eval::Result<()> {
        let r = self.http.generate(requests, on_done);
        // A server that died explains failed requests better than they do.
        if let Err(e) = self.server.check_alive() {
            return Err(eval::EvalError::Endpoint { url: self.server.endpoint().to_string(), what: format!("{e:#}") });
        }
        r
    }
}

impl Engine {
    /// A generator for the checkpoint at `path`, labelled `label` in the results.
    pub fn open(&self, path: &Path, label: &str) -> anyhow::Result<Box<dyn Generator>> {
        match self {
            Engine::InProcess { backend, batch } => {
                let loaded = model::load::load_model(path, None, kernels::backend_by_name(backend)?)
                    .with_context(|| format!("loading {}", path.display()))?;
                let name = loaded.model.backend().name();
                Ok(Box::new(LocalGenerator::new(loaded.model, loaded.tokenizer, *batch, label, name)?))
            }
            Engine::Served(s) => {
                let vars = if path.is_dir() {
                    LaunchVars { gguf: None, hf: Some(path.to_path_buf()) }
                } else {
                    LaunchVars { gguf: Some(path.to_path_buf()), hf: None }
                };
                let server =
                    ExternalServer::start(&s.template, &vars, &s.log, Duration::from_secs(s.startup_timeout.max(1)))?;
                eprintln!("server ready at {} (`{}`)", server.endpoint(), server.command());
                let http = HttpGenerator::new(HttpSettings {
                    endpoint: server.endpoint().to_string(),
                    model: None,
                    concurrency: s.concurrency,
                    timeout: Duration::from_secs(3600),
                    retries: 3,
                    backoff: Duration::from_millis(500),
                })?;
                Ok(Box::new(Served { http, server }))
            }
        }
    }
}

/// Answers `tasks` under `settings` with `generator` into `results` (resuming what is there).
pub fn evaluate(
    generator: &mut dyn Generator,
    tasks: &[Task],
    settings: &EvalSettings,
    results: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<Record>> {
    let opened = ResultsFile::open(results)?;
    Ok(eval::runner::run_eval(generator, tasks, settings, opened, progress)?)
}

/// The (task, seed, item) keys a configuration must answer.
pub fn wanted(tasks: &[Task], seeds: &[u64]) -> HashSet<(String, u64, String)> {
    let mut keys = HashSet::new();
    for t in tasks {
        for &seed in seeds {
            keys.extend(t.items.iter().map(|i| (t.name.clone(), seed, i.id.clone())));
        }
    }
    keys
}

/// The complete records of `results` (none if it does not exist), read-only.
pub fn read_results(results: &Path) -> anyhow::Result<Vec<Record>> {
    if !results.exists() {
        return Ok(Vec::new());
    }
    Ok(eval::report::load::read_records(results)?.0)
}

/// How many of the wanted answers `results` holds.
pub fn answered(results: &Path, wanted: &HashSet<(String, u64, String)>) -> anyhow::Result<usize> {
    let keys: HashSet<_> = read_results(results)?.into_iter().map(|r| r.key()).filter(|k| wanted.contains(k)).collect();
    Ok(keys.len())
}

/// The tasks cut to the evaluated items: the first `limit` of each, or the ids listed in
/// `items` (one per line, `#` comments; each must belong to one of the tasks), in task order.
pub fn select_items(mut tasks: Vec<Task>, limit: Option<usize>, items: Option<&Path>) -> anyhow::Result<Vec<Task>> {
    if let Some(n) = limit {
        if n == 0 {
            anyhow::bail!("--limit 0 selects no items; give at least 1 (or leave it out for all items)");
        }
        for t in &mut tasks {
            t.items.truncate(n);
        }
    }
    if let Some(path) = items {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading --items {}", path.display()))?;
        let ids: Vec<&str> =
            text.lines().map(|l| l.split('#').next().unwrap_or("").trim()).filter(|l| !l.is_empty()).collect();
        if ids.is_empty() {
            anyhow::bail!("--items {}: no item ids (one per line, e.g. gsm8k/12)", path.display());
        }
        if let Some(bad) = ids.iter().find(|id| !tasks.iter().any(|t| t.item(id).is_some())) {
            let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
            anyhow::bail!("--items {}: {bad} is not an item of the tasks {}", path.display(), names.join(", "));
        }
        let keep: HashSet<&str> = ids.into_iter().collect();
        for t in &mut tasks {
            t.items.retain(|i| keep.contains(i.id.as_str()));
        }
        tasks.retain(|t| !t.items.is_empty());
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eval::tasks::{Body, Grader, Item};

    fn task(name: &str, n: usize) -> Task {
        Task {
            name: name.into(),
            grader: Grader::Answer(eval::grade::TaskKind::Math),
            items: (0..n)
                .map(|i| Item {
                    id: format!("{name}/{i}"),
                    body: Body::Answer { question: "q".into(), gold: "1".into() },
                })
                .collect(),
        }
    }

    #[test]
    fn items_by_limit_or_list() {
        let t = select_items(vec![task("gsm8k", 5), task("aime24", 3)], Some(2), None).unwrap();
        assert_eq!(t.iter().map(|t| t.items.len()).collect::<Vec<_>>(), vec![2, 2]);
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("items.txt");
        std::fs::write(&list, "# mine\ngsm8k/3\n\naime24/0  # first AIME\ngsm8k/1\n").unwrap();
        let t = select_items(vec![task("gsm8k", 5), task("aime24", 3)], None, Some(&list)).unwrap();
        let ids: Vec<&str> = t.iter().flat_map(|t| t.items.iter().map(|i| i.id.as_str())).collect();
        assert_eq!(ids, vec!["gsm8k/1", "gsm8k/3", "aime24/0"]);
        assert_eq!(wanted(&t, &[42, 43]).len(), 6);
        std::fs::write(&list, "gsm8k/9\n").unwrap();
        let e = select_items(vec![task("gsm8k", 5)], None, Some(&list)).unwrap_err().to_string();
        assert!(e.contains("gsm8k/9 is not an item"), "{e}");
        let e = select_items(vec![task("gsm8k", 5)], Some(0), None).unwrap_err().to_string();
        assert!(e.contains("--limit 0"), "{e}");
    }
}

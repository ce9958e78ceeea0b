//! `DIR/study.json`, the study's manifest: the command lines that ran it, qtool's version, the
//! settings (with the files' fingerprints), and per configuration its stage (pending /
//! quantized / KLD done / evaluating n of N / done) with the time each stage took and the
//! measured generation speed. Written atomically at every change, so a kill leaves the last
//! complete version. The files in the study folder are the truth a rerun resumes from; the
//! manifest records what they hold and how long they took.

use super::fingerprint::FileStamp;
use super::settings::Settings;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest's file name in the study folder.
pub const MANIFEST: &str = "study.json";

/// How far a configuration got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Nothing done.
    Pending,
    /// Its checkpoint is written (the base: nothing to write).
    Quantized,
    /// Its KLD against the base is measured.
    KldDone,
    /// Some of its answers are in.
    Evaluating,
    /// Every answer is in.
    Done,
}

/// One configuration's progress and timings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigState {
    /// The configuration.
    pub name: String,
    /// Its stage.
    pub stage: Stage,
    /// Answers in its results file.
    pub answers_done: usize,
    /// Answers it needs.
    pub answers_total: usize,
    /// Seconds its quantization took (`None`: not done, or the base).
    pub quantize_s: Option<f64>,
    /// Seconds its KLD took.
    pub kld_s: Option<f64>,
    /// Seconds spent generating its answers (model loading excluded), over every run.
    pub eval_s: f64,
    /// Tokens generated for its answers in those seconds.
    pub gen_tokens: u64,
    /// Answers generated in those seconds (answers of a run whose progress was lost to a kill
    /// are in the results but not here).
    pub timed_answers: usize,
}

impl ConfigState {
    /// A configuration with nothing done.
    pub fn new(name: &str, answers_total: usize) -> ConfigState {
        ConfigState {
            name: name.into(),
            stage: Stage::Pending,
            answers_done: 0,
            answers_total,
            quantize_s: None,
            kld_s: None,
            eval_s: 0.0,
            gen_tokens: 0,
            timed_answers: 0,
        }
    }

    /// Generated tokens per second, when measured.
    pub fn tok_per_s(&self) -> Option<f64> {
        (self.eval_s > 0.0 && self.gen_tokens > 0).then(|| self.gen_tokens as f64 / self.eval_s)
    }

    /// The stage in words (`eval 3 of 9`).
    pub fn status(&self) -> String {
        match self.stage {
            Stage::Pending => "pending".into(),
            Stage::Quantized => "quantized".into(),
            Stage::KldDone => "KLD done".into(),
            Stage::Evaluating => format!("eval {} of {}", self.answers_done, self.answers_total),
            Stage::Done => "done".into(),
        }
    }
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every distinct command line that ran the study, first to last.
    pub commands: Vec<String>,
    /// The settings.
    pub settings: Settings,
    /// `--batch` of the latest run (answers do not depend on it).
    pub batch: usize,
    /// `--matrix` entries left out because they do not apply to the model, with the reason.
    pub skipped: Vec<String>,
    /// Stamps of the files fingerprinted in the settings.
    pub files: Vec<FileStamp>,
    /// Per configuration, in study order.
    pub configs: Vec<ConfigState>,
}

impl Manifest {
    /// Reads `dir/study.json`; `None` when the folder has none.
    pub fn load(dir: &Path) -> anyhow::Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let m = serde_json::from_str(&text).with_context(|| {
            format!("{} is not a qtool study manifest (written by another version?); use another --out", path.display())
        })?;
        Ok(Some(m))
    }

    /// Writes `dir/study.json` atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::atomic::write(&dir.join(MANIFEST), text.as_bytes())
    }

    /// The state of the configuration `name`.
    pub fn config_mut(&mut self, name: &str) -> Option<&mut ConfigState> {
        self.configs.iter_mut().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_describes_stages() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Manifest::load(dir.path()).unwrap().is_none());
        let mut c = ConfigState::new("rtn:w8a16", 9);
        c.stage = Stage::Evaluating;
        c.answers_done = 3;
        c.eval_s = 2.0;
        c.gen_tokens = 48;
        assert_eq!((c.status(), c.tok_per_s()), ("eval 3 of 9".to_string(), Some(24.0)));
        let m = Manifest {
            commands: vec!["qtool study ...".into()],
            settings: crate::study::settings::tests::example(),
            batch: 8,
            skipped: Vec::new(),
            files: Vec::new(),
            configs: vec![ConfigState::new("base", 9), c],
        };
        m.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Some(m));
        std::fs::write(dir.path().join(MANIFEST), "{").unwrap();
        let e = format!("{:#}", Manifest::load(dir.path()).unwrap_err());
        assert!(e.contains("not a qtool study manifest"), "{e}");
    }
}

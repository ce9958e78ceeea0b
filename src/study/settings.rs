//! The settings that decide a study's results. A rerun on the same folder must have the same
//! settings (it resumes); any difference is refused, naming each field with its recorded and
//! its new value. `--batch` is not among them: answers do not depend on the batch.

use super::fingerprint::Fingerprinter;
use super::plan::Configuration;
use super::StudyOptions;
use crate::calib::CalibSource;
use anyhow::Context;
use eval::kld::TextSource;
use eval::tasks::Task;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One `--calib NAME=SPEC` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibSetting {
    /// Its name.
    pub name: String,
    /// `kind:PATH` (see `qtool quantize --calib`).
    pub source: String,
    /// Samples drawn.
    pub samples: usize,
    /// Tokens per sample.
    pub seqlen: usize,
    /// Seed of the draw.
    pub seed: u64,
    /// sha256 of its file (or of a folder's files).
    pub sha256: String,
}

/// Everything a study's results depend on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// qtool's version.
    pub qtool_version: String,
    /// The model as given.
    pub model: String,
    /// Its sha256 (a folder: of its files).
    pub model_sha256: String,
    /// The configurations, in order.
    pub configs: Vec<String>,
    /// The tasks with at least one evaluated item, in order.
    pub tasks: Vec<String>,
    /// Evaluated items per task, in task order.
    pub task_items: Vec<usize>,
    /// sha256 of each task's data files, in task order.
    pub task_data_sha256: Vec<String>,
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
    /// `--items`: the file and its sha256.
    pub items: Option<(String, String)>,
    /// Answers per configuration (tasks × items × seeds).
    pub answers_per_config: usize,
    /// Most new tokens per answer.
    pub max_new_tokens: usize,
    /// Backend.
    pub backend: String,
    /// Calibration sets.
    pub calib: Vec<CalibSetting>,
    /// The KLD text's source and sha256.
    pub kld_text: (String, String),
    /// KLD chunk length.
    pub kld_ctx: usize,
    /// KLD chunks.
    pub kld_chunks: usize,
}

/// The fields that differ between the recorded settings and the new ones, one sentence each.
pub fn differences(recorded: &Settings, now: &Settings) -> Vec<String> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(recorded), serde_json::to_value(now)) else {
        return vec!["the settings cannot be compared".into()];
    };
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return Vec::new() };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} recorded, {} now", b.get(k).cloned().unwrap_or_default()))
        .collect()
}

/// The files behind a calibration source (a folder's files for `fortunes:DIR`).
fn calib_path(source: &CalibSource) -> &Path {
    match source {
        CalibSource::Text(p) | CalibSource::Fortunes(p) | CalibSource::Gsm8k(p) | CalibSource::Traces(p) => p,
    }
}

fn kld_text_path(t: &TextSource) -> &Path {
    match t {
        TextSource::File(p) | TextSource::Gsm8kSolutions(p) => p,
    }
}

/// The settings of a run, fingerprinting the files it reads.
pub fn collect(
    o: &StudyOptions,
    configs: &[Configuration],
    tasks: &[Task],
    fp: &mut Fingerprinter,
) -> anyhow::Result<Settings> {
    let mut task_data_sha256 = Vec::new();
    for t in tasks {
        let mut hashes = Vec::new();
        for f in eval::tasks::source_files(&t.name, &o.assets) {
            hashes.push(fp.file(&f)?);
        }
        task_data_sha256.push(hashes.join("+"));
    }
    let calib = o
        .calib
        .iter()
        .map(|(name, c)| {
            Ok(CalibSetting {
                name: name.clone(),
                source: c.source.label(),
                samples: c.n_samples,
                seqlen: c.seqlen,
                seed: c.seed,
                sha256: fp.path(calib_path(&c.source)).with_context(|| format!("calibration set {name}"))?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let items = match &o.items {
        Some(p) => Some((p.display().to_string(), fp.file(p)?)),
        None => None,
    };
    let kld_text = match &o.kld.text {
        TextSource::File(p) => format!("file:{}", p.display()),
        TextSource::Gsm8kSolutions(p) => format!("GSM8K test reference solutions ({})", p.display()),
    };
    Ok(Settings {
        qtool_version: env!("CARGO_PKG_VERSION").into(),
        model: o.model.display().to_string(),
        model_sha256: fp.path(&o.model)?,
        configs: configs.iter().map(|c| c.name.clone()).collect(),
        tasks: tasks.iter().map(|t| t.name.clone()).collect(),
        task_items: tasks.iter().map(|t| t.items.len()).collect(),
        task_data_sha256,
        seeds: o.seeds.clone(),
        temperature: o.temperature,
        top_p: o.top_p,
        top_k: o.top_k,
        limit: o.limit,
        items,
        answers_per_config: tasks.iter().map(|t| t.items.len()).sum::<usize>() * o.seeds.len(),
        max_new_tokens: o.max_new_tokens,
        backend: o.backend.clone(),
        calib,
        kld_text: (kld_text, fp.file(kld_text_path(&o.kld.text))?),
        kld_ctx: o.kld.ctx,
        kld_chunks: o.kld.chunks,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn example() -> Settings {
        Settings {
            qtool_version: "0.1.0".into(),
            model: "m.gguf".into(),
            model_sha256: "ab".into(),
            configs: vec!["base".into(), "rtn:w8a16".into()],
            tasks: vec!["gsm8k".into()],
            task_items: vec![3],
            task_data_sha256: vec!["cd".into()],
            seeds: vec![42],
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            limit: Some(3),
            items: None,
            answers_per_config: 3,
            max_new_tokens: 16,
            backend: "cpu".into(),
            calib: Vec::new(),
            kld_text: ("gsm8k-solutions".into(), "ef".into()),
            kld_ctx: 64,
            kld_chunks: 2,
        }
    }

    #[test]
    fn differences_name_each_field() {
        let a = example();
        assert!(differences(&a, &a).is_empty());
        let b = Settings { seeds: vec![42, 43], max_new_tokens: 32, ..a.clone() };
        let mut d = differences(&a, &b);
        d.sort();
        assert_eq!(d, vec!["max_new_tokens: 16 recorded, 32 now", "seeds: [42] recorded, [42,43] now"]);
    }
}

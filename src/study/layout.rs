//! Where a study keeps its files, all under the study folder DIR:
//!
//! | path | what |
//! |---|---|
//! | `study.json` | the manifest (settings, per-configuration stage and timings) |
//! | `study.lock` | held while a study runs |
//! | `ckpt/NAME` | the configuration's checkpoint (deleted once it is done, unless kept) |
//! | `ckpt/kld-base-logits.bin` | the base's top-K log-probabilities on the KLD text |
//! | `NAME/quantize.json` | what the checkpoint is: format, bits per weight, time |
//! | `NAME/kld.json` | KLD and top-1 agreement against the base |
//! | `NAME/results.jsonl` | one graded answer per line (`qtool eval`'s format) |
//! | `report.md`, `report-*.svg` | the report |
//!
//! NAME is the configuration's file-name form (`base`, `gptq_w4a16-asym`, `rtn_text_kv4`).

use super::plan::Configuration;
use std::path::PathBuf;

/// The study folder.
#[derive(Debug, Clone)]
pub struct Layout {
    /// DIR.
    pub dir: PathBuf,
    /// Whether checkpoints are single GGUF files (`DIR/ckpt/NAME.gguf`, for an external engine
    /// that loads GGUF) instead of Hugging Face folders.
    pub gguf_checkpoints: bool,
}

impl Layout {
    /// The configuration's own folder.
    pub fn config_dir(&self, c: &Configuration) -> PathBuf {
        self.dir.join(c.dir_name())
    }

    /// Its checkpoint.
    pub fn checkpoint(&self, c: &Configuration) -> PathBuf {
        let name = c.dir_name();
        self.dir.join("ckpt").join(if self.gguf_checkpoints { format!("{name}.gguf") } else { name })
    }

    /// Its checkpoint's description.
    pub fn quantize_info(&self, c: &Configuration) -> PathBuf {
        self.config_dir(c).join("quantize.json")
    }

    /// Its KLD.
    pub fn kld(&self, c: &Configuration) -> PathBuf {
        self.config_dir(c).join("kld.json")
    }

    /// Its answers.
    pub fn results(&self, c: &Configuration) -> PathBuf {
        self.config_dir(c).join("results.jsonl")
    }

    /// The base's cached log-probabilities on the KLD text.
    pub fn base_logits(&self) -> PathBuf {
        self.dir.join("ckpt").join("kld-base-logits.bin")
    }

    /// The report's markdown.
    pub fn report(&self) -> PathBuf {
        self.dir.join("report.md")
    }
}

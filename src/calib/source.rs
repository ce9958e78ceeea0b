//! Where calibration text comes from (`--calib`), read into documents:
//!
//! - `text:FILE`: plain UTF-8 text; paragraphs (blank-line separated, or separated by a line
//!   holding only `%` as in fortune files) are the documents.
//! - `fortunes` or `fortunes:DIR`: every fortune of the Debian `fortunes` package
//!   (`/usr/share/games/fortunes`, the files without an extension, `%`-separated), in file-name
//!   order: generic English text (ASSETS.md).
//! - `gsm8k:FILE` (alias `gsm8k-train:FILE`): GSM8K-format JSONL (`{"question", "answer"}` per
//!   line, e.g. the train split); each item becomes `question\nanswer` (the reference solution).
//!   The assets hold only the GSM8K *test* split, which evaluation uses, so there is no built-in
//!   GSM8K calibration set: `gsm8k-solutions` without a file is refused with that explanation.
//! - `traces:FILE`: the model's own reasoning traces, JSONL with `{"text"}` or
//!   `{"prompt", "response"}` per line (the prompt stored as the model saw it, chat template
//!   included); each line is one document (prompt followed by response). A line with a
//!   `response` and no `prompt` is the response alone, so the `results.jsonl` of `qtool eval`
//!   on held-out prompts (e.g. `--tasks mmath-en`) is a traces file as it is.
//!
//! Every document then passes the [`EvalGuard`](super::guard::EvalGuard).

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// A parsed `--calib` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalibSource {
    /// `text:FILE`.
    Text(PathBuf),
    /// `fortunes[:DIR]`.
    Fortunes(PathBuf),
    /// `gsm8k:FILE`: GSM8K-format question/answer JSONL.
    Gsm8k(PathBuf),
    /// `traces:FILE`: generated reasoning traces.
    Traces(PathBuf),
}

impl CalibSource {
    /// Parses `kind:FILE`.
    pub fn parse(s: &str) -> anyhow::Result<CalibSource> {
        let (kind, file) = s.split_once(':').unwrap_or((s, ""));
        let path = PathBuf::from(file);
        let need_file = |kind: &str| -> anyhow::Result<()> {
            if file.is_empty() {
                bail!("--calib {s}: {kind} needs a file, e.g. {kind}:PATH");
            }
            Ok(())
        };
        match kind {
            "text" => need_file(kind).map(|_| CalibSource::Text(path)),
            "fortunes" if file.is_empty() => Ok(CalibSource::Fortunes(PathBuf::from(FORTUNES_DIR))),
            "fortunes" => Ok(CalibSource::Fortunes(path)),
            "gsm8k" | "gsm8k-train" => need_file(kind).map(|_| CalibSource::Gsm8k(path)),
            "traces" => need_file(kind).map(|_| CalibSource::Traces(path)),
            "gsm8k-solutions" => bail!(
                "--calib {s}: the assets hold only the GSM8K test split, which evaluation uses, so it cannot \
                 calibrate; pass the train split as gsm8k:PATH/train.jsonl"
            ),
            _ => bail!(
                "--calib {s}: expected text:FILE, fortunes[:DIR], gsm8k:FILE (GSM8K-format JSONL, e.g. train) or traces:FILE"
            ),
        }
    }

    /// The default `--calib-seqlen`: 2048 for traces, 512 for text (the study's settings).
    pub fn default_seqlen(&self) -> usize {
        match self {
            CalibSource::Traces(_) => 2048,
            _ => 512,
        }
    }

    /// `kind:PATH`, as recorded in the output.
    pub fn label(&self) -> String {
        let (kind, p) = match self {
            CalibSource::Text(p) => ("text", p),
            CalibSource::Fortunes(p) => ("fortunes", p),
            CalibSource::Gsm8k(p) => ("gsm8k", p),
            CalibSource::Traces(p) => ("traces", p),
        };
        format!("{kind}:{}", p.display())
    }

    /// The documents of the source, in file order.
    pub fn documents(&self) -> anyhow::Result<Vec<String>> {
        let docs = match self {
            CalibSource::Text(p) => paragraphs(&read(p)?),
            CalibSource::Fortunes(dir) => {
                let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                    .with_context(|| format!("reading {} (install the Debian package `fortunes`)", dir.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file() && p.extension().is_none())
                    .collect();
                files.sort();
                let mut docs = Vec::new();
                for f in files {
                    let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
                    docs.extend(paragraphs(&String::from_utf8_lossy(&bytes)));
                }
                docs
            }
            CalibSource::Gsm8k(p) => jsonl(p, |v| {
                let q = field(v, "question")?;
                let a = field(v, "answer")?;
                Ok(format!("{q}\n{a}"))
            })?,
            CalibSource::Traces(p) => jsonl(p, |v| match (v.get("text"), v.get("prompt"), v.get("response")) {
                (Some(_), _, _) => field(v, "text"),
                (None, Some(_), Some(_)) => Ok(format!("{}{}", field(v, "prompt")?, field(v, "response")?)),
                (None, None, Some(_)) => field(v, "response"),
                _ => bail!("expected {{\"text\"}}, {{\"prompt\", \"response\"}} or {{\"response\"}}"),
            })?,
        };
        let docs: Vec<String> = docs;
        if docs.is_empty() {
            bail!("calibration source {}: empty (no text in the file)", self.label());
        }
        Ok(docs)
    }
}

/// Blank-line or `%`-line separated paragraphs, trimmed, empty ones dropped.
fn paragraphs(text: &str) -> Vec<String> {
    text.replace("\r\n", "\n")
        .replace("\n%\n", "\n\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|d| !d.is_empty() && *d != "%")
        .map(String::from)
        .collect()
}

/// Where Debian's `fortunes` package puts its files.
pub const FORTUNES_DIR: &str = "/usr/share/games/fortunes";

fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("reading calibration file {}", p.display()))
}

fn field(v: &serde_json::Value, name: &str) -> anyhow::Result<String> {
    v.get(name).and_then(|x| x.as_str()).map(String::from).with_context(|| format!("no string field {name:?}"))
}

/// One document per non-empty line of the JSONL file `p`.
fn jsonl(p: &Path, doc: impl Fn(&serde_json::Value) -> anyhow::Result<String>) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, line) in read(p)?.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = || format!("{} line {}", p.display(), i + 1);
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("{}: not JSON", at()))?;
        out.push(doc(&v).with_context(at)?);
    }
    Ok(out)
}

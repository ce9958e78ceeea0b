//! The results JSONL: read back on start (for resume), appended one line per finished item.
//!
//! A run killed mid-write leaves at most one partial line at the end of the file (each record
//! is written with a single `write` of the line and its newline); it is cut away on open. Any
//! other unreadable line is an error naming the file and line: the file is not ours to repair.

use super::record::Record;
use crate::error::{EvalError, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An open results file.
pub struct ResultsFile {
    path: PathBuf,
    file: File,
}

/// What was found in an existing file.
pub struct Existing {
    /// The complete records, in file order.
    pub records: Vec<Record>,
    /// Bytes of a partial last line that were cut away (0 if none).
    pub truncated_bytes: usize,
}

/// The records of the complete lines `bytes` of `path`. A line that is not a record is an error
/// naming it: the last one is likely a write cut short by a kill (the message says how to drop
/// it); one in the middle means the file was changed by something else. `resuming` adds how to
/// go on with `qtool eval`.
pub fn parse_lines(path: &Path, bytes: &[u8], resuming: bool) -> Result<Vec<Record>> {
    let lines: Vec<(usize, &[u8])> =
        bytes.split(|&b| b == b'\n').enumerate().filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace)).collect();
    let mut records = Vec::with_capacity(lines.len());
    for (k, &(i, line)) in lines.iter().enumerate() {
        let parsed = std::str::from_utf8(line)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str::<Record>(s).map_err(|e| e.to_string()));
        let e = match parsed {
            Ok(r) => {
                records.push(r);
                continue;
            }
            Err(e) => e,
        };
        let n = i + 1;
        let what = if k + 1 == lines.len() {
            let then = if resuming { " and rerun the same command to resume" } else { "" };
            format!(
                "line {n}, the last line, is not a result record ({e}); most likely a write cut short when a run \
                 was killed. Remove that line (e.g. `sed -i '{n}d' {}`){then}",
                path.display()
            )
        } else {
            let then =
                if resuming { ", so it cannot be resumed: fix or remove that line, or use another --out" } else { "" };
            format!("line {n} is not a result record ({e}); the file is corrupt in the middle{then}")
        };
        return Err(EvalError::Text { path: path.into(), what });
    }
    Ok(records)
}

impl ResultsFile {
    /// Opens (or creates) `path` for appending, returning the records already in it.
    pub fn open(path: &Path) -> Result<(ResultsFile, Existing)> {
        let io = |source| EvalError::Io { path: path.into(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| EvalError::Io { path: dir.into(), source })?;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let records = parse_lines(path, &bytes[..complete], true)?;
        let file = OpenOptions::new().create(true).append(true).open(path).map_err(io)?;
        let truncated_bytes = bytes.len() - complete;
        if truncated_bytes > 0 {
            file.set_len(complete as u64).map_err(io)?;
        }
        Ok((ResultsFile { path: path.into(), file }, Existing { records, truncated_bytes }))
    }

    /// Appends one record as a JSON line, written in one call and flushed.
    pub fn append(&mut self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_string(record).expect("records serialize");
        line.push('\n');
        let io = |source| EvalError::Io { path: self.path.clone(), source };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.flush().map_err(io)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

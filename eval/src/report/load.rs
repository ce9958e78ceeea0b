//! Reading results JSONL files for a report. Read-only (unlike the runner's
//! [`crate::runner::ResultsFile`], which repairs a file it appends to): a partial last line
//! left by a run in progress or killed is skipped and counted; any other bad line is an error.

use crate::error::{EvalError, Result};
use crate::runner::Record;
use std::path::Path;

/// The complete records of `path` and the bytes of a partial last line (0 if none).
pub fn read_records(path: &Path) -> Result<(Vec<Record>, usize)> {
    let bytes = std::fs::read(path).map_err(|source| EvalError::Io { path: path.into(), source })?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let records = crate::runner::results_file::parse_lines(path, &bytes[..complete], false)?;
    Ok((records, bytes.len() - complete))
}

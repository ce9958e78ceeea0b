//! Downloads one wheel with `python3 -m pip download --no-deps`.

use super::command;
use anyhow::Result;
use std::path::Path;

/// Runs `python3 -m pip download --no-deps --no-cache-dir -d <into> NAME==VERSION`.
pub fn download(name: &str, version: &str, into: &Path, downloads: &Path) -> Result<()> {
    let args = ["-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "-d"]
        .iter()
        .map(|s| s.to_string())
        .chain([into.display().to_string(), format!("{name}=={version}")])
        .collect::<Vec<_>>();
    command::run(
        "python3",
        &args,
        "wheels are downloaded with `python3 -m pip download`; install Python 3 with pip",
        downloads,
    )
}

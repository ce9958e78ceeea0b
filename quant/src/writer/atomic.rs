//! Atomic outputs: a folder or file is built under a temporary name in the destination's parent
//! and renamed into place only when complete; an existing destination is moved aside first and
//! deleted only once the new one is in place. Dropping the guard without `commit` (an error, a
//! panic) removes the temporary; a temporary left by a killed run is removed by the next run
//! that writes the same destination. An existing destination is refused unless `force`, and
//! even with `force` only a model folder (one with a `config.json`, or an empty one) is
//! replaced: a path such as `.`, `..` or `dir/..` is refused outright, so a mistyped `--out`
//! never deletes what the user owns.

use crate::QuantError;
use std::path::{Path, PathBuf};

/// The marker in temporary names: `.NAME.qtool-tmp-PID`.
const TMP_MARK: &str = ".qtool-tmp-";
/// The marker of a replaced destination moved aside: `.NAME.qtool-old-PID`.
const OLD_MARK: &str = ".qtool-old-";
/// The temporary marker `qtool convert` used before it wrote through [`AtomicDir`].
const LEGACY_TMP_MARK: &str = ".tmp-";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> QuantError + '_ {
    move |source| QuantError::Io { path: path.to_path_buf(), source }
}

/// The parent folder of `target` (`.` for a bare name) and the target's file name; a path
/// without a name of its own (`.`, `..`, `dir/..`, `/`) is refused.
fn split(target: &Path) -> Result<(PathBuf, String), QuantError> {
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| QuantError::Write {
        path: target.to_path_buf(),
        what: "--out must end in the output's own name; a path ending in `.` or `..` (or a root) names a folder \
               that holds other things, which qtool never replaces"
            .into(),
    })?;
    Ok((parent, name))
}

/// Whether a process with this id is running (always "maybe" off Linux).
fn alive(pid: u32) -> bool {
    !Path::new("/proc").is_dir() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the siblings of `target` that killed runs left: `.NAME.qtool-tmp-PID` (and the
/// `.NAME.tmp-PID` folders of older `qtool convert`s) whose process is gone, and a replaced
/// destination `.NAME.qtool-old-PID` once the destination itself is in place again.
fn remove_stale(parent: &Path, name: &str, target_exists: bool) {
    let tmp = [format!(".{name}{TMP_MARK}"), format!(".{name}{LEGACY_TMP_MARK}")];
    let old = format!(".{name}{OLD_MARK}");
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let pid = tmp.iter().chain(target_exists.then_some(&old)).find_map(|prefix| file.strip_prefix(prefix.as_str()));
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !alive(pid) {
            let p = e.path();
            let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        }
    }
}

/// Whether `dir` may be replaced by a new model folder: it holds a `config.json` (a model
/// folder, as qtool writes them) or nothing at all.
fn replaceable(dir: &Path) -> bool {
    dir.join("config.json").is_file() || std::fs::read_dir(dir).is_ok_and(|mut e| e.next().is_none())
}

/// Refuses a destination qtool must not write: a path without a name of its own, an existing
/// one without `force`, or (with `force`) an existing folder that is not a model folder. Has
/// no side effects, so callers can check before any slow work.
pub fn check_target(target: &Path, force: bool) -> Result<(), QuantError> {
    split(target)?;
    if !target.exists() {
        return Ok(());
    }
    let bad = |what: String| Err(QuantError::Write { path: target.to_path_buf(), what });
    if !force {
        return bad("already exists; pass --force to replace it".into());
    }
    if target.is_dir() && !replaceable(target) {
        return bad("--out is an existing folder that is not a model folder (no config.json) and not empty; --force \
             replaces only model folders, so remove it yourself or choose another --out"
            .into());
    }
    Ok(())
}

/// Refuses what [`check_target`] refuses, creates the parent, clears stale temporaries and
/// returns the temporary path to build in.
fn prepare(target: &Path, force: bool) -> Result<PathBuf, QuantError> {
    check_target(target, force)?;
    let (parent, name) = split(target)?;
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    remove_stale(&parent, &name, target.exists());
    let tmp = parent.join(format!(".{name}{TMP_MARK}{}", std::process::id()));
    if tmp.is_dir() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    } else if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(io(&tmp))?;
    }
    Ok(tmp)
}

/// Moves `tmp` onto `target`, replacing what is there (the old one is removed only after the
/// new one is in place).
fn replace(tmp: &Path, target: &Path) -> Result<(), QuantError> {
    if target.exists() {
        let (parent, name) = split(target)?;
        let old = parent.join(format!(".{name}{OLD_MARK}{}", std::process::id()));
        std::fs::rename(target, &old).map_err(io(target))?;
        std::fs::rename(tmp, target).map_err(io(target))?;
        let _ = if old.is_dir() { std::fs::remove_dir_all(&old) } else { std::fs::remove_file(&old) };
        return Ok(());
    }
    std::fs::rename(tmp, target).map_err(io(target))
}

/// A folder being written; see the module documentation.
#[derive(Debug)]
pub struct AtomicDir {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl AtomicDir {
    /// Starts writing the folder `target`.
    pub fn new(target: &Path, force: bool) -> Result<AtomicDir, QuantError> {
        let tmp = prepare(target, force)?;
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        Ok(AtomicDir { target: target.to_path_buf(), tmp, committed: false })
    }

    /// The temporary folder to write files into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The final folder.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the finished folder into place.
    pub fn commit(mut self) -> Result<PathBuf, QuantError> {
        replace(&self.tmp, &self.target)?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// A single file being written; see the module documentation.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing the file `target`.
    pub fn new(target: &Path, force: bool) -> Result<AtomicFile, QuantError> {
        if target.is_dir() {
            return Err(QuantError::Write {
                path: target.to_path_buf(),
                what: "is a folder; a GGUF output is one file".into(),
            });
        }
        let tmp = prepare(target, force)?;
        Ok(AtomicFile { target: target.to_path_buf(), tmp, committed: false })
    }

    /// The temporary file to write.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Renames the finished file into place.
    pub fn commit(mut self) -> Result<PathBuf, QuantError> {
        replace(&self.tmp, &self.target)?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

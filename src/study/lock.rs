//! One study at a time per folder: `DIR/study.lock` is held with an exclusive advisory lock
//! (`flock`) for the whole run. The operating system drops the lock when the process ends, so a
//! study killed with SIGKILL leaves no stale lock behind; the file's content (the holder's
//! process id) is only for the message a second run prints.

use anyhow::Context;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// The lock file's name in the study folder.
pub const LOCK: &str = "study.lock";

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StudyLock {
    _file: File,
}

/// The holder's process id as written in the lock file, if readable.
fn holder(file: &mut File) -> Option<u32> {
    let mut s = String::new();
    file.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

impl StudyLock {
    /// Takes the lock of the study folder `dir` (created if missing), or explains who holds it.
    pub fn acquire(dir: &Path) -> anyhow::Result<StudyLock> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the study folder {}", dir.display()))?;
        let path = dir.join(LOCK);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let who = holder(&mut file).map_or("another process".to_string(), |p| format!("process {p}"));
                anyhow::bail!(
                    "another qtool study ({who}) is running on {}; wait for it to finish or use another --out \
                     (`qtool study --status {}` shows its progress)",
                    dir.display(),
                    dir.display()
                );
            }
            Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
        }
        file.set_len(0).and_then(|_| file.rewind()).with_context(|| format!("writing {}", path.display()))?;
        write!(file, "{}", std::process::id()).with_context(|| format!("writing {}", path.display()))?;
        Ok(StudyLock { _file: file })
    }

    /// Whether a study holds the lock of `dir` now (for `--status`), with its process id.
    pub fn held(dir: &Path) -> Option<Option<u32>> {
        let mut file = OpenOptions::new().read(true).write(true).open(dir.join(LOCK)).ok()?;
        match file.try_lock() {
            Ok(()) => None,
            Err(_) => Some(holder(&mut file)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = StudyLock::acquire(dir.path()).unwrap();
        assert_eq!(StudyLock::held(dir.path()), Some(Some(std::process::id())));
        let e = StudyLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains("another qtool study") && e.contains(&std::process::id().to_string()), "{e}");
        drop(first);
        assert_eq!(StudyLock::held(dir.path()), None);
        let _again = StudyLock::acquire(dir.path()).unwrap();
    }
}

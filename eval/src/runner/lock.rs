//! The lock of an eval output folder: `qtool eval` holds an exclusive `flock(2)` on
//! `<out>/.qtool-eval.lock` for its whole run (std's `File::try_lock`), so two runs cannot
//! append to one results file. The operating system releases the lock when its holder exits,
//! killed or not, so a stale lock file never blocks a later run; the file itself (the holder's
//! pid and command line, for the message the next run prints) may stay.

use crate::error::{EvalError, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the output folder.
pub const LOCK_FILE: &str = ".qtool-eval.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of the folder `dir` (created if missing), or fails naming the process
    /// that holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<RunLock> {
        std::fs::create_dir_all(dir).map_err(|source| EvalError::Io { path: dir.into(), source })?;
        let path = dir.join(LOCK_FILE);
        let io = |source| EvalError::Io { path: path.clone(), source };
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who =
                    if holder.is_empty() { "another process".to_string() } else { format!("another run ({holder})") };
                return Err(EvalError::BadOption(format!(
                    "{} is in use: {who} holds its lock {}; two runs on one --out would write every answer twice. \
                     Wait for it to finish (or stop it), or use another --out",
                    dir.display(),
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let note = format!("pid {}: {command}\n", std::process::id());
        file.set_len(0).and_then(|_| file.rewind()).and_then(|_| file.write_all(note.as_bytes())).map_err(io)?;
        Ok(RunLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_released_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(d.path(), "qtool eval --out x").unwrap();
        let e = RunLock::acquire(d.path(), "qtool eval again").unwrap_err().to_string();
        assert!(e.contains("in use") && e.contains(&format!("pid {}", std::process::id())), "{e}");
        assert!(e.contains("qtool eval --out x") && e.contains("another --out"), "{e}");
        drop(first);
        RunLock::acquire(d.path(), "qtool eval again").unwrap();
    }
}

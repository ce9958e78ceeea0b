//! Runs an external download client (pip, npm) and turns its failures into clear errors: the
//! command line, its exit status and the last lines of what it printed.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// How many trailing output lines an error shows.
const TAIL_LINES: usize = 20;

/// The last `n` non-empty lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// Runs `program args...` with output captured. `hint` says what the program is needed for
/// (shown when it is not on PATH); `downloads` is named in the registry error.
pub fn run(program: &str, args: &[String], hint: &str, downloads: &Path) -> Result<()> {
    let cmdline = std::iter::once(program.to_string()).chain(args.iter().cloned()).collect::<Vec<_>>().join(" ");
    let output = match Command::new(program).args(args).stdin(Stdio::null()).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("`{program}` was not found on PATH: {hint}")
        }
        Err(e) => bail!("cannot run `{cmdline}`: {e}"),
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (label, shown) = if stderr.trim().is_empty() {
        ("stdout", tail(&stdout, TAIL_LINES))
    } else {
        ("stderr", tail(&stderr, TAIL_LINES))
    };
    bail!(
        "`{cmdline}` failed ({status})\nlast lines of its {label}:\n{shown}\n\
         The package registries (PyPI for pip, the npm registry for npm) must be reachable from \
         this machine. Without them, copy the pinned files into {dl} and use --offline.",
        status = output.status,
        dl = downloads.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_non_empty_lines() {
        assert_eq!(tail("a\n\nb\nc\n\n", 2), "    b\n    c");
    }

    #[test]
    fn missing_program_is_named() {
        let err = run("qtool-no-such-program", &[], "needed for tests", Path::new("x")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("qtool-no-such-program"), "{msg}");
        assert!(msg.contains("not found on PATH"), "{msg}");
    }

    #[test]
    fn failing_command_shows_status_and_stderr() {
        let args = vec!["-c".to_string(), "echo boom >&2; exit 3".to_string()];
        let err = run("sh", &args, "", Path::new("dl")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`sh -c echo boom >&2; exit 3` failed"), "{msg}");
        assert!(msg.contains("exit status: 3"), "{msg}");
        assert!(msg.contains("boom"), "{msg}");
        assert!(msg.contains("must be reachable"), "{msg}");
    }
}

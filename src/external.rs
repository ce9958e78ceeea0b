//! External engines: an OpenAI-compatible server that qtool starts from a launch template
//! (`llama-server -m {gguf} --port {port} --parallel 16`, `vllm serve {hf} --port {port}`),
//! waits for, evaluates through (`eval::runner::HttpGenerator`) and stops.
//!
//! The template is split into words like a POSIX shell would (quotes, backslashes; no
//! expansion, no pipes: it is run directly, never through a shell), then each placeholder is
//! replaced inside the words: `{gguf}` (a GGUF checkpoint), `{hf}` (a Hugging Face folder),
//! `{model}` (whichever the configuration has), `{port}` (a free loopback port qtool picks) and
//! `{host}` (`127.0.0.1`). A placeholder the configuration cannot fill, or an unknown one, is an
//! error before anything starts. The server runs in its own process group with its output in a
//! log file; qtool polls `GET /v1/models` until it answers 200, the process exits (an error
//! quoting the log's tail) or the start-up timeout passes (the group is killed). Dropping the
//! handle stops the whole group: SIGTERM, then SIGKILL after a grace period.

use anyhow::{bail, Context};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a launch template's placeholders stand for.
#[derive(Debug, Clone, Default)]
pub struct LaunchVars {
    /// `{gguf}`: the configuration's GGUF file.
    pub gguf: Option<PathBuf>,
    /// `{hf}`: the configuration's Hugging Face folder.
    pub hf: Option<PathBuf>,
}

/// The placeholders a template may use.
const PLACEHOLDERS: &[&str] = &["{gguf}", "{hf}", "{model}", "{port}", "{host}"];

/// The argv of `template` with its placeholders filled (`port` for `{port}`).
pub fn expand(template: &str, vars: &LaunchVars, port: u16) -> anyhow::Result<Vec<String>> {
    let words = shlex::split(template)
        .filter(|w| !w.is_empty())
        .with_context(|| format!("launch template `{template}`: unbalanced quotes or empty"))?;
    let path = |p: &Option<PathBuf>, name: &str| -> anyhow::Result<String> {
        p.as_ref().map(|p| p.display().to_string()).with_context(|| {
            format!("launch template `{template}` uses {name}, but this configuration has no such checkpoint")
        })
    };
    words
        .into_iter()
        .map(|w| {
            let mut rest = w.as_str();
            while let Some(i) = rest.find('{') {
                let tail = &rest[i..];
                match PLACEHOLDERS.iter().find(|p| tail.starts_with(**p)) {
                    Some(p) => rest = &tail[p.len()..],
                    None => bail!(
                        "launch template `{template}`: unknown placeholder in `{w}` (known: {})",
                        PLACEHOLDERS.join(", ")
                    ),
                }
            }
            let mut out = w.clone();
            if out.contains("{gguf}") {
                out = out.replace("{gguf}", &path(&vars.gguf, "{gguf}")?);
            }
            if out.contains("{hf}") {
                out = out.replace("{hf}", &path(&vars.hf, "{hf}")?);
            }
            if out.contains("{model}") {
                let m = vars.gguf.as_ref().or(vars.hf.as_ref()).cloned();
                out = out.replace("{model}", &path(&m, "{model}")?);
            }
            Ok(out.replace("{port}", &port.to_string()).replace("{host}", "127.0.0.1"))
        })
        .collect()
}

/// A free TCP port on loopback (bound, read, released: another process could take it before
/// the server binds it, which then fails to start and says so).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(l.local_addr()?.port())
}

/// A running server; dropping it stops its process group.
pub struct ExternalServer {
    child: Child,
    endpoint: String,
    log: PathBuf,
    argv: Vec<String>,
}

/// The last `n` lines of a log file (for error messages).
fn log_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl ExternalServer {
    /// Starts `template` with `vars`, its output appended to `log`, and waits up to `timeout`
    /// until it serves `GET /v1/models`.
    pub fn start(template: &str, vars: &LaunchVars, log: &Path, timeout: Duration) -> anyhow::Result<Self> {
        let port = free_port()?;
        let argv = expand(template, vars, port)?;
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open the server log {}", log.display()))?;
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().with_context(|| format!("cannot start `{}`", argv.join(" ")))?;
        let mut server =
            ExternalServer { child, endpoint: format!("http://127.0.0.1:{port}/v1"), log: log.to_path_buf(), argv };
        server.wait_ready(timeout)?;
        Ok(server)
    }

    /// The server's base URL (`http://127.0.0.1:PORT/v1`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The command line that started it.
    pub fn command(&self) -> String {
        self.argv.join(" ")
    }

    /// An error if the server process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the server `{}` exited ({status}); last lines of {}:\n{}",
                self.command(),
                self.log.display(),
                log_tail(&self.log, 15)
            );
        }
        Ok(())
    }

    fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().into();
        let url = format!("{}/models", self.endpoint);
        let start = Instant::now();
        loop {
            self.check_alive()?;
            if agent.get(&url).call().is_ok_and(|r| r.status() == 200) {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!(
                    "the server `{}` did not answer GET {url} within {:.0} s; last lines of {}:\n{}",
                    self.command(),
                    timeout.as_secs_f64(),
                    self.log.display(),
                    log_tail(&self.log, 15)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stops the process group: SIGTERM, up to `grace` to exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pgid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child's process group; no memory is involved.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < grace {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for ExternalServer {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> LaunchVars {
        LaunchVars { gguf: Some("/m/a b.gguf".into()), hf: None }
    }

    #[test]
    fn expands_placeholders_inside_words_without_a_shell() {
        let argv =
            expand("llama-server -m {gguf} --port {port} --host {host} --alias 'x {port}'", &vars(), 8123).unwrap();
        assert_eq!(
            argv,
            ["llama-server", "-m", "/m/a b.gguf", "--port", "8123", "--host", "127.0.0.1", "--alias", "x 8123"]
        );
        let argv = expand("srv --model={model}", &vars(), 1).unwrap();
        assert_eq!(argv, ["srv", "--model=/m/a b.gguf"]);
    }

    #[test]
    fn refuses_unknown_or_unfillable_placeholders() {
        let e = expand("vllm serve {hf}", &vars(), 1).unwrap_err().to_string();
        assert!(e.contains("uses {hf}"), "{e}");
        let e = expand("srv {ggfu}", &vars(), 1).unwrap_err().to_string();
        assert!(e.contains("unknown placeholder"), "{e}");
        let e = expand("srv 'unbalanced", &vars(), 1).unwrap_err().to_string();
        assert!(e.contains("unbalanced"), "{e}");
    }

    #[test]
    fn a_server_that_exits_is_an_error_quoting_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let r = ExternalServer::start("sh -c 'echo boom-{port}; exit 3'", &vars(), &log, Duration::from_secs(20));
        let e = format!("{:#}", r.err().expect("must fail"));
        assert!(e.contains("exited") && e.contains("boom-"), "{e}");
    }

    #[test]
    fn a_server_that_never_answers_times_out_and_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let t = Instant::now();
        let r = ExternalServer::start("sleep 30", &vars(), &log, Duration::from_secs(1));
        let e = format!("{:#}", r.err().expect("must fail"));
        assert!(e.contains("did not answer"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(15), "the group must be killed, not waited for");
    }
}

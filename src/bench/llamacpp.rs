//! llama.cpp's CPU mat-vec beside ours: `qtool bench kernels --llamacpp BIN` runs
//! `scripts/ggml/matvec.c` (built against the ggml of the `llama-cpp-python` package by
//! `scripts/ggml/build.sh`) on the same shapes with the same thread count in the same run, and
//! the report sets our m = 1 kernels against ggml's: W4A16 against Q4_0, W8A8 against Q8_0,
//! bf16 against f16 (the kernels issue's CPU bar: faster than llama.cpp's Q4_0 mat-vec).

use super::kernels::KernelRow;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// One line of the matvec program's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GgmlRow {
    /// Output features.
    pub n: usize,
    /// Input features.
    pub k: usize,
    /// Batch rows (1).
    pub m: usize,
    /// ggml type name: `q4_0`, `q8_0`, `f16`.
    #[serde(rename = "type")]
    pub ggml_type: String,
    /// ggml buffer type the weights lived in: `CPU` (plain) or `CPU_REPACK` (rows interleaved
    /// at load for ggml's AVX2/AVX-512 kernels, as llama.cpp's decode runs Q4_0).
    #[serde(default = "plain_buffer")]
    pub buffer: String,
    /// Threads ggml ran with.
    pub threads: usize,
    /// Weight copies rotated over (together at least 256 MiB).
    pub copies: usize,
    /// Timed graph runs.
    pub reps: usize,
    /// Weight bytes of one copy.
    pub weight_bytes: usize,
    /// Median milliseconds per mat-vec.
    pub median_ms: f64,
    /// Fastest run's milliseconds per mat-vec.
    pub min_ms: f64,
    /// `weight_bytes / median`, GB/s.
    pub gb_per_s: f64,
}

fn plain_buffer() -> String {
    "CPU".into()
}

/// Runs `bin THREADS REPS NxK...` and parses its JSON lines.
pub fn run(bin: &Path, threads: usize, reps: usize, shapes: &[(usize, usize)]) -> anyhow::Result<Vec<GgmlRow>> {
    let mut cmd = std::process::Command::new(bin);
    cmd.arg(threads.to_string()).arg(reps.to_string());
    cmd.args(shapes.iter().map(|(n, k)| format!("{n}x{k}")));
    let out = cmd.output().with_context(|| {
        format!("--llamacpp {}: could not run it (build it with scripts/ggml/build.sh)", bin.display())
    })?;
    if !out.status.success() {
        anyhow::bail!(
            "--llamacpp {}: exited with {}: {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .with_context(|| format!("--llamacpp {}: not a line of scripts/ggml/matvec.c: {l}", bin.display()))
        })
        .collect()
}

/// Our kernel set against a ggml type: the fastest m = 1 row whose name has `ours` in it.
const PAIRS: [(&str, &str, &str); 3] = [
    ("q4_0", "matmul_packed_w4_g128", "W4A16 g128 (sym)"),
    ("q8_0", "matmul_w8a8", "W8A8"),
    ("f16", "matmul_bf16", "bf16"),
];

/// The markdown section: per shape and pair, ggml's time and ours, as a speed ratio.
pub fn section(rows: &[KernelRow], ggml: &[GgmlRow], read_gbps: Option<f64>) -> String {
    let mut s = String::new();
    let threads = ggml.first().map_or(0, |g| g.threads);
    let _ = writeln!(s, "\n## Against llama.cpp's CPU mat-vec (same run, {threads} threads)\n");
    let _ = writeln!(
        s,
        "ggml from the `llama-cpp-python` package (`scripts/ggml/matvec.c`): one graph of mul_mat nodes over weight copies totalling at least 256 MiB, m = 1, x f32 (ggml quantizes it to the weight type's dot type itself); median time per mat-vec. Weights in plain ggml CPU buffers, as `test-backend-ops perf` runs them, and q4_0 also in ggml's `CPU_REPACK` buffers (rows interleaved at load, what llama.cpp's own decode uses), run through the CPU backend. Ours: the fastest m = 1 row of the pair's kernel (`prepared`: repacked at load). Speed > 1: ours is faster.\n"
    );
    let _ = writeln!(s, "| n x k | ggml type | ggml ms | ggml GB/s | ours | our kernel | ours ms | ours GB/s | ours % of read BW | speed vs ggml |");
    let _ = writeln!(s, "|---|---|---:|---:|---|---|---:|---:|---:|---:|");
    for g in ggml {
        let Some((_, pat, label)) = PAIRS.iter().find(|(t, _, _)| *t == g.ggml_type) else { continue };
        let ours = rows
            .iter()
            .filter(|r| r.m == 1 && r.n == g.n && r.k == g.k && r.name.contains(pat) && !r.name.contains("asym"))
            .min_by(|a, b| a.median_s.total_cmp(&b.median_s));
        let (name, ms, gbps, frac, speed) = match ours {
            Some(r) => (
                format!("`{}`", r.name),
                format!("{:.3}", r.median_s * 1e3),
                format!("{:.2}", r.gbps),
                read_gbps.map_or("-".into(), |b| format!("{:.0}%", 100.0 * r.gbps / b)),
                format!("{:.2}x", g.median_ms / (r.median_s * 1e3)),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
        };
        let ty = if g.buffer == "CPU" { g.ggml_type.clone() } else { format!("{} ({})", g.ggml_type, g.buffer) };
        let _ = writeln!(
            s,
            "| {}x{} | {ty} | {:.3} | {:.2} | {label} | {name} | {ms} | {gbps} | {frac} | {speed} |",
            g.n, g.k, g.median_ms, g.gb_per_s
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(name: &str, m: usize, ms: f64) -> KernelRow {
        KernelRow {
            name: name.into(),
            m,
            n: 4096,
            k: 4096,
            median_s: ms * 1e-3,
            weight_bytes: 8 << 20,
            gbps: (8 << 20) as f64 / (ms * 1e-3) / 1e9,
            gflops: 1.0,
            frac_copy_bw: None,
        }
    }

    fn ggml(t: &str, ms: f64) -> GgmlRow {
        GgmlRow {
            n: 4096,
            k: 4096,
            m: 1,
            ggml_type: t.into(),
            buffer: "CPU".into(),
            threads: 2,
            copies: 29,
            reps: 20,
            weight_bytes: 9 << 20,
            median_ms: ms,
            min_ms: ms,
            gb_per_s: 20.0,
        }
    }

    #[test]
    fn pairs_take_the_fastest_m1_sym_kernel_and_state_the_ratio() {
        let rows = [
            ours("cpu_matmul_packed_w4_g128_call", 1, 0.8),
            ours("cpu_matmul_packed_w4_g128_asym_call", 1, 0.1), // asym: not the Q4_0 pair
            ours("cpu_matmul_packed_w4_g128_call", 16, 0.2),     // m = 16: not a mat-vec
            ours("cpu_matmul_w8a8_call", 1, 0.5),
        ];
        let s = section(&rows, &[ggml("q4_0", 0.4), ggml("q8_0", 0.6), ggml("f16", 1.0)], Some(40.0));
        assert!(s.contains("| 4096x4096 | q4_0 | 0.400 |"), "{s}");
        assert!(s.contains("`cpu_matmul_packed_w4_g128_call` | 0.800 |") && s.contains("| 0.50x |"), "{s}");
        assert!(s.contains("`cpu_matmul_w8a8_call` | 0.500 |") && s.contains("| 1.20x |"), "{s}");
        // No bf16 row of ours: dashes, not a made-up ratio.
        assert!(s.contains("| f16 | 1.000 | 20.00 | bf16 | - | - |"), "{s}");
        // ggml's repacked q4_0 is a row of its own, named by its buffer; a line without the
        // field (older builds of matvec.c) is a plain buffer.
        let repack = GgmlRow { buffer: "CPU_REPACK".into(), ..ggml("q4_0", 0.2) };
        let s = section(&rows, &[repack], None);
        assert!(s.contains("| 4096x4096 | q4_0 (CPU_REPACK) | 0.200 |") && s.contains("| 0.25x |"), "{s}");
        let old: GgmlRow = serde_json::from_str(
            r#"{"n": 1, "k": 32, "m": 1, "type": "q4_0", "threads": 2, "copies": 2, "reps": 1, "weight_bytes": 18, "median_ms": 1.0, "min_ms": 1.0, "gb_per_s": 0.1}"#,
        )
        .unwrap();
        assert_eq!(old.buffer, "CPU");
    }

    #[test]
    fn a_missing_or_failing_binary_is_a_clear_error() {
        let e = run(Path::new("/nonexistent/matvec"), 2, 3, &[(64, 64)]).unwrap_err();
        assert!(format!("{e:#}").contains("scripts/ggml/build.sh"), "{e:#}");
        let e = run(Path::new("/bin/false"), 2, 3, &[(64, 64)]).unwrap_err();
        assert!(format!("{e:#}").contains("exited with"), "{e:#}");
        let e = run(Path::new("/bin/echo"), 2, 3, &[(64, 64)]).unwrap_err();
        assert!(format!("{e:#}").contains("not a line of scripts/ggml/matvec.c"), "{e:#}");
    }
}

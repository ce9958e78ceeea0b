//! The report of `qtool bench kernels`: markdown + JSON, with the ceilings measured in the
//! same run (CUDA: device-to-device copy) and, when `--baseline` names the JSON of
//! `scripts/torch_kernels_baseline.py` run on the same GPU, PyTorch's times beside ours and
//! the performance bars checked as ratios within the run.

use super::kernels::KernelRow;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Ceilings measured in the same run as the rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCeilings {
    /// Device name, compute capability, SMs, L2.
    pub device: String,
    /// L2 bytes.
    pub l2_bytes: usize,
    /// Device-to-device copy, GB/s counting bytes read plus written.
    pub copy_gbps: f64,
}

/// One row of the PyTorch baseline JSON (`scripts/torch_kernels_baseline.py`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineRow {
    /// `fp16_linear`, `int_mm` or `int4pack_mm`.
    pub op: String,
    /// Batch rows.
    pub m: usize,
    /// Output features.
    pub n: usize,
    /// Input features.
    pub k: usize,
    /// Median microseconds per call, eager launches (absent when the op failed).
    pub median_us: Option<f64>,
    /// The same calls captured in one CUDA graph and replayed (no launch overhead), when
    /// capture worked: the figure compared with ours, which are graph-replayed too.
    #[serde(default)]
    pub graph_us: Option<f64>,
    /// Why the op did not run.
    #[serde(default)]
    pub error: Option<String>,
}

/// The PyTorch baseline file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    /// Torch version.
    #[serde(default)]
    pub torch: serde_json::Value,
    /// Device name as torch saw it.
    #[serde(default)]
    pub device: serde_json::Value,
    /// Copy bandwidth and GEMM peak as torch measured them.
    #[serde(default)]
    pub ceilings: serde_json::Value,
    /// Timed rows.
    pub rows: Vec<BaselineRow>,
}

impl Baseline {
    /// Reads `path`, naming it in the error.
    pub fn read(path: &std::path::Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--baseline {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "--baseline {}: not the JSON of scripts/torch_kernels_baseline.py ({{\"rows\": [{{\"op\", \"m\", \"n\", \"k\", \"median_us\"}}]}}): {e}",
                path.display()
            )
        })
    }

    /// PyTorch's seconds for `op` at (m, n, k): the graph-replayed time when there is one,
    /// else the eager median.
    pub fn seconds(&self, op: &str, m: usize, n: usize, k: usize) -> Option<f64> {
        let r = self.rows.iter().find(|r| r.op == op && r.m == m && r.n == n && r.k == k)?;
        r.graph_us.or(r.median_us).map(|us| us * 1e-6)
    }
}

/// A kernel benchmark run: what ran where, and its rows.
#[derive(Debug, Serialize, Deserialize)]
pub struct KernelBenchReport {
    /// The command line.
    pub command: String,
    /// CPU and threads.
    pub machine: String,
    /// Backend name.
    pub backend: String,
    /// The GPU adapter, for `wgsl*` backends.
    pub device: Option<String>,
    /// Ceilings measured in the same run (CUDA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceilings: Option<DeviceCeilings>,
    /// CPU backends: the read bandwidth measured before the rows (GB/s, all threads), which
    /// the weight GB/s of each row is set against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_gbps: Option<f64>,
    /// CPU backends: the f32 multiply-add peak measured before the rows (GFLOP/s, all
    /// threads, [`kernels::cpu::flops::measure_peak_gflops`]), which GFLOP/s is set against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_gflops: Option<f64>,
    /// PyTorch's numbers on the same GPU (`--baseline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// llama.cpp's (ggml's) CPU mat-vec on the same shapes, run in the same invocation
    /// (`--llamacpp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llamacpp: Option<Vec<super::llamacpp::GgmlRow>>,
    /// Rows.
    pub rows: Vec<KernelRow>,
}

impl KernelBenchReport {
    /// Markdown: header, the bars (when a GPU baseline is present), the table.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Kernel benchmark: `{}`\n", self.backend);
        let _ = writeln!(s, "Made by `{}`.\n\n- machine: {}", self.command, self.machine);
        if let Some(d) = &self.device {
            let cpu_driver = ["llvmpipe", "lavapipe"].iter().any(|c| d.to_lowercase().contains(c));
            let note = if cpu_driver {
                " (lavapipe/llvmpipe is a CPU driver: its numbers say nothing about GPUs)"
            } else {
                ""
            };
            let _ = writeln!(s, "- device: {d}{note}");
        }
        if let Some(c) = &self.ceilings {
            let _ = writeln!(
                s,
                "- device: {}; device-to-device copy {:.0} GB/s (bytes read + written), measured in this run",
                c.device, c.copy_gbps
            );
            let _ = writeln!(s, "- times are device-side: launches captured in a CUDA graph and timed with events, weights rotated over more than 4x L2");
        }
        if let Some(b) = &self.baseline {
            let _ = writeln!(
                s,
                "- PyTorch baseline on the same GPU: torch {} on {}, ceilings {}",
                b.torch, b.device, b.ceilings
            );
        }
        if self.baseline.is_some() {
            self.bars(&mut s);
        }
        let _ = writeln!(s, "\nGB/s counts the weight bytes read per call (codes + scales + zeros for packed); WGSL rows without `resident` include uploading W and x and reading y back.\n");
        if let Some(r) = self.read_gbps {
            let _ = writeln!(s, "- read bandwidth measured before the rows: {r:.1} GB/s (1 GiB, every thread)");
        }
        if let Some(p) = self.peak_gflops {
            let _ = writeln!(
                s,
                "- f32 multiply-add peak measured before the rows: {p:.1} GFLOP/s (every thread, registers only); `w8a8` rows count int8 multiply-adds as 2 ops each"
            );
        }
        let peak = |g: f64| self.peak_gflops.map_or("-".into(), |p| format!("{:.0}%", 100.0 * g / p));
        let gpu = self.ceilings.is_some();
        if self.read_gbps.is_some() || self.peak_gflops.is_some() {
            let _ = writeln!(s);
        }
        if gpu {
            let _ = writeln!(
                s,
                "| kernel | m | n x k | median us | weight GB/s | % of copy | TFLOP/s | PyTorch fp16 us | x fp16 |"
            );
            let _ = writeln!(s, "|---|---:|---|---:|---:|---:|---:|---:|---:|");
        } else if self.read_gbps.is_some() {
            let _ = writeln!(
                s,
                "| kernel | m | n x k | median ms | weight GB/s | % of read BW | GFLOP/s | % of FMA peak |"
            );
            let _ = writeln!(s, "|---|---:|---|---:|---:|---:|---:|---:|");
        } else {
            let _ = writeln!(s, "| kernel | m | n x k | median ms | weight GB/s | GFLOP/s |");
            let _ = writeln!(s, "|---|---:|---|---:|---:|---:|");
        }
        for r in &self.rows {
            if gpu {
                let fp16 = self.baseline.as_ref().and_then(|b| b.seconds("fp16_linear", r.m, r.n, r.k));
                let _ = writeln!(
                    s,
                    "| {} | {} | {}x{} | {:.2} | {:.0} | {:.0}% | {:.2} | {} | {} |",
                    r.name,
                    r.m,
                    r.n,
                    r.k,
                    r.median_s * 1e6,
                    r.gbps,
                    100.0 * r.frac_copy_bw.unwrap_or(0.0),
                    r.gflops / 1e3,
                    fp16.map_or("-".into(), |t| format!("{:.2}", t * 1e6)),
                    fp16.map_or("-".into(), |t| format!("{:.2}", t / r.median_s)),
                );
            } else if let Some(read) = self.read_gbps {
                let _ = writeln!(
                    s,
                    "| {} | {} | {}x{} | {:.3} | {:.2} | {:.0}% | {:.2} | {} |",
                    r.name,
                    r.m,
                    r.n,
                    r.k,
                    r.median_s * 1e3,
                    r.gbps,
                    100.0 * r.gbps / read,
                    r.gflops,
                    peak(r.gflops)
                );
            } else {
                let _ = writeln!(
                    s,
                    "| {} | {} | {}x{} | {:.3} | {:.2} | {:.2} |",
                    r.name,
                    r.m,
                    r.n,
                    r.k,
                    r.median_s * 1e3,
                    r.gbps,
                    r.gflops
                );
            }
        }
        if let Some(g) = &self.llamacpp {
            s.push_str(&super::llamacpp::section(&self.rows, g, self.read_gbps));
        }
        s
    }

    /// The GPU bars of the kernels issue, as ratios within this run, one line per shape.
    fn bars(&self, s: &mut String) {
        let Some(b) = &self.baseline else { return };
        // The fastest symmetric int4 g128 kernel at (m, n, k).
        let w4_at = |m: usize, n: usize, k: usize| {
            self.rows
                .iter()
                .filter(|r| r.name.starts_with("cuda_matmul_packed_w4_g128_") && !r.name.contains("asym"))
                .filter(|r| r.m == m && r.n == n && r.k == k)
                .min_by(|a, c| a.median_s.total_cmp(&c.median_s))
        };
        let mut shapes: Vec<(usize, usize)> = self.rows.iter().map(|r| (r.n, r.k)).collect();
        shapes.dedup();
        let _ = writeln!(s, "\n## Bars (ratios within this run)\n");
        let _ = writeln!(s, "W4A16 = the faster of our sym int4 g128 kernels. Bars: GEMV m=1 at >= 85% of the copy bandwidth and >= 3x PyTorch fp16; time flat within 25% from m=1 to m=16; W8A8 >= 1.5x PyTorch fp16 at m >= 512.\n");
        let _ = writeln!(s, "| n x k | W4 m=1 % of copy | W4 m=1 x fp16 | W4 t(m=16)/t(m=1) | W8A8 m>=512 x fp16 |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|");
        for (n, k) in shapes {
            let w4 = |m| w4_at(m, n, k);
            let one = w4(1);
            let frac = one.and_then(|r| r.frac_copy_bw).map_or("-".into(), |f| format!("{:.0}%", 100.0 * f));
            let vs = one
                .and_then(|r| b.seconds("fp16_linear", 1, n, k).map(|t| t / r.median_s))
                .map_or("-".into(), |x| format!("{x:.2}x"));
            let flat = one.zip(w4(16)).map_or("-".into(), |(a, c)| format!("{:.2}", c.median_s / a.median_s));
            let w8 = self
                .rows
                .iter()
                .filter(|r| r.name.starts_with("cuda_matmul_w8a8") && r.n == n && r.k == k && r.m >= 512)
                .filter_map(|r| b.seconds("fp16_linear", r.m, n, k).map(|t| (r.m, t / r.median_s)))
                .fold(
                    None::<(usize, f64)>,
                    |best, (m, x)| if best.is_none_or(|(_, bx)| x > bx) { Some((m, x)) } else { best },
                )
                .map_or("-".into(), |(m, x)| format!("{x:.2}x (m={m})"));
            let _ = writeln!(s, "| {n}x{k} | {frac} | {vs} | {flat} | {w8} |");
        }
    }

    /// Reads a report's JSON (to render it again with this version's markdown).
    pub fn read(path: &std::path::Path) -> anyhow::Result<KernelBenchReport> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--render {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("--render {}: not the JSON of a `qtool bench kernels` report: {e}", path.display())
        })
    }

    /// Writes `out` (markdown) and the same name with `.json`.
    pub fn write(&self, out: &std::path::Path) -> anyhow::Result<()> {
        crate::atomic::write(out, self.markdown().as_bytes())?;
        crate::atomic::write(&out.with_extension("json"), serde_json::to_string_pretty(self)?.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, m: usize, s: f64, frac: f64) -> KernelRow {
        KernelRow {
            name: name.into(),
            m,
            n: 4096,
            k: 4096,
            median_s: s,
            weight_bytes: 1,
            gbps: 1.0,
            gflops: 1.0,
            frac_copy_bw: Some(frac),
        }
    }

    fn base(op: &str, m: usize, us: f64, graph_us: Option<f64>) -> BaselineRow {
        BaselineRow { op: op.into(), m, n: 4096, k: 4096, median_us: Some(us), graph_us, error: None }
    }

    #[test]
    fn bars_are_ratios_of_the_fastest_sym_w4_and_the_best_w8a8() {
        let report = KernelBenchReport {
            command: "qtool bench kernels --backend cuda".into(),
            machine: "test".into(),
            backend: "cuda".into(),
            device: None,
            ceilings: Some(DeviceCeilings { device: "GPU".into(), l2_bytes: 1, copy_gbps: 1000.0 }),
            read_gbps: None,
            peak_gflops: None,
            baseline: Some(Baseline {
                torch: "2.11".into(),
                device: "GPU".into(),
                ceilings: serde_json::Value::Null,
                // graph_us wins over the eager median when present.
                rows: vec![
                    base("fp16_linear", 1, 99.0, Some(30.0)),
                    base("fp16_linear", 512, 400.0, None),
                    base("fp16_linear", 1024, 800.0, None),
                ],
            }),
            llamacpp: None,
            rows: vec![
                row("cuda_matmul_packed_w4_g128_simple", 1, 20e-6, 0.4),
                row("cuda_matmul_packed_w4_g128_tuned", 1, 10e-6, 0.8),
                row("cuda_matmul_packed_w4_g128_asym_tuned", 1, 1e-6, 0.99),
                row("cuda_matmul_packed_w4_g128_tuned", 16, 12e-6, 0.7),
                row("cuda_matmul_w8a8_mma", 512, 200e-6, 0.1),
                row("cuda_matmul_w8a8_mma", 1024, 1000e-6, 0.1),
            ],
        };
        let md = report.markdown();
        // m=1: tuned (10 us) is the faster sym kernel: 80% of copy, 30/10 = 3x; flat 12/10.
        // W8A8: 400/200 = 2x at m=512 beats 0.8x at m=1024.
        assert!(md.contains("| 4096x4096 | 80% | 3.00x | 1.20 | 2.00x (m=512) |"), "{md}");
        assert!(md.contains("| cuda_matmul_packed_w4_g128_tuned | 1 | 4096x4096 | 10.00 |"), "{md}");
    }

    #[test]
    fn a_baseline_that_is_not_the_scripts_json_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("torch.json");
        std::fs::write(&p, "{\"rows\": 3}").unwrap();
        let e = Baseline::read(&p).unwrap_err().to_string();
        assert!(e.contains("torch.json") && e.contains("torch_kernels_baseline.py"), "{e}");
    }
}

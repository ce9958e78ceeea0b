//! Markdown + JSON of `qtool bench throughput`: per workload, both engines' tokens/s as
//! min / median / max over the interleaved repeats, the ratio of the medians and the range of
//! the per-repeat ratios (repeat r of qtool against repeat r of llama.cpp, run back to back);
//! then decode against the read-bandwidth limit and prefill against the compute peaks.

use super::throughput::{ThroughputConfig, ThroughputRun, Workload};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// The report: the run plus what produced it.
#[derive(Debug, Serialize)]
pub struct ThroughputReport {
    /// The command line.
    pub command: String,
    /// qtool's checkpoint.
    pub model: String,
    /// The GGUF llama.cpp ran, if it ran.
    pub llama_gguf: Option<String>,
    /// The folder of llama.cpp's tools (scripts/llamacpp/build.sh names it after the
    /// `llama-cpp-python` version whose sdist it built).
    pub llamacpp_bin: Option<String>,
    /// qtool's backend.
    pub backend: String,
    /// Threads of both engines.
    pub threads: usize,
    /// CPU and load.
    pub machine: String,
    /// UTC date of the run.
    pub date: String,
    /// The measurements.
    pub run: ThroughputRun,
}

/// `(min, median, max)` of `xs` (the upper median for an even count); `None` when empty.
pub fn min_med_max(xs: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some((v[0], v[v.len() / 2], v[v.len() - 1]))
}

fn cell(xs: &[f64]) -> String {
    match min_med_max(xs) {
        Some((lo, med, hi)) => format!("{lo:.1} / **{med:.1}** / {hi:.1}"),
        None => "–".into(),
    }
}

fn ratios(w: &Workload) -> (String, String) {
    let (Some((_, q, _)), Some((_, l, _))) = (min_med_max(&w.qtool), min_med_max(&w.llamacpp)) else {
        return ("–".into(), "–".into());
    };
    let paired: Vec<f64> = w.qtool.iter().zip(&w.llamacpp).map(|(a, b)| a / b).collect();
    let range = min_med_max(&paired).map_or("–".into(), |(lo, _, hi)| format!("{lo:.2}–{hi:.2}"));
    (format!("**{:.2}x**", q / l), range)
}

impl ThroughputReport {
    /// Builds the report of `run`.
    pub fn new(cfg: &ThroughputConfig, run: ThroughputRun) -> Self {
        ThroughputReport {
            command: crate::cli::command_line(),
            model: cfg.model.display().to_string(),
            llama_gguf: cfg.llama_gguf.as_ref().map(|p| p.display().to_string()),
            llamacpp_bin: cfg.llamacpp_bin.as_ref().map(|p| p.display().to_string()),
            backend: cfg.backend.clone(),
            threads: cfg.threads,
            machine: super::machine_description(),
            date: crate::bench::utc_date(),
            run,
        }
    }

    /// Renders the markdown report.
    pub fn markdown(&self) -> String {
        let r = &self.run;
        let l = &r.limits;
        let bw = l.read_gbps_before.max(l.read_gbps_after);
        let mut s = String::new();
        let _ = writeln!(s, "# Throughput: qtool against llama.cpp ({})\n", self.model);
        let _ = writeln!(s, "Made by `{}` on {}.\n", self.command, self.date);
        let _ = writeln!(s, "- machine: {}", self.machine);
        let _ = writeln!(
            s,
            "- qtool: backend `{}`, {} threads; Linears: {}",
            self.backend, self.threads, r.quant_description
        );
        match (&self.llama_gguf, &r.llamacpp_build) {
            (Some(g), Some(b)) => {
                let _ = writeln!(
                    s,
                    "- llama.cpp: `{}` (build {b}; scripts/llamacpp/build.sh builds the `llama-cpp-python` sdist's vendor/llama.cpp with GGML_NATIVE), CPU `{}`, on `{g}`",
                    self.llamacpp_bin.as_deref().unwrap_or("?"),
                    r.llamacpp_cpu.as_deref().unwrap_or("?")
                );
            }
            _ => {
                let _ = writeln!(s, "- llama.cpp: not run");
            }
        }
        let _ = writeln!(
            s,
            "- measured limits ({} threads): read bandwidth {:.1} GB/s before, {:.1} GB/s after; f32 FMA peak {:.1} GFLOP/s{}",
            self.threads,
            l.read_gbps_before,
            l.read_gbps_after,
            l.f32_gflops,
            l.int8_gops.as_ref().map_or(String::new(), |(g, p)| format!("; int8 dot-product peak {g:.1} GOP/s ({p})"))
        );
        let n = r.workloads.first().map_or(0, |w| w.qtool.len());
        let _ = writeln!(
            s,
            "- {n} repeats, interleaved: each repeat runs every workload on qtool, then on llama.cpp. Cells are min / **median** / max tokens/s of the whole batch; the ratio is of the medians, and its range is over the per-repeat ratios.\n"
        );
        let _ = writeln!(s, "| workload | qtool tok/s | llama.cpp tok/s | qtool / llama.cpp | per-repeat range |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|");
        for w in &r.workloads {
            let (ratio, range) = ratios(w);
            let _ = writeln!(s, "| {} | {} | {} | {ratio} | {range} |", w.name, cell(&w.qtool), cell(&w.llamacpp));
        }
        let _ = writeln!(s, "\n## Against the machine's limits\n");
        let _ = writeln!(
            s,
            "A decode step reads every weight once ({:.1} MB), so batch-1 decode is bounded by the read bandwidth; prefill is bounded by compute: {:.2} GFLOP per token in the decoder Linears, plus causal attention.\n",
            r.cost.weight_bytes as f64 / 1e6,
            r.cost.linear_flops_per_token / 1e9
        );
        let _ = writeln!(s, "| workload | engine | median tok/s | achieved | share of the limit |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|");
        for w in &r.workloads {
            for (engine, xs) in [("qtool", &w.qtool), ("llama.cpp", &w.llamacpp)] {
                let Some((_, med, _)) = min_med_max(xs) else { continue };
                if !w.prefill && w.batch == 1 {
                    let gbps = r.cost.weight_bytes as f64 * med / 1e9;
                    let _ = writeln!(
                        s,
                        "| {} | {engine} | {med:.1} | {gbps:.1} GB/s of weights | {:.0}% of read BW |",
                        w.name,
                        100.0 * gbps / bw
                    );
                } else if w.prefill {
                    let per_seq = r.cost.prefill_flops(w.prompt_tokens) / w.prompt_tokens as f64;
                    let gflops = per_seq * med / 1e9;
                    let int8 = l
                        .int8_gops
                        .as_ref()
                        .map_or(String::new(), |(g, _)| format!(", {:.0}% of int8", 100.0 * gflops / g));
                    let _ = writeln!(
                        s,
                        "| {} | {engine} | {med:.1} | {gflops:.1} GFLOP/s | {:.0}% of f32 FMA{int8} |",
                        w.name,
                        100.0 * gflops / l.f32_gflops
                    );
                }
            }
        }
        let _ = writeln!(s, "\n## llama.cpp commands (last repeat)\n");
        for w in &r.workloads {
            if let Some(c) = &w.llamacpp_command {
                let _ = writeln!(s, "- {}: `{c}`", w.name);
            }
        }
        s
    }

    /// Writes `out` (markdown) and the same name with `.json`, each atomically.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        crate::atomic::write(out, self.markdown().as_bytes())?;
        crate::atomic::write(&out.with_extension("json"), serde_json::to_string_pretty(self)?.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_med_max_takes_the_upper_median_and_skips_nan() {
        assert_eq!(min_med_max(&[3.0, 1.0, 2.0]), Some((1.0, 2.0, 3.0)));
        assert_eq!(min_med_max(&[4.0, 1.0, 2.0, 3.0]), Some((1.0, 3.0, 4.0)));
        assert_eq!(min_med_max(&[f64::NAN, 5.0]), Some((5.0, 5.0, 5.0)));
        assert_eq!(min_med_max(&[]), None);
    }

    #[test]
    fn ratio_is_of_medians_and_range_of_paired_repeats() {
        let w = Workload {
            name: "x".into(),
            qtool: vec![10.0, 12.0, 11.0],
            llamacpp: vec![5.0, 8.0, 10.0],
            llamacpp_command: None,
            prompt_tokens: 0,
            batch: 1,
            prefill: false,
        };
        let (ratio, range) = ratios(&w);
        assert_eq!(ratio, "**1.38x**"); // 11 / 8
        assert_eq!(range, "1.10–2.00"); // 11/10 .. 10/5
    }
}

//! Markdown + JSON output of `qtool bench model`, written atomically into `reports/`.

use super::model_speed::ModelBenchRow;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Everything one `qtool bench model` run measured.
#[derive(Debug, Serialize)]
pub struct ModelBenchReport {
    /// The checkpoint.
    pub model: String,
    /// The command line that produced the report.
    pub command: String,
    /// CPU and threads.
    pub machine: String,
    /// Backend.
    pub backend: String,
    /// Read bandwidth measured before the runs, GB/s.
    pub read_gbps_before: f64,
    /// Read bandwidth measured after the runs, GB/s.
    pub read_gbps_after: f64,
    /// Measured rows.
    pub rows: Vec<ModelBenchRow>,
    /// UTC time of the run (seconds since the epoch).
    pub unix_time: u64,
}

impl ModelBenchReport {
    /// The bandwidth the decode rows are compared with: the higher of the two measurements.
    pub fn read_gbps(&self) -> f64 {
        self.read_gbps_before.max(self.read_gbps_after)
    }

    /// Renders the markdown report.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Model speed: {}\n", self.model);
        let _ = writeln!(s, "Made by `{}` (unix time {}).\n", self.command, self.unix_time);
        let _ = writeln!(s, "- machine: {}", self.machine);
        let _ = writeln!(s, "- backend: `{}`", self.backend);
        let _ = writeln!(
            s,
            "- measured read bandwidth (STREAM-like sum over 1 GiB, all threads, best of several): {:.2} GB/s before the runs, {:.2} GB/s after\n",
            self.read_gbps_before, self.read_gbps_after
        );
        let _ = writeln!(s, "Decode reads every weight once per step, so `weight GB/s` = weight bytes / step time; its share of the measured read bandwidth is the last column. Prompts are synthetic token ids; generation is greedy with EOS ignored, so every run does the same work; the best of the repeats is kept.\n");
        let _ = writeln!(s, "| dtype | batch | prompt tok | gen tok | prefill tok/s | decode tok/s | ms/step | weight MB | weight GB/s | % of read BW |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.0}% |",
                r.dtype,
                r.batch,
                r.prompt_tokens,
                r.gen_tokens,
                r.prefill_tps,
                r.decode_tps,
                r.decode_step_ms,
                r.weight_bytes as f64 / 1e6,
                r.decode_gbps,
                100.0 * r.decode_gbps / self.read_gbps()
            );
        }
        s
    }

    /// Writes `out` (markdown) and the same name with `.json`, each via a temporary file.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        crate::atomic::write(out, self.markdown().as_bytes())?;
        crate::atomic::write(&out.with_extension("json"), serde_json::to_string_pretty(self)?.as_bytes())?;
        Ok(())
    }
}

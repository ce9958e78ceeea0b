//! The markdown + JSON report of `qtool sweep`, with the caveat about already-rounded bases
//! and an automatic check of the expected order (fewer bits, more KLD).

use super::SweepRow;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// Everything a sweep report shows.
#[derive(Debug, Serialize)]
pub struct SweepReport {
    /// Base checkpoint.
    pub base: String,
    /// The exact command.
    pub command: String,
    /// CPU, threads, load.
    pub machine: String,
    /// KLD text source.
    pub text: String,
    /// KLD context and chunks.
    pub ctx: usize,
    /// Chunks scored.
    pub chunks: String,
    /// Rows.
    pub rows: Vec<SweepRow>,
}

/// Pairs (more bits, fewer bits) of the same family whose KLD should grow; returns the
/// violations as sentences.
pub fn order_violations(rows: &[SweepRow]) -> Vec<String> {
    let chains: [&[&str]; 3] =
        [&["w8a16", "w4a16", "w3a16", "w2a16"], &["w8a8", "w4a8", "w4a4"], &["kv8", "kv4", "kv3", "kv2"]];
    let find = |n: &str| rows.iter().find(|r| r.scheme == n);
    let mut out = Vec::new();
    for chain in chains {
        let present: Vec<&SweepRow> = chain.iter().filter_map(|n| find(n)).collect();
        for w in present.windows(2) {
            if w[1].kld_mean < w[0].kld_mean {
                out.push(format!(
                    "{} (KLD {:.5}) is below {} (KLD {:.5})",
                    w[1].scheme, w[1].kld_mean, w[0].scheme, w[0].kld_mean
                ));
            }
        }
    }
    out
}

impl SweepReport {
    /// Renders the markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Quantization schemes: {}\n", self.base);
        let _ = writeln!(s, "Made by `{}`.\n", self.command);
        let _ = writeln!(s, "- machine: {}", self.machine);
        let _ = writeln!(
            s,
            "- KL divergence of the next-token distribution against the base (the base's own f32 run), llama.cpp's convention: non-overlapping chunks of {} tokens, second half of each scored, {} chunks, text `{}`; top-256 + tail estimate (a lower bound of the exact KL, within a few percent).",
            self.ctx, self.chunks, self.text
        );
        let _ = writeln!(s, "- every scheme is RTN (round to nearest) without calibration; `qtool quantize --list-schemes` prints each scheme's exact meaning; *scheme bits/weight* counts codes, one 16-bit scale per group and an asymmetric zero point per group on the decoder Linears; *stored* is what the checkpoint holds (qtool fake-quant folders keep bf16 values on the quantization grid, so they are as large as bf16); decode speed is batch 1 on the CPU backend (activation and KV quantization run as fake-quant, so they cost time rather than save it).");
        let _ = writeln!(s, "- **Caveat:** the base model was already rounded to a 4-bit grid by its packager (SmolLM2: Q4_1 in blocks of 32; Qwen2.5-Coder: Q4_K/Q6_K). Its dequantized weights are treated as full precision, so 8-bit and some 4-bit weight schemes that line up with that grid lose less than they would on a true bf16 model. Activation and KV-cache quantization are not affected.\n");
        let _ = writeln!(s, "| scheme | format | scheme bits/weight | stored bits/weight (linears) | checkpoint MB | stored bits/weight (all) | KLD mean | KLD median | KLD p99 | top-1 agree | PPL | ΔPPL | decode tok/s |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {:.2} | {:.1} | {:.2} | {:.5} ± {:.5} | {:.5} | {:.4} | {:.2}% | {:.3} | {:+.3} | {:.1} |",
                r.scheme,
                r.format,
                r.scheme_bpw,
                r.linear_bpw,
                r.checkpoint_bytes as f64 / 1e6,
                r.file_bpw,
                r.kld_mean,
                r.kld_se,
                r.kld_median,
                r.kld_p99,
                r.same_top_pct,
                r.ppl_model,
                r.ppl_model - r.ppl_base,
                r.decode_tps
            );
        }
        if let Some(r) = self.rows.first() {
            let _ = writeln!(s, "\nBase perplexity on this text: {:.3}.", r.ppl_base);
        }
        let v = order_violations(&self.rows);
        if v.is_empty() {
            let _ = writeln!(s, "\nExpected order check: within each family (w8a16 → w2a16, w8a8 → w4a4, kv8 → kv2) KLD grows as bits fall: **holds**.");
        } else {
            let _ = writeln!(s, "\nExpected order check: **violated** — {}. See the caveat above: re-quantizing an already 4-bit-rounded model onto a grid that lines up with the source blocks can be nearly free.", v.join("; "));
        }
        let notes: Vec<String> =
            self.rows.iter().flat_map(|r| r.notes.iter().map(move |n| format!("{}: {n}", r.scheme))).collect();
        if !notes.is_empty() {
            let _ = writeln!(s, "\nWriter notes:\n");
            for n in notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }

    /// Writes the markdown to `out` and the JSON beside it.
    pub fn write(&self, out: &Path) -> anyhow::Result<()> {
        crate::atomic::write(out, self.markdown().as_bytes())?;
        crate::atomic::write(&out.with_extension("json"), serde_json::to_string_pretty(self)?.as_bytes())
    }
}

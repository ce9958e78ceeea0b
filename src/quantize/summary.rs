//! The final report of a run: tensors quantized / kept, bytes, bits per weight (quantized
//! Linears alone and the whole output), time, and format notes.

use quant::writer::{CheckpointFormat, WriteStats};
use std::fmt;
use std::path::PathBuf;

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The output folder or file.
    pub out: PathBuf,
    /// The format written.
    pub format: CheckpointFormat,
    /// The scheme's canonical name.
    pub scheme: String,
    /// The writer's counts.
    pub stats: WriteStats,
    /// Format notes (types used, what differs from the scheme's name, files carried over).
    pub notes: Vec<String>,
    /// Wall time of the whole run.
    pub seconds: f64,
}

impl Summary {
    /// A summary (time filled in by the caller).
    pub fn new(out: PathBuf, format: CheckpointFormat, scheme: &str, stats: WriteStats, notes: Vec<String>) -> Summary {
        Summary { out, format, scheme: scheme.to_string(), stats, notes, seconds: 0.0 }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(f, "wrote {} ({}, scheme {})", self.out.display(), self.format.name(), self.scheme)?;
        writeln!(f, "  tensors: {} quantized Linears, {} kept in floating point", s.quantized_tensors, s.kept_tensors)?;
        writeln!(
            f,
            "  quantized Linears: {:.1}M weights in {:.1} MB = {:.3} bits/weight",
            s.quantized_params as f64 / 1e6,
            s.quantized_bytes as f64 / 1e6,
            s.linear_bits_per_weight()
        )?;
        writeln!(
            f,
            "  whole output: {:.1}M weights in {:.1} MB of files = {:.3} bits/weight",
            s.total_params as f64 / 1e6,
            s.file_bytes() as f64 / 1e6,
            s.file_bits_per_weight()
        )?;
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        write!(f, "  time: {:.1}s", self.seconds)
    }
}

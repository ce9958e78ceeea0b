//! `qtool quantize`: load a checkpoint, quantize every decoder Linear (`*_proj`, and `lm_head`
//! when asked) with RTN, in parallel per tensor with a progress bar, or with `--calib` layer by
//! layer through the calibration pipeline (GPTQ, or RTN as a check), and write the result in a
//! checkpoint format (compressed-tensors, GPTQ, GGUF or qtool fake-quant) atomically, with the
//! tokenizer files carried over. The formats themselves are `quant::writer`; this module only
//! picks tensors, runs the quantizer and hands the pieces over.

mod calibrated;
mod gguf_meta;
mod gguf_out;
mod hf_out;
mod options;
mod provenance;
mod quantize_all;
mod select;
mod source;
mod summary;

pub use options::{GptqSettings, QuantizeOptions};
pub use summary::Summary;

use quant::writer::{check, default_format, CheckpointFormat};
use std::time::Instant;

/// Runs the whole pipeline; prints progress to stderr and returns what was written.
pub fn run(o: &QuantizeOptions) -> anyhow::Result<Summary> {
    let t0 = Instant::now();
    // The destination is checked before the (slow) load: the same check the atomic writers
    // make again when they start writing.
    quant::writer::check_target(&o.out, o.force)?;
    let mut src = source::Source::load(&o.model)?;
    let plan = select::plan(&src, o.quantize_lm_head)?;
    if calibrated::is_calibrated(o) && o.scheme.weight.is_some() {
        // The calibration pipeline loads the model once more and quantizes its weights: the
        // source's copies of the Linears are never read again (a GGUF source holds them in f32,
        // 5 GB for a 1.5B model).
        src.drop_tensors(
            plan.linears.iter().map(|(_, w, _)| w.as_str()).filter(|w| !plan.dense.iter().any(|d| d == w)),
        );
    }
    let format = match o.format {
        Some(f) => {
            check(f, &o.scheme, &o.format_options, &plan.shapes())?;
            f
        }
        None => {
            let (f, why) = default_format(&o.scheme, &o.format_options, &plan.shapes());
            if let Some(why) = why {
                eprintln!("note: writing the qtool fake-quant format: compressed-tensors cannot hold this: {why}");
            }
            f
        }
    };
    eprintln!(
        "quantizing {} ({} Linears) with {} -> {} ({})",
        o.model.display(),
        plan.linears.len(),
        o.scheme.name,
        o.out.display(),
        format.name()
    );
    let mut s = match format {
        CheckpointFormat::Gguf => gguf_out::write(o, &src, &plan)?,
        _ => hf_out::write(o, format, &src, &plan)?,
    };
    s.seconds = t0.elapsed().as_secs_f64();
    Ok(s)
}

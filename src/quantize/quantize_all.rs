//! Runs RTN over every planned Linear, tensors in parallel (rayon; RTN also splits rows), with a
//! progress bar counting tensors, or hands over to the calibrated path (`--calib`). Results come
//! back in plan order.

use super::calibrated::{is_calibrated, Calibrated};
use super::options::QuantizeOptions;
use super::provenance::GptqRun;
use super::select::Plan;
use super::source::Source;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use quant::writer::{DenseTensor, QuantLinear};
use quant::{quantize_rtn, RtnOptions, WeightFormat};
use rayon::prelude::*;

/// A bar over `n` tensors.
pub fn bar(n: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(n as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} tensors [{elapsed}] eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// The f32 weight `[n, k]` a plan entry reads.
pub fn weight_f32(src: &Source, weight_name: &str) -> Vec<f32> {
    src.weights[weight_name].to_f32_vec()
}

/// Quantizes every Linear of `plan` to `format`.
pub fn rtn_all(
    src: &Source,
    plan: &Plan,
    format: &WeightFormat,
    opts: &RtnOptions,
) -> anyhow::Result<Vec<QuantLinear>> {
    let pb = bar(plan.linears.len(), &format!("RTN {}", format.label()));
    let out = plan
        .linears
        .par_iter()
        .map(|(module, weight, [n, k])| {
            let w = weight_f32(src, weight);
            let q = quantize_rtn(&w, *n, *k, format, opts).with_context(|| format!("quantizing {module}"))?;
            pb.inc(1);
            Ok(QuantLinear { module: module.clone(), weight: q })
        })
        .collect::<anyhow::Result<Vec<_>>>();
    pb.finish_and_clear();
    out
}

/// The kept tensors of `plan` as f32 (the embeddings once more as `lm_head` is not needed: a
/// tied `lm_head` is simply not stored).
pub fn dense_all(src: &Source, plan: &Plan) -> Vec<DenseTensor> {
    plan.dense
        .iter()
        .map(|name| {
            let t = &src.weights[name];
            DenseTensor { name: name.clone(), shape: t.shape.clone(), data: t.to_f32_vec() }
        })
        .collect()
}

/// Quantizes every Linear of `plan` to `format` (none: a KV-only scheme): through the
/// calibration pipeline when the run is calibrated (`--calib`, a transforming method, KV
/// calibration), else RTN per tensor.
pub fn quantize_linears(
    o: &QuantizeOptions,
    src: &Source,
    plan: &Plan,
    format: Option<&WeightFormat>,
    opts: &RtnOptions,
    gptq: Option<GptqRun>,
) -> anyhow::Result<Calibrated> {
    if is_calibrated(o) {
        return super::calibrated::quantize(o, plan, format, opts.scale_dtype, gptq);
    }
    let linears = match format {
        Some(f) => rtn_all(src, plan, f, opts)?,
        None => Vec::new(),
    };
    Ok(Calibrated { linears, ..Default::default() })
}

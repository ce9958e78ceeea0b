//! The calibrated path of `qtool quantize` (`--calib`): load the source as an f32 model with its
//! tokenizer, draw the calibration samples (guarded against evaluation items), and quantize the
//! planned Linears layer by layer with RTN or GPTQ (`crate::calib`), with a progress bar per
//! layer showing GPTQ's loss and a time split at the end.
//!
//! The model is a second f32 copy of the weights beside the source's (the writer still reads
//! embeddings and norms from the source), so peak memory is about twice the f32 model plus one
//! layer's activations for all samples.

use super::options::QuantizeOptions;
use super::provenance::GptqRun;
use super::select::Plan;
use super::source::Source;
use crate::calib::{build_samples, quantize_sequential, EvalGuard, LinearMethod};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use quant::gptq::GptqOptions;
use quant::writer::QuantLinear;
use quant::{RtnOptions, ScaleDtype, WeightFormat};
use std::collections::HashMap;

/// The method as it will run: static groups are forced on with act-order when the format cannot
/// store a permuted `g_idx` (`permuted_g_idx_ok` false: every format but GPTQ).
pub fn gptq_run(o: &QuantizeOptions, permuted_g_idx_ok: bool) -> Option<GptqRun> {
    (o.method == "gptq").then_some(GptqRun {
        act_order: o.gptq.act_order,
        static_groups: o.gptq.static_groups || (o.gptq.act_order && !permuted_g_idx_ok),
        damp: o.gptq.damp,
    })
}

/// Quantizes every Linear of `plan` to `format` through the calibration pipeline.
pub fn quantize(
    o: &QuantizeOptions,
    src: &Source,
    plan: &Plan,
    format: &WeightFormat,
    scale_dtype: ScaleDtype,
    gptq: Option<GptqRun>,
) -> anyhow::Result<Vec<QuantLinear>> {
    let spec = o.calib.as_ref().context("the calibrated path needs --calib")?;
    let loaded = model::load::load_model(&o.model, Some(model::weights::DType::F32), kernels::cpu_backend())
        .with_context(|| format!("loading {} as an f32 model for calibration", o.model.display()))?;
    let (mut model, tokenizer) = (loaded.model, loaded.tokenizer);
    let guard = EvalGuard::from_assets()?;
    let set = build_samples(spec, &tokenizer, &guard, model.config.max_position_embeddings)?;
    eprintln!(
        "calibration: {} samples x {} tokens from {} (seed {}; {} documents, {} dropped as containing one of {} GSM8K test strings, {} windows)",
        spec.n_samples,
        spec.seqlen,
        spec.source.label(),
        spec.seed,
        set.documents,
        set.dropped,
        guard.len(),
        set.windows
    );
    let method = match gptq {
        Some(g) => {
            if g.static_groups && !o.gptq.static_groups {
                eprintln!("note: act-order with static groups: this format stores no permuted g_idx");
            }
            LinearMethod::Gptq(GptqOptions {
                damp_percent: g.damp,
                act_order: g.act_order,
                static_groups: g.static_groups,
                scale_dtype,
                clip_search: o.clip_search,
                ..GptqOptions::default()
            })
        }
        None => LinearMethod::Rtn(RtnOptions { scale_dtype, clip_search: o.clip_search }),
    };
    let targets: Vec<(String, [usize; 2])> = plan.linears.iter().map(|(m, _, s)| (m.clone(), *s)).collect();
    let names: HashMap<&str, &str> = plan.linears.iter().map(|(m, w, _)| (m.as_str(), w.as_str())).collect();
    let weight = |m: &str| src.weights[names[m]].to_f32_vec();
    let n_steps = model.config.num_hidden_layers + usize::from(names.contains_key("lm_head"));
    let pb = ProgressBar::new(n_steps as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} layers [{elapsed}] eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let what = format!("{} {}", method.name().to_uppercase(), format.label());
    pb.set_message(what.clone());
    let mut on_layer = |r: &crate::calib::LayerReport| {
        let layer = r.layer.map_or("lm_head".to_string(), |i| format!("layer {i}"));
        if method.needs_hessians() {
            let line = format!("  {layer}: GPTQ loss {:.4e} over {} Linears", r.loss, r.linears);
            // A hidden bar (stderr not a terminal) prints nothing, not even println.
            if pb.is_hidden() {
                eprintln!("{line}");
            } else {
                pb.println(line);
            }
            pb.set_message(format!("{what} ({layer} loss {:.3e})", r.loss));
        }
        pb.inc(1);
    };
    let r = quantize_sequential(&mut model, &set.samples, &targets, &weight, format, &method, &mut on_layer)?;
    pb.finish_and_clear();
    let t = r.timings;
    eprintln!(
        "calibration time: layer forwards {:.1}s, Hessian accumulation {:.1}s, quantize {:.1}s (GPTQ Cholesky {:.1}s, \
         sweep and updates {:.1}s); total GPTQ loss {:.4e}",
        t.forward.as_secs_f64(),
        t.hessian.as_secs_f64(),
        t.quantize.as_secs_f64(),
        t.cholesky.as_secs_f64(),
        (t.quantize - t.cholesky).as_secs_f64(),
        r.layers.iter().map(|l| l.loss).sum::<f64>()
    );
    Ok(r.linears)
}

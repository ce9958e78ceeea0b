//! The calibrated path of `qtool quantize`: taken with `--calib`, with a method that transforms
//! the model (`awq`, `smoothquant[+gptq]`, `quarot[+gptq]`) or with a KVQuant-style KV cache to
//! calibrate. Load the source as an f32 model with its tokenizer, draw the calibration samples
//! (guarded against evaluation items), rotate the model first for QuaRot, then quantize the
//! planned Linears layer by layer (`crate::calib`) with the method's per-layer transform, with a
//! progress bar per layer showing GPTQ's loss or the transform's choices and a time split at the
//! end.
//!
//! The model is a second f32 copy of the weights beside the source's (the writer reads the
//! untouched tensors from the source, the transformed ones from this model), so peak memory is
//! about twice the f32 model plus one layer's activations for all samples.

use super::options::QuantizeOptions;
use super::provenance::GptqRun;
use super::select::Plan;
use crate::calib::quarot::{rotate_model, QuarotOptions};
use crate::calib::transform::LayerTransform;
use crate::calib::{build_samples, quantize_sequential, EvalGuard, LinearMethod, Pipeline, Recipe, TransformKind};
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use model::kv_quant::KeyRange;
use model::rotation::RotationPlan;
use quant::awq::AwqOptions;
use quant::format::Granularity;
use quant::gptq::GptqOptions;
use quant::writer::{DenseTensor, QuantLinear};
use quant::{RtnOptions, ScaleDtype, WeightFormat};

/// The method as it will run: static groups are forced on with act-order when the format cannot
/// store a permuted `g_idx` (`permuted_g_idx_ok` false: every format but GPTQ).
pub fn gptq_run(o: &QuantizeOptions, permuted_g_idx_ok: bool) -> Option<GptqRun> {
    let recipe = Recipe::parse(&o.method).ok()?;
    recipe.gptq.then_some(GptqRun {
        act_order: o.gptq.act_order,
        static_groups: o.gptq.static_groups || (o.gptq.act_order && !permuted_g_idx_ok),
        damp: o.gptq.damp,
    })
}

/// Whether keys get KVQuant-style calibrated per-channel ranges: a per-channel key format and
/// calibration data.
pub fn calibrates_keys(o: &QuantizeOptions) -> bool {
    o.calib.is_some() && o.scheme.kv.is_some_and(|kv| kv.k.granularity == Granularity::PerChannel)
}

/// Whether this run takes the calibrated path.
pub fn is_calibrated(o: &QuantizeOptions) -> bool {
    o.calib.is_some() || Recipe::parse(&o.method).is_ok_and(|r| r.transforms_model())
}

/// What the calibrated path produced.
#[derive(Default)]
pub struct Calibrated {
    /// The quantized Linears, in plan order.
    pub linears: Vec<QuantLinear>,
    /// Every other tensor of the transformed model, when the method changed any (norms,
    /// embeddings, an untied lm_head, unquantized Linears); `None`: the source's are right.
    pub dense: Option<Vec<DenseTensor>>,
    /// The online rotations the weights were rotated for (QuaRot).
    pub rotation: Option<RotationPlan>,
    /// Calibrated pre-RoPE key ranges per layer.
    pub key_ranges: Option<Vec<KeyRange>>,
    /// lm_head was untied from the embeddings by the transform.
    pub untied: bool,
}

/// Quantizes every Linear of `plan` to `format` (none for a KV-only scheme) through the
/// calibration pipeline.
pub fn quantize(
    o: &QuantizeOptions,
    plan: &Plan,
    format: Option<&WeightFormat>,
    scale_dtype: ScaleDtype,
    gptq: Option<GptqRun>,
) -> anyhow::Result<Calibrated> {
    let recipe = Recipe::parse(&o.method)?;
    if recipe.needs_calibration() && o.calib.is_none() {
        bail!("--method {} needs calibration data: --calib text:FILE, gsm8k:FILE or traces:FILE", o.method);
    }
    if recipe.transform != TransformKind::None && format.is_none() && recipe.transform != TransformKind::Quarot {
        bail!(
            "--method {} transforms weights before quantizing them, but scheme {} quantizes no weights",
            o.method,
            o.scheme.name
        );
    }
    let loaded = model::load::load_model(&o.model, Some(model::weights::DType::F32), kernels::cpu_backend())
        .with_context(|| format!("loading {} as an f32 model for calibration", o.model.display()))?;
    let (mut model, tokenizer) = (loaded.model, loaded.tokenizer);
    let (samples, holdout) = match &o.calib {
        Some(spec) => {
            let guard = EvalGuard::from_assets()?;
            let context = model.config.max_position_embeddings;
            let set = build_samples(spec, &tokenizer, &guard, context, o.calib_holdout)?;
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
            if !set.holdout.is_empty() {
                eprintln!("held-out check: {} more samples from windows calibration did not draw", set.holdout.len());
            }
            (set.samples, set.holdout)
        }
        None => (Vec::new(), Vec::new()),
    };
    let tied = model.lm_head.is_none();
    let rotation = if recipe.transform == TransformKind::Quarot {
        let weights_or_acts = o.scheme.weight.is_some() || o.scheme.act.is_some();
        let q = QuarotOptions {
            seed: o.seed,
            residual: weights_or_acts,
            online_down: weights_or_acts,
            rotate_qk: o.scheme.kv.is_some(),
        };
        let t0 = std::time::Instant::now();
        let plan = rotate_model(&mut model, &q)?;
        eprintln!(
            "QuaRot: {} in {:.1}s",
            [
                q.residual.then_some("residual stream rotated (norms folded, lm_head untied)"),
                Some("values rotated per head"),
                q.online_down.then_some("online Hadamard before down_proj"),
                q.rotate_qk.then_some("online Hadamard on query/key heads"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", "),
            t0.elapsed().as_secs_f64()
        );
        Some(plan)
    } else {
        None
    };
    let transform = match recipe.transform {
        TransformKind::Awq => LayerTransform::Awq(AwqOptions { scale_dtype, ..AwqOptions::default() }),
        TransformKind::SmoothQuant => LayerTransform::Smooth { alpha: o.smooth_alpha },
        TransformKind::None | TransformKind::Quarot => LayerTransform::None,
    };
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
    let kv_calibration = calibrates_keys(o);
    let targets: Vec<(String, [usize; 2])> = match format {
        Some(_) => plan.linears.iter().map(|(m, _, s)| (m.clone(), *s)).collect(),
        None => Vec::new(),
    };
    let quantizes_lm_head = targets.iter().any(|(m, _)| m == "lm_head");
    let n_steps = model.config.num_hidden_layers + usize::from(quantizes_lm_head);
    let pb = ProgressBar::new(n_steps as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} layers [{elapsed}] eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let what = format!(
        "{} {}{}",
        o.method.to_uppercase(),
        format.map_or("(no weights)".to_string(), |f| f.label()),
        if kv_calibration { " + KV calibration" } else { "" }
    );
    pb.set_message(what.clone());
    let mut on_layer = |r: &crate::calib::LayerReport| {
        let layer = r.layer.map_or("lm_head".to_string(), |i| format!("layer {i}"));
        let mut parts = Vec::new();
        if method.needs_hessians() {
            parts.push(format!("GPTQ loss {:.4e} over {} Linears", r.loss, r.linears));
        }
        if !r.transform.is_empty() {
            parts.push(r.transform.clone());
        }
        if !parts.is_empty() {
            let line = format!("  {layer}: {}", parts.join("; "));
            // A hidden bar (stderr not a terminal) prints nothing, not even println.
            if pb.is_hidden() {
                eprintln!("{line}");
            } else {
                pb.println(line);
            }
        }
        if method.needs_hessians() {
            pb.set_message(format!("{what} ({layer} loss {:.3e})", r.loss));
        }
        pb.inc(1);
    };
    let pipeline = Pipeline {
        method: &method,
        transform: &transform,
        kv_calibration,
        holdout: (!holdout.is_empty()).then_some((&holdout[..], scale_dtype)),
    };
    let r = quantize_sequential(&mut model, &samples, &targets, format, &pipeline, &mut on_layer)?;
    pb.finish_and_clear();
    if !r.holdout.is_empty() {
        eprintln!(
            "held-out check: mean squared output error ½ tr(ΔW H ΔWᵀ) under the calibration samples' Hessian (cal) and the \
             held-out samples' (held-out), summed over layers, as a ratio to RTN's:\n{}",
            crate::calib::holdout::table(&r.holdout)
        );
    }
    let t = r.timings;
    // GPTQ's own phases and loss only where GPTQ ran (AWQ, SmoothQuant+RTN, QuaRot+RTN have none).
    let gptq = if method.needs_hessians() {
        format!(
            " (GPTQ group parameters {:.1}s, Cholesky {:.1}s, update loop {:.1}s); total GPTQ loss {:.4e}",
            t.group_params.as_secs_f64(),
            t.cholesky.as_secs_f64(),
            t.sweep.as_secs_f64(),
            r.layers.iter().map(|l| l.loss).sum::<f64>()
        )
    } else {
        String::new()
    };
    eprintln!(
        "calibration time: layer forwards {:.1}s, statistics {:.1}s, transform + quantize {:.1}s{gptq}",
        t.forward.as_secs_f64(),
        t.hessian.as_secs_f64(),
        t.quantize.as_secs_f64(),
    );
    let dense = if recipe.transforms_model() {
        let names: Vec<String> = targets.iter().map(|(m, _)| m.clone()).collect();
        Some(crate::calib::export::dense_tensors(&model, &names)?)
    } else {
        None
    };
    Ok(Calibrated {
        linears: r.linears,
        dense,
        rotation,
        key_ranges: r.key_ranges,
        untied: tied && model.lm_head.is_some(),
    })
}

//! The layer-by-layer driver (GPTQ's sequential mode). With `hidden[s]` the residual stream of
//! sample `s` (`[seqlen, d]` f32):
//!
//! ```text
//! hidden[s] = embed(sample s)                                   for every s
//! for layer i:
//!     run layer i on a copy of every hidden[s], observers on its Linear inputs -> Hessians,
//!         channel statistics (what the method and transform need)
//!     transform the layer (AWQ / SmoothQuant scales folded; statistics scaled to match)
//!     quantize the layer's Linears (RTN or GPTQ), put their dequantized weights into the model
//!     hidden[s] = layer i (now quantized) applied to hidden[s]   for every s
//!         (with KV calibration: the pre-RoPE key range of layer i recorded here)
//! lm_head (when quantized): Hessian of rms_norm(hidden) · norm, then quantize
//! ```
//!
//! so layer i is calibrated on what the already-quantized layers < i produce. RTN without a
//! transform skips the observing pass and gives exactly what quantizing each weight alone gives.
//! The weights quantized are the model's own (f32), after any whole-model transform the caller
//! applied first (QuaRot's rotation). Held-out samples ([`super::holdout`]), when given, are
//! observed and carried forward beside `hidden` but change no weight.

use super::holdout::{self, HoldoutRow};
use super::method::LinearMethod;
use super::stats::{Gather, LayerStats};
use super::transform::LayerTransform;
use super::weights::dense_f32;
use anyhow::Context;
use model::kv_quant::KeyRange;
use model::linear::Linear;
use model::linear_weight::LinearWeight;
use model::transformer::Layer;
use model::weights::Tensor;
use model::{LinearInput, Model};
use quant::gptq::Hessian;
use quant::writer::QuantLinear;
use quant::{ScaleDtype, WeightFormat};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Where the time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Layer forwards (observing and propagating passes), Hessian accumulation excluded.
    pub forward: Duration,
    /// `Hessian::add_batch`.
    pub hessian: Duration,
    /// Quantizing (GPTQ: damping, Cholesky and the sweep; RTN: rounding).
    pub quantize: Duration,
    /// Of `quantize`, GPTQ's damping + Cholesky of the inverse Hessian.
    pub cholesky: Duration,
    /// Of `quantize`, GPTQ's update loop (column sweep and lazy block updates).
    pub sweep: Duration,
    /// Of `quantize`, GPTQ's static group parameters (with the clip search).
    pub group_params: Duration,
}

/// One finished layer.
#[derive(Debug, Clone)]
pub struct LayerReport {
    /// Decoder layer index (`None`: lm_head).
    pub layer: Option<usize>,
    /// Sum of GPTQ's losses over the layer's Linears (0 for RTN).
    pub loss: f64,
    /// Linears quantized in it.
    pub linears: usize,
    /// What the transform chose, one line (empty without a transform).
    pub transform: String,
}

/// What the pipeline returns.
pub struct SequentialResult {
    /// The quantized Linears, in the order of `targets`.
    pub linears: Vec<QuantLinear>,
    /// Per-layer reports, in order.
    pub layers: Vec<LayerReport>,
    /// Time split.
    pub timings: Timings,
    /// Calibrated pre-RoPE key ranges per layer, when asked for.
    pub key_ranges: Option<Vec<KeyRange>>,
    /// The held-out check of every decoder Linear, when asked for ([`super::holdout`]).
    pub holdout: Vec<HoldoutRow>,
}

/// How the pipeline quantizes.
pub struct Pipeline<'a> {
    /// The weight quantizer.
    pub method: &'a LinearMethod,
    /// The per-layer transform before it.
    pub transform: &'a LayerTransform,
    /// Record the pre-RoPE key range of every layer (KVQuant-style KV calibration).
    pub kv_calibration: bool,
    /// Held-out samples for [`super::holdout`] (GPTQ without a per-layer transform only), and
    /// the scale dtype of the RTN weights it compares with.
    pub holdout: Option<(&'a [Vec<u32>], ScaleDtype)>,
}

/// The Linear of `layer` named by the module suffix `suffix` (`self_attn.q_proj`, ...).
fn linear_mut<'a>(layer: &'a mut Layer, suffix: &str) -> &'a mut Linear {
    match suffix {
        "self_attn.q_proj" => &mut layer.q_proj,
        "self_attn.k_proj" => &mut layer.k_proj,
        "self_attn.v_proj" => &mut layer.v_proj,
        "self_attn.o_proj" => &mut layer.o_proj,
        "mlp.gate_proj" => &mut layer.gate_proj,
        "mlp.up_proj" => &mut layer.up_proj,
        "mlp.down_proj" => &mut layer.down_proj,
        other => unreachable!("LinearInput::modules names no {other}"),
    }
}

/// Quantizes `targets` (`(module, [n, k])`: decoder `*_proj` modules and optionally `lm_head`)
/// of `model` (dense f32 weights, changed in place: transformed, then the dequantized results)
/// to `format`, calibrating on `samples`; `on_layer` is called after each layer.
pub fn quantize_sequential(
    model: &mut Model,
    samples: &[Vec<u32>],
    targets: &[(String, [usize; 2])],
    format: Option<&WeightFormat>,
    p: &Pipeline<'_>,
    on_layer: &mut dyn FnMut(&LayerReport),
) -> anyhow::Result<SequentialResult> {
    let method = p.method;
    let need_format =
        || format.context("the calibration pipeline was given Linears or a transform but no weight format");
    let c = model.config.clone();
    let (d, qd, f) = (c.hidden_size, c.num_attention_heads * c.head_dim, c.intermediate_size);
    let kvd = c.num_key_value_heads * c.head_dim;
    let gqa = c.num_key_value_heads != c.num_attention_heads;
    let gather = Gather { hessians: method.needs_hessians(), channel_rows: p.transform.sample_rows(), keys: false };
    let mut key_ranges = Vec::new();
    let shape: HashMap<&str, [usize; 2]> = targets.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    let mut done: HashMap<String, quant::QuantizedWeight> = HashMap::new();
    let mut t = Timings::default();
    let mut layers = Vec::new();

    let mut hidden: Vec<Vec<f32>> =
        samples.iter().map(|s| model.embed_rows(s)).collect::<model::Result<_>>().context("embedding samples")?;
    if p.holdout.is_some() && !(method.needs_hessians() && matches!(p.transform, LayerTransform::None)) {
        anyhow::bail!("the held-out check measures GPTQ without a per-layer transform: --method gptq or quarot+gptq");
    }
    let mut held: Vec<Vec<f32>> = p
        .holdout
        .map_or(&[][..], |(s, _)| s)
        .iter()
        .map(|s| model.embed_rows(s))
        .collect::<model::Result<_>>()
        .context("embedding held-out samples")?;
    let mut holdout_rows = Vec::new();
    for li in 0..c.num_hidden_layers {
        let prefix = format!("model.layers.{li}.");
        let mut report = LayerReport { layer: Some(li), loss: 0.0, linears: 0, transform: String::new() };
        // 1. Observe the Linear inputs of the layer (still full precision).
        let mut stats = None;
        if gather.any() && targets.iter().any(|(m, _)| m.starts_with(&prefix)) {
            let st = observe(model, li, &hidden, LayerStats::new(gather, d, qd, f, kvd), &mut t)?;
            stats = Some(st);
        }
        // 1b. The same Hessians over the held-out samples.
        let mut held_stats = None;
        if stats.is_some() && !held.is_empty() {
            let st = LayerStats::new(Gather { hessians: true, ..Gather::default() }, d, qd, f, kvd);
            held_stats = Some(observe(model, li, &held, st, &mut t).context("held-out samples")?);
        }
        // 2. Transform (scales folded into the model's weights and norms).
        if let Some(st) = stats.as_mut() {
            let t0 = Instant::now();
            let r = match p.transform {
                LayerTransform::None => Default::default(),
                tr => tr.apply(&mut model.layers[li], li, gqa, st, need_format()?)?,
            };
            t.quantize += t0.elapsed();
            report.transform = r
                .ratios
                .iter()
                .map(|(site, a)| format!("{site:?} α={}", a.map_or("none".to_string(), |a| format!("{a:.2}"))))
                .collect::<Vec<_>>()
                .join(", ");
            if r.clamped > 0 {
                report.transform.push_str(&format!("; {} weights clipped", r.clamped));
            }
        }
        // 3. Quantize, and put the quantized weights into the model.
        for site in LinearInput::ALL {
            for suffix in site.modules() {
                let module = format!("{prefix}{suffix}");
                let Some(&[n, k]) = shape.get(module.as_str()) else { continue };
                let w = dense_f32(&linear_mut(&mut model.layers[li], suffix).weight, &module)?;
                let q =
                    method.quantize(&module, &w, n, k, stats.as_ref().and_then(|s| s.hessian(site)), need_format()?)?;
                t.quantize += q.elapsed;
                t.cholesky += q.cholesky;
                t.sweep += q.sweep;
                t.group_params += q.group_params;
                report.loss += q.loss;
                report.linears += 1;
                let deq = q.weight.dequantize();
                if let (Some(cal), Some(held), Some((_, dtype))) = (
                    stats.as_ref().and_then(|s| s.hessian(site)),
                    held_stats.as_ref().and_then(|s| s.hessian(site)),
                    p.holdout,
                ) {
                    holdout_rows.push(holdout::measure(&module, &w, &deq, n, k, need_format()?, dtype, cal, held)?);
                }
                let deq = Tensor::from_f32(vec![n, k], deq);
                linear_mut(&mut model.layers[li], suffix).set_weight(LinearWeight::Dense(deq));
                done.insert(module, q.weight);
            }
        }
        drop((stats, held_stats));
        let t0 = Instant::now();
        for x in held.iter_mut() {
            model.layer_forward(li, x, None).with_context(|| format!("layer {li} forward (held-out)"))?;
        }
        t.forward += t0.elapsed();
        // 4. The next layer's inputs, from the quantized layer (and its keys' range).
        let t0 = Instant::now();
        let mut keys =
            p.kv_calibration.then(|| LayerStats::new(Gather { keys: true, ..Gather::default() }, d, qd, f, kvd));
        for x in hidden.iter_mut() {
            let obs = keys.as_mut().map(|k| k as &mut dyn model::LayerObserver);
            model.layer_forward(li, x, obs).with_context(|| format!("layer {li} forward"))?;
        }
        if let Some(k) = keys.as_mut() {
            key_ranges.push(k.take_keys().with_context(|| format!("layer {li}: no keys seen for KV calibration"))?);
        }
        t.forward += t0.elapsed();
        on_layer(&report);
        layers.push(report);
    }
    if let Some(&[n, k]) = shape.get("lm_head") {
        let h = if method.needs_hessians() { Some(final_norm_hessian(model, &hidden)?) } else { None };
        drop(hidden);
        let w = match model.lm_head.as_ref() {
            Some(l) => dense_f32(&l.weight, "lm_head")?,
            None => dense_f32(&model.embed_tokens, "lm_head (tied to the embeddings)")?,
        };
        let q = method.quantize("lm_head", &w, n, k, h.as_ref(), need_format()?)?;
        t.quantize += q.elapsed;
        t.cholesky += q.cholesky;
        t.sweep += q.sweep;
        t.group_params += q.group_params;
        let report = LayerReport { layer: None, loss: q.loss, linears: 1, transform: String::new() };
        on_layer(&report);
        layers.push(report);
        done.insert("lm_head".into(), q.weight);
    }
    let linears = targets
        .iter()
        .map(|(m, _)| {
            let weight = done.remove(m).with_context(|| format!("{m}: not a decoder Linear or lm_head"))?;
            Ok(QuantLinear { module: m.clone(), weight })
        })
        .collect::<anyhow::Result<_>>()?;
    let key_ranges = p.kv_calibration.then_some(key_ranges);
    Ok(SequentialResult { linears, layers, timings: t, key_ranges, holdout: holdout_rows })
}

/// Runs layer `li` on a copy of every `hidden[s]` with `st` observing its inputs, and finishes
/// the statistics (forward and statistics time added to `t`).
fn observe(
    model: &Model,
    li: usize,
    hidden: &[Vec<f32>],
    mut st: LayerStats,
    t: &mut Timings,
) -> anyhow::Result<LayerStats> {
    let t0 = Instant::now();
    for x in hidden {
        let mut y = x.clone();
        model.layer_forward(li, &mut y, Some(&mut st)).with_context(|| format!("layer {li} forward"))?;
    }
    st.finish().with_context(|| format!("layer {li} Hessians"))?;
    t.forward += t0.elapsed().saturating_sub(st.elapsed);
    t.hessian += st.elapsed;
    Ok(st)
}

/// The Hessian of lm_head's input, `rms_norm(hidden) · norm`, over every sample.
fn final_norm_hessian(model: &Model, hidden: &[Vec<f32>]) -> anyhow::Result<Hessian> {
    let c = &model.config;
    let d = c.hidden_size;
    let mut h = Hessian::new(d);
    for x in hidden {
        let mut normed = vec![0f32; x.len()];
        model.backend().rms_norm(x, x.len() / d, d, &model.norm, c.rms_norm_eps as f32, &mut normed)?;
        h.add_batch(&normed)?;
    }
    Ok(h)
}

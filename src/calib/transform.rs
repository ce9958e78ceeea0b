//! Per-layer transforms applied before a layer's Linears are quantized, from the statistics of
//! their inputs (`stats`): AWQ's activation-aware scales and weight clipping, SmoothQuant's
//! migration scales. Each folds its scales so the full-precision layer is unchanged:
//!
//! ```text
//! input                  read by            scales divide       AWQ   SmoothQuant
//! AttnIn  rms_norm(x)·g  q, k, v            input_layernorm g   yes   yes
//! AttnOut attention      o_proj             v_proj's rows       when Hkv = H (no GQA), else skipped
//! MlpIn   rms_norm(x)·g  gate, up           post_attn_norm g    yes   yes
//! MlpDown silu(g) ⊙ up   down_proj          up_proj's rows      yes   no
//! ```
//!
//! and then transforms the statistics the same way (`X ⊘ s`: channel stats divided, Hessian
//! `diag(1/s)·H·diag(1/s)`), so a GPTQ or clip search that follows sees the scaled inputs.
//! AWQ then clips the weights of every Linear but q/k (AutoAWQ's choice: their errors pass
//! through the softmax) by its output-error clip search.

use super::stats::LayerStats;
use super::weights::{dense_f32 as dense, set_dense as set};
use anyhow::Context;
use model::linear::Linear;
use model::transformer::Layer;
use model::LinearInput;
use quant::awq::{clip_search, divide, divide_rows, scale_columns, search_scales, AwqOptions};
use quant::gptq::Hessian;
use quant::smooth::smooth_scales;
use quant::WeightFormat;

/// Rows of calibration input kept per Linear input for AWQ's searches.
pub const AWQ_SAMPLE_ROWS: usize = 4096;

/// The transform of a calibrated run.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerTransform {
    /// Nothing.
    None,
    /// AWQ scale search and clipping.
    Awq(AwqOptions),
    /// SmoothQuant with migration strength `alpha`.
    Smooth {
        /// In [0, 1]; 0.85 by default.
        alpha: f32,
    },
}

/// What one layer's transform did.
#[derive(Clone, Debug, Default)]
pub struct TransformReport {
    /// Per input: `(site, α chosen or None for "no scaling won")`.
    pub ratios: Vec<(LinearInput, Option<f32>)>,
    /// Weights clamped by AWQ's clip search.
    pub clamped: usize,
}

/// `diag(1/s)·H·diag(1/s)`: the Hessian of `X ⊘ s`.
fn scaled_hessian(h: &Hessian, s: &[f32]) -> anyhow::Result<Hessian> {
    let k = h.k();
    let m = h.matrix();
    let v: Vec<f64> = (0..k * k).map(|ij| m[ij] / (s[ij / k] as f64 * s[ij % k] as f64)).collect();
    Ok(Hessian::from_matrix(k, v, h.nsamples())?)
}

/// The Linears of `l` reading `site`.
fn readers(l: &mut Layer, site: LinearInput) -> Vec<&mut Linear> {
    match site {
        LinearInput::AttnIn => vec![&mut l.q_proj, &mut l.k_proj, &mut l.v_proj],
        LinearInput::AttnOut => vec![&mut l.o_proj],
        LinearInput::MlpIn => vec![&mut l.gate_proj, &mut l.up_proj],
        LinearInput::MlpDown => vec![&mut l.down_proj],
    }
}

/// Divides what produces `site`'s input by `s`: a norm weight, or a Linear's output rows (and
/// bias).
fn divide_producer(l: &mut Layer, site: LinearInput, s: &[f32]) -> anyhow::Result<()> {
    let producer = match site {
        LinearInput::AttnIn => return Ok(divide(&mut l.input_layernorm, s)?),
        LinearInput::MlpIn => return Ok(divide(&mut l.post_attention_layernorm, s)?),
        LinearInput::AttnOut => &mut l.v_proj,
        LinearInput::MlpDown => &mut l.up_proj,
    };
    let mut w = dense(&producer.weight, "calibration")?;
    divide_rows(&mut w, producer.n, producer.k, s)?;
    set(producer, w);
    if let Some(b) = producer.bias.as_mut() {
        divide(b, s)?;
    }
    Ok(())
}

/// Scales `site`'s readers by `s` and divides its producer, and the statistics with them.
fn fold(l: &mut Layer, stats: &mut LayerStats, site: LinearInput, s: &[f32]) -> anyhow::Result<()> {
    for r in readers(l, site) {
        let mut w = dense(&r.weight, "calibration")?;
        scale_columns(&mut w, r.n, r.k, s)?;
        set(r, w);
    }
    divide_producer(l, site, s)?;
    if let Some(c) = stats.channels(site) {
        let scaled = c.divided_by(s)?;
        stats.set_channels(site, scaled);
    }
    if let Some(h) = stats.hessian(site) {
        let scaled = scaled_hessian(h, s)?;
        stats.set_hessian(site, scaled);
    }
    Ok(())
}

impl LayerTransform {
    /// Rows of channel statistics the transform needs (0: none).
    pub fn sample_rows(&self) -> usize {
        match self {
            LayerTransform::None => 0,
            LayerTransform::Awq(_) => AWQ_SAMPLE_ROWS,
            // SmoothQuant needs only the per-channel maxima; one row is the least kept.
            LayerTransform::Smooth { .. } => 1,
        }
    }

    /// Applies the transform to layer `li` (`gqa`: whether key/value heads are fewer than query
    /// heads, which rules out folding o_proj's scales into v_proj).
    pub fn apply(
        &self,
        layer: &mut Layer,
        li: usize,
        gqa: bool,
        stats: &mut LayerStats,
        format: &WeightFormat,
    ) -> anyhow::Result<TransformReport> {
        let mut report = TransformReport::default();
        match self {
            LayerTransform::None => {}
            LayerTransform::Awq(o) => {
                for site in LinearInput::ALL {
                    if site == LinearInput::AttnOut && gqa {
                        continue;
                    }
                    let st = stats.channels(site).context("AWQ without channel statistics")?;
                    let ws: Vec<(Vec<f32>, usize)> = readers(layer, site)
                        .into_iter()
                        .map(|r| Ok((dense(&r.weight, "calibration")?, r.n)))
                        .collect::<anyhow::Result<_>>()?;
                    let k = st.k();
                    let views: Vec<(&[f32], usize)> = ws.iter().map(|(w, n)| (&w[..], *n)).collect();
                    let sc = search_scales(st, &views, k, format, o)
                        .with_context(|| format!("AWQ scale search, layer {li} {site:?}"))?;
                    report.ratios.push((site, sc.ratio));
                    if sc.ratio.is_some() {
                        fold(layer, stats, site, &sc.scales)?;
                    }
                }
                for site in LinearInput::ALL {
                    let st = stats.channels(site).context("AWQ without channel statistics")?.clone();
                    let skip_qk = site == LinearInput::AttnIn;
                    for (i, r) in readers(layer, site).into_iter().enumerate() {
                        if skip_qk && i < 2 {
                            continue; // q_proj, k_proj
                        }
                        let w = dense(&r.weight, "calibration")?;
                        let clipped = clip_search(&st, &w, r.n, r.k, format, o)
                            .with_context(|| format!("AWQ clip search, layer {li} {site:?}"))?;
                        report.clamped += w.iter().zip(&clipped).filter(|(a, b)| a != b).count();
                        set(r, clipped);
                    }
                }
            }
            LayerTransform::Smooth { alpha } => {
                for site in [LinearInput::AttnIn, LinearInput::MlpIn] {
                    let st = stats.channels(site).context("SmoothQuant without channel statistics")?;
                    let ws: Vec<(Vec<f32>, usize)> = readers(layer, site)
                        .into_iter()
                        .map(|r| Ok((dense(&r.weight, "calibration")?, r.n)))
                        .collect::<anyhow::Result<_>>()?;
                    let views: Vec<(&[f32], usize)> = ws.iter().map(|(w, n)| (&w[..], *n)).collect();
                    let s = smooth_scales(st.abs_max(), &views, st.k(), *alpha)
                        .with_context(|| format!("SmoothQuant scales, layer {li} {site:?}"))?;
                    fold(layer, stats, site, &s)?;
                    report.ratios.push((site, Some(*alpha)));
                }
            }
        }
        Ok(report)
    }
}

//! How one Linear is quantized inside the calibration pipeline: RTN (needs no statistics; the
//! pipeline then only proves it changes nothing) or GPTQ with the layer input's Hessian.

use anyhow::Context;
use quant::gptq::{quantize_gptq, GptqOptions, Hessian};
use quant::{quantize_rtn, QuantizedWeight, RtnOptions, WeightFormat};
use std::time::{Duration, Instant};

/// The weight quantizer.
#[derive(Debug, Clone)]
pub enum LinearMethod {
    /// Round to nearest.
    Rtn(RtnOptions),
    /// GPTQ (`layer` in the options is filled in per Linear).
    Gptq(GptqOptions),
}

/// One quantized Linear.
pub struct Quantized {
    /// The weight.
    pub weight: QuantizedWeight,
    /// GPTQ's loss (0 for RTN).
    pub loss: f64,
    /// Time spent quantizing.
    pub elapsed: Duration,
    /// Of which GPTQ's damping + Cholesky.
    pub cholesky: Duration,
    /// Of which GPTQ's update loop (column sweep and lazy block updates).
    pub sweep: Duration,
    /// Of which GPTQ's static group parameters (with the clip search).
    pub group_params: Duration,
}

impl LinearMethod {
    /// Whether the method needs Hessians.
    pub fn needs_hessians(&self) -> bool {
        matches!(self, LinearMethod::Gptq(_))
    }

    /// Quantizes `w [n, k]` of `module` (its input Hessian `h` for GPTQ).
    pub fn quantize(
        &self,
        module: &str,
        w: &[f32],
        n: usize,
        k: usize,
        h: Option<&Hessian>,
        format: &WeightFormat,
    ) -> anyhow::Result<Quantized> {
        let t0 = Instant::now();
        let (weight, loss, cholesky, sweep, group_params) = match self {
            LinearMethod::Rtn(o) => {
                (quantize_rtn(w, n, k, format, o).with_context(|| format!("quantizing {module}"))?, 0.0, 0.0, 0.0, 0.0)
            }
            LinearMethod::Gptq(o) => {
                let h = h.with_context(|| format!("{module}: GPTQ without a Hessian"))?;
                let opts = GptqOptions { layer: module.to_string(), ..o.clone() };
                let r = quantize_gptq(w, n, k, h, format, &opts).with_context(|| format!("GPTQ on {module}"))?;
                if r.damp_used != o.damp_percent {
                    eprintln!("note: {module}: Hessian needed damping {} (asked {})", r.damp_used, o.damp_percent);
                }
                (r.weight, r.loss, r.cholesky_seconds, r.sweep_seconds, r.group_params_seconds)
            }
        };
        Ok(Quantized {
            weight,
            loss,
            elapsed: t0.elapsed(),
            cholesky: Duration::from_secs_f64(cholesky),
            sweep: Duration::from_secs_f64(sweep),
            group_params: Duration::from_secs_f64(group_params),
        })
    }
}

//! Held-out check of a calibrated weight quantizer (`qtool quantize --calib-holdout N`): does
//! what GPTQ learned from the calibration samples carry over to other text of the same source?
//!
//! For every Linear the pipeline quantizes it measures the output error
//! `E(Q, H) = ½ tr((W − Q) H (W − Q)ᵀ)`, which for `H = 2/N Σ x xᵀ` is the mean over the `N`
//! input rows of `‖(W − Q) x‖²` (GPTQ's own loss), for three quantized weights — the method's
//! (GPTQ), plain RTN, and RTN with the per-group MSE clip search — under two Hessians: the
//! calibration samples' (what GPTQ minimised) and that of `N` held-out samples drawn from
//! windows of the same source that calibration did not use, run through the same already-
//! quantized layers. GPTQ far below RTN on the first and not on the second is overfitting.

use quant::gptq::Hessian;
use quant::{quantize_rtn, ClipSearch, RtnOptions, ScaleDtype, WeightFormat};

/// Output errors of one Linear, each `[calibration, held-out]`.
#[derive(Debug, Clone)]
pub struct HoldoutRow {
    /// Module name (`model.layers.3.mlp.down_proj`).
    pub module: String,
    /// The pipeline's own quantization (GPTQ).
    pub method: [f64; 2],
    /// RTN of the same weight.
    pub rtn: [f64; 2],
    /// RTN with the MSE clip search.
    pub rtn_clip: [f64; 2],
}

/// `H` in f32, converted once for all the errors measured under it.
pub fn hessian_f32(h: &Hessian) -> faer::Mat<f32> {
    let k = h.k();
    faer::Mat::<f32>::from_fn(k, k, |i, j| h.matrix()[i * k + j] as f32)
}

/// `½ tr(ΔW H ΔWᵀ)` with `ΔW = w − q` (`[n, k]` row-major) and `hf` = [`hessian_f32`]`(H)`: the
/// mean squared output error over the rows `H` was gathered from. Products in f32 (faer),
/// summed in f64.
pub fn output_error(w: &[f32], q: &[f32], n: usize, k: usize, hf: &faer::Mat<f32>) -> f64 {
    use faer::{Accum, Mat, MatRef, Par};
    let d: Vec<f32> = w.iter().zip(q).map(|(a, b)| a - b).collect();
    let dm = MatRef::from_row_major_slice(&d, n, k);
    let mut p = Mat::<f32>::zeros(n, k);
    faer::linalg::matmul::matmul(p.as_mut(), Accum::Replace, dm, hf.as_ref(), 1.0f32, Par::rayon(0));
    let mut sum = 0f64;
    for i in 0..n {
        for j in 0..k {
            sum += f64::from(p[(i, j)]) * f64::from(d[i * k + j]);
        }
    }
    0.5 * sum
}

/// The row of `module`: `w` its weight before quantization, `q` the method's dequantized result,
/// `cal` / `held` the two Hessians of its input.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    module: &str,
    w: &[f32],
    q: &[f32],
    n: usize,
    k: usize,
    format: &WeightFormat,
    scale_dtype: ScaleDtype,
    cal: &Hessian,
    held: &Hessian,
) -> anyhow::Result<HoldoutRow> {
    let rtn = |clip_search| -> anyhow::Result<Vec<f32>> {
        Ok(quantize_rtn(w, n, k, format, &RtnOptions { scale_dtype, clip_search })?.dequantize())
    };
    let (cal, held) = (hessian_f32(cal), hessian_f32(held));
    let both = |q: &[f32]| [output_error(w, q, n, k, &cal), output_error(w, q, n, k, &held)];
    Ok(HoldoutRow {
        module: module.to_string(),
        method: both(q),
        rtn: both(&rtn(None)?),
        rtn_clip: both(&rtn(Some(ClipSearch::default()))?),
    })
}

/// The module's type: its name after the layer index (`mlp.down_proj`), or the name itself.
fn kind(module: &str) -> &str {
    module.strip_prefix("model.layers.").and_then(|r| r.split_once('.')).map_or(module, |(_, s)| s)
}

/// A markdown table: per Linear type, the output errors summed over layers and their ratios
/// to RTN's, on the calibration and on the held-out samples.
pub fn table(rows: &[HoldoutRow]) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for r in rows {
        if !kinds.contains(&kind(&r.module)) {
            kinds.push(kind(&r.module));
        }
    }
    let mut out = String::from(
        "| Linear | layers | RTN error cal / held-out | GPTQ / RTN cal | GPTQ / RTN held-out | RTN+clip / RTN cal | RTN+clip / RTN held-out |\n|---|---:|---|---:|---:|---:|---:|\n",
    );
    let mut line = |label: &str, sel: &[&HoldoutRow]| {
        let sum = |f: &dyn Fn(&HoldoutRow) -> f64| sel.iter().map(|r| f(r)).sum::<f64>();
        let (rc, rh) = (sum(&|r| r.rtn[0]), sum(&|r| r.rtn[1]));
        out.push_str(&format!(
            "| {label} | {} | {rc:.4e} / {rh:.4e} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            sel.len(),
            sum(&|r| r.method[0]) / rc,
            sum(&|r| r.method[1]) / rh,
            sum(&|r| r.rtn_clip[0]) / rc,
            sum(&|r| r.rtn_clip[1]) / rh,
        ));
    };
    for k in &kinds {
        let sel: Vec<&HoldoutRow> = rows.iter().filter(|r| kind(&r.module) == *k).collect();
        line(k, &sel);
    }
    let all: Vec<&HoldoutRow> = rows.iter().collect();
    line("all", &all);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `output_error` against the direct mean of `‖ΔW x‖²` over the rows.
    #[test]
    fn output_error_is_the_mean_squared_output_error() {
        let (n, k, rows) = (5, 7, 11);
        let f = |i: usize, s: usize| (((i * s) % 17) as f32 - 8.0) * 0.1;
        let x: Vec<f32> = (0..rows * k).map(|i| f(i, 3)).collect();
        let w: Vec<f32> = (0..n * k).map(|i| f(i, 5)).collect();
        let q: Vec<f32> = (0..n * k).map(|i| f(i, 5) + f(i, 7) * 0.01).collect();
        let mut h = Hessian::new(k);
        h.add_batch(&x).unwrap();
        let mut want = 0f64;
        for r in 0..rows {
            for i in 0..n {
                let e: f64 = (0..k).map(|j| f64::from(w[i * k + j] - q[i * k + j]) * f64::from(x[r * k + j])).sum();
                want += e * e;
            }
        }
        want /= rows as f64;
        let got = output_error(&w, &q, n, k, &hessian_f32(&h));
        assert!((got - want).abs() <= 1e-5 * want, "{got} vs {want}");
    }

    #[test]
    fn table_groups_by_linear_type() {
        let row = |m: &str, g: f64| HoldoutRow {
            module: m.into(),
            method: [g, 2.0 * g],
            rtn: [1.0, 1.0],
            rtn_clip: [0.9, 0.9],
        };
        let t = table(&[
            row("model.layers.0.mlp.down_proj", 0.5),
            row("model.layers.1.mlp.down_proj", 0.5),
            row("model.layers.0.self_attn.q_proj", 0.25),
        ]);
        assert!(t.contains("| mlp.down_proj | 2 | 2.0000e0 / 2.0000e0 | 0.500 | 1.000 | 0.900 | 0.900 |"), "{t}");
        assert!(t.contains("| self_attn.q_proj | 1 |"), "{t}");
        assert!(t.contains("| all | 3 |"), "{t}");
    }
}

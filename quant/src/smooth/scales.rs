//! The SmoothQuant scales (the reference `smooth_ln_fcs`): `w_max_j` is the largest `|W_{ij}|`
//! over all rows `i` of all Linears sharing the input, and
//! `s_j = max(max|X_j|^α / w_max_j^(1-α), 1e-5)`. A channel whose activation or weight maximum is
//! zero gets `s_j = 1` (nothing to migrate; the reference would divide by its 1e-5 floor).

use crate::awq::inputs::check_linear;
use crate::QuantError;

/// Migration strength used when none is given (0.85, between the paper's 0.5 for OPT and the
/// larger values used for Llama-like models).
pub const DEFAULT_ALPHA: f32 = 0.85;

/// Per-input-channel smoothing scales `s[k]` for the `linears` (`(W[n, k], n)` each) that read
/// an input whose per-channel `max |x|` is `act_absmax[k]`; `alpha` in `[0, 1]`.
pub fn smooth_scales(
    act_absmax: &[f32],
    linears: &[(&[f32], usize)],
    k: usize,
    alpha: f32,
) -> Result<Vec<f32>, QuantError> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(QuantError::BadInput { what: format!("SmoothQuant alpha must be in [0, 1], got {alpha}") });
    }
    if act_absmax.len() != k || k == 0 {
        return Err(QuantError::BadInput {
            what: format!("{} activation maxima for k = {k} channels", act_absmax.len()),
        });
    }
    if let Some(j) = act_absmax.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(QuantError::BadInput {
            what: format!("activation max of channel {j} is {}, not finite and >= 0", act_absmax[j]),
        });
    }
    if linears.is_empty() {
        return Err(QuantError::BadInput { what: "no Linears given to smooth".into() });
    }
    let mut w_max = vec![0f32; k];
    for (i, (w, n)) in linears.iter().enumerate() {
        check_linear(w, *n, k, &format!("Linear {i}"))?;
        for row in w.chunks_exact(k) {
            w_max.iter_mut().zip(row).for_each(|(m, v)| *m = m.max(v.abs()));
        }
    }
    let a = alpha as f64;
    Ok(act_absmax
        .iter()
        .zip(&w_max)
        .map(|(&x, &w)| {
            if x == 0.0 || w == 0.0 {
                return 1.0;
            }
            let s = ((x as f64).powf(a) / (w as f64).powf(1.0 - a)).max(1e-5) as f32;
            if s.is_finite() && s > 0.0 {
                s
            } else {
                1.0
            }
        })
        .collect())
}

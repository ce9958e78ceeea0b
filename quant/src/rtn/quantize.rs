//! Round-to-nearest quantization of a whole weight `W[n, k]`: each row's groups get their own
//! scale (and zero point), every element its nearest code.

use rayon::prelude::*;

use super::clip_search::{group_qparams, ClipSearch};
use crate::format::{ScaleDtype, WeightFormat};
use crate::qweight::{QuantizedParts, QuantizedWeight};
use crate::QuantError;

/// Settings of the RTN quantizer that are not part of the format.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RtnOptions {
    /// The dtype scales will be stored in; scales are rounded to it before codes are chosen.
    pub scale_dtype: ScaleDtype,
    /// Search a clip ratio per group (AutoGPTQ's `mse` option / the study's `--w_clip`).
    pub clip_search: Option<ClipSearch>,
}

impl Default for RtnOptions {
    /// f32 scales (in-memory fake quantization), no clip search.
    fn default() -> RtnOptions {
        RtnOptions { scale_dtype: ScaleDtype::F32, clip_search: None }
    }
}

/// Quantizes `w` (`[n, k]` row-major f32) to `format`. Groups run along k; with `k` not a
/// multiple of the group size the last group of each row is shorter and gets its own scale from
/// its own elements.
pub fn quantize_rtn(
    w: &[f32],
    n: usize,
    k: usize,
    format: &WeightFormat,
    opts: &RtnOptions,
) -> Result<QuantizedWeight, QuantError> {
    format.validate()?;
    if let Some(s) = &opts.clip_search {
        s.validate()?;
    }
    if n == 0 || k == 0 || w.len() != n * k {
        return Err(QuantError::BadInput { what: format!("{} weights for shape [{n}, {k}]", w.len()) });
    }
    if let Some(i) = w.iter().position(|x| !x.is_finite()) {
        return Err(QuantError::BadInput { what: format!("weight [{}, {}] is {}", i / k, i % k, w[i]) });
    }
    let (g, ng) = (format.group_size(k), format.n_groups(k));
    let mut codes = vec![0u8; n * k];
    let mut scales = vec![0f32; n * ng];
    let mut zeros = vec![0u8; n * ng];
    codes.par_chunks_mut(k).zip(scales.par_chunks_mut(ng)).zip(zeros.par_chunks_mut(ng)).zip(w.par_chunks(k)).for_each(
        |(((codes, scales), zeros), row)| {
            for gi in 0..ng {
                let cols = gi * g..((gi + 1) * g).min(k);
                let qp = group_qparams(&row[cols.clone()], &format.spec, opts.scale_dtype, opts.clip_search.as_ref());
                (scales[gi], zeros[gi]) = (qp.scale, qp.zero);
                for j in cols {
                    codes[j] = qp.quantize(row[j], format.spec.int);
                }
            }
        },
    );
    QuantizedWeight::new(QuantizedParts {
        format: *format,
        scale_dtype: opts.scale_dtype,
        n,
        k,
        codes,
        scales,
        zeros: (!format.symmetric()).then_some(zeros),
        g_idx: None,
    })
}

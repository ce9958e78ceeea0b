//! Fake quantization of a whole `[rows, cols]` activation or KV block by its format.

use super::{
    fake_quant_groups_ref, fake_quant_per_channel_ref, fake_quant_row_ref, per_token::row_qparams, ChannelParams,
};
use crate::format::{ActFormat, Granularity, IntSpec, KvTensorFormat};
use crate::QuantError;

/// Fake-quantizes `x` (`[rows, cols]` row-major, one token per row) by a dynamic activation
/// format; `PerTensor` takes min and max over the whole block. Static formats need calibrated
/// parameters and are refused here.
pub fn fake_quant_act_ref(x: &mut [f32], cols: usize, format: &ActFormat) -> Result<(), QuantError> {
    format.validate()?;
    if !format.dynamic {
        return Err(QuantError::BadInput {
            what: format!("static activation format ({}) needs calibrated scales", format.label()),
        });
    }
    fake_quant_block(x, cols, &format.spec, format.granularity, None)
}

/// Fake-quantizes one of K or V (`[tokens, channels]`) by its format; `PerChannel` needs the
/// static `channel_params` (one per column, see [`super::channel_params`]).
pub fn fake_quant_kv_ref(
    x: &mut [f32],
    cols: usize,
    format: &KvTensorFormat,
    channel_params: Option<&ChannelParams>,
) -> Result<(), QuantError> {
    format.validate()?;
    fake_quant_block(x, cols, &format.spec, format.granularity, channel_params)
}

fn fake_quant_block(
    x: &mut [f32],
    cols: usize,
    spec: &IntSpec,
    granularity: Granularity,
    channel_params: Option<&ChannelParams>,
) -> Result<(), QuantError> {
    if cols == 0 || !x.len().is_multiple_of(cols) {
        return Err(QuantError::BadInput { what: format!("{} values are not rows of {cols}", x.len()) });
    }
    match granularity {
        Granularity::PerToken => x.chunks_mut(cols).for_each(|r| _ = fake_quant_row_ref(r, spec)),
        Granularity::Group(g) => x.chunks_mut(cols).for_each(|r| fake_quant_groups_ref(r, g as usize, spec)),
        Granularity::PerTensor => {
            let qp = row_qparams(x, spec);
            x.iter_mut().for_each(|v| *v = super::fake_keep_nan(&qp, *v, spec.int));
        }
        Granularity::PerChannel => {
            let Some(p) = channel_params.filter(|p| p.len() == cols) else {
                return Err(QuantError::BadInput {
                    what: format!("per-channel quantization needs {cols} calibrated channel parameters"),
                });
            };
            x.chunks_mut(cols).for_each(|r| fake_quant_per_channel_ref(r, p, spec));
        }
    }
    Ok(())
}

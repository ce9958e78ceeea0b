//! compressed-tensors folders: per quantized Linear `x`, "pack-quantized" stores
//! `x.weight_packed` I32 `[n, ceil(k * b / 32)]`, `x.weight_scale` `[n, G]`, `x.weight_shape`
//! `[2]`, `x.weight_zero_point` I32 `[ceil(n * b / 32), G]` when asymmetric and optionally
//! `x.weight_g_idx` `[k]`; "int-quantized" stores `x.weight` I8 `[n, k]`, `x.weight_scale`
//! `[n, G]` and `x.weight_zero_point` I8 `[n, G]` when asymmetric. The tensors are read into a
//! [`quant::QuantizedWeight`] with `quant`'s unpackers; the group's `input_activations` apply to
//! every Linear stored quantized.

use super::linears::{linear_weight, prefixes_with, LinearMap};
use super::plan::QuantPlan;
use super::quant_config::{CtConfig, CtFormat};
use super::raw::{take, RawMap};
use crate::error::{ModelError, Result};
use crate::weights::DType;
use quant::pack::{from_int_quantized_ct, unpack_ct, CtIntQuantized, CtPackQuantized};
use safetensors::Dtype;

const LAYOUT: &str = "compressed-tensors";

/// Takes every quantized Linear's tensors out of `raw`.
pub fn take_linears(raw: &mut RawMap, c: &CtConfig, dtype: Option<DType>) -> Result<(LinearMap, QuantPlan)> {
    let prefixes = match c.format {
        CtFormat::PackQuantized => prefixes_with(raw.keys(), ".weight_packed"),
        CtFormat::IntQuantized => {
            let mut v: Vec<String> = raw
                .iter()
                .filter(|(n, t)| t.dtype == Dtype::I8 && n.ends_with(".weight"))
                .map(|(n, _)| n.trim_end_matches(".weight").to_string())
                .collect();
            v.sort();
            v
        }
    };
    let mut linears = LinearMap::new();
    let mut plan = QuantPlan::none(&description(c));
    for p in prefixes {
        let q = match c.format {
            CtFormat::PackQuantized => pack_quantized(raw, &p, c)?,
            CtFormat::IntQuantized => int_quantized(raw, &p, c)?,
        };
        linears.insert(format!("{p}.weight"), linear_weight(&q, dtype));
        if let Some(a) = c.act {
            plan.act.insert(p, a);
        }
    }
    Ok((linears, plan))
}

fn description(c: &CtConfig) -> String {
    let fmt = match c.format {
        CtFormat::PackQuantized => "pack-quantized",
        CtFormat::IntQuantized => "int-quantized",
    };
    let act = c.act.map(|a| format!(", activations {}", a.label())).unwrap_or_default();
    format!("{LAYOUT} {fmt} {}{act}", c.weight.label())
}

fn bad(tensor: String, e: quant::QuantError) -> ModelError {
    ModelError::Tensor { tensor, what: e.to_string() }
}

fn pack_quantized(raw: &mut RawMap, p: &str, c: &CtConfig) -> Result<quant::QuantizedWeight> {
    let name = |s: &str| format!("{p}.{s}");
    let shape_t = take(raw, &name("weight_shape"), LAYOUT)?;
    let shape = shape_t.to_i32(&name("weight_shape"))?;
    let [n, k] = match shape[..] {
        [n, k] if n > 0 && k > 0 => [n as usize, k as usize],
        _ => {
            return Err(ModelError::Tensor {
                tensor: name("weight_shape"),
                what: format!("{shape:?}, expected [out_features, in_features]"),
            })
        }
    };
    let packed_t = take(raw, &name("weight_packed"), LAYOUT)?;
    let scale_t = take(raw, &name("weight_scale"), LAYOUT)?;
    scale_t.expect_shape(&name("weight_scale"), &[n, c.weight.n_groups(k)])?;
    let zero_point = match raw.remove(&name("weight_zero_point")) {
        Some(t) => Some(t.to_i32(&name("weight_zero_point"))?),
        None => None,
    };
    let g_idx = match raw.remove(&name("weight_g_idx")) {
        Some(t) => Some(t.to_i32(&name("weight_g_idx"))?),
        None => None,
    };
    let parts = CtPackQuantized {
        weight_shape: [n, k],
        weight_packed: packed_t.to_i32(&name("weight_packed"))?,
        weight_scale: scale_t.to_f32(&name("weight_scale"))?,
        weight_zero_point: zero_point,
        weight_g_idx: g_idx,
    };
    let dtype = scale_t.scale_dtype(&name("weight_scale"))?;
    unpack_ct(&parts, &c.weight, dtype).map_err(|e| bad(name("weight_packed"), e))
}

fn int_quantized(raw: &mut RawMap, p: &str, c: &CtConfig) -> Result<quant::QuantizedWeight> {
    let name = |s: &str| format!("{p}.{s}");
    let w = take(raw, &name("weight"), LAYOUT)?;
    let [n, k] = match w.shape[..] {
        [n, k] => [n, k],
        _ => {
            return Err(ModelError::Tensor {
                tensor: name("weight"),
                what: format!("shape {:?}, expected 2-D", w.shape),
            })
        }
    };
    let scale_t = take(raw, &name("weight_scale"), LAYOUT)?;
    scale_t.expect_shape(&name("weight_scale"), &[n, c.weight.n_groups(k)])?;
    let zero_point = match raw.remove(&name("weight_zero_point")) {
        Some(t) => Some(t.to_i8(&name("weight_zero_point"))?),
        None => None,
    };
    let parts = CtIntQuantized {
        weight_shape: [n, k],
        weight: w.to_i8(&name("weight"))?,
        weight_scale: scale_t.to_f32(&name("weight_scale"))?,
        weight_zero_point: zero_point,
    };
    let dtype = scale_t.scale_dtype(&name("weight_scale"))?;
    from_int_quantized_ct(&parts, &c.weight, dtype).map_err(|e| bad(name("weight"), e))
}

//! GPTQ folders (AutoGPTQ / GPTQModel): per quantized Linear `x`, `x.qweight` I32
//! `[ceil(k * b / 32), n]`, `x.qzeros` I32 `[G, ceil(n * b / 32)]` (v1 stores zero - 1),
//! `x.scales` F16 `[G, n]` and `x.g_idx` I32 `[k]` (optional; `j / g` when absent), read with
//! `quant`'s unpacker. `k` comes from `g_idx`, or from `qweight` when `k * b` is a multiple of 32.

use super::linears::{linear_weight, prefixes_with, LinearMap};
use super::plan::QuantPlan;
use super::quant_config::GptqConfig;
use super::raw::{take, RawMap};
use crate::error::{ModelError, Result};
use crate::weights::DType;
use quant::pack::{unpack_gptq, GptqPacked, GptqVersion};

const LAYOUT: &str = "GPTQ";

/// Takes every quantized Linear's tensors out of `raw`.
pub fn take_linears(raw: &mut RawMap, c: &GptqConfig, dtype: Option<DType>) -> Result<(LinearMap, QuantPlan)> {
    let version = match c.version {
        GptqVersion::V1 => "gptq",
        GptqVersion::V2 => "gptq_v2",
    };
    let plan = QuantPlan::none(&format!("{LAYOUT} ({version}) {}", c.weight.label()));
    let mut linears = LinearMap::new();
    for p in prefixes_with(raw.keys(), ".qweight") {
        let q = one(raw, &p, c)?;
        linears.insert(format!("{p}.weight"), linear_weight(&q, dtype));
    }
    Ok((linears, plan))
}

fn one(raw: &mut RawMap, p: &str, c: &GptqConfig) -> Result<quant::QuantizedWeight> {
    let name = |s: &str| format!("{p}.{s}");
    let bits = c.weight.bits() as usize;
    let qweight = take(raw, &name("qweight"), LAYOUT)?;
    let [rows, n] = match qweight.shape[..] {
        [r, n] => [r, n],
        _ => {
            return Err(ModelError::Tensor {
                tensor: name("qweight"),
                what: format!("shape {:?}, expected [k * bits / 32, n]", qweight.shape),
            })
        }
    };
    let g_idx = match raw.remove(&name("g_idx")) {
        Some(t) => Some(t.to_i32(&name("g_idx"))?),
        None => None,
    };
    let k = match &g_idx {
        Some(g) => g.len(),
        None => rows * 32 / bits,
    };
    let g_idx = g_idx.unwrap_or_else(|| {
        let g = c.weight.group_size(k);
        (0..k).map(|j| (j / g) as i32).collect()
    });
    let scales = take(raw, &name("scales"), LAYOUT)?;
    let qzeros = take(raw, &name("qzeros"), LAYOUT)?;
    let packed = GptqPacked {
        n,
        k,
        qweight: qweight.to_i32(&name("qweight"))?,
        qzeros: qzeros.to_i32(&name("qzeros"))?,
        scales: scales.to_f32(&name("scales"))?,
        g_idx,
    };
    let dtype = scales.scale_dtype(&name("scales"))?;
    unpack_gptq(&packed, &c.weight, dtype, c.version)
        .map_err(|e| ModelError::Tensor { tensor: name("qweight"), what: e.to_string() })
}

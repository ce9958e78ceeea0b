//! The GPTQ writer (AutoGPTQ / GPTQModel "gptq" v1, which transformers and vLLM load): a
//! Hugging Face folder with `model.safetensors`, `quantize_config.json` and the same dict as
//! `quantization_config` in `config.json`.
//!
//! Per quantized Linear `x` with `W[n, k]`, `b` bits, `G = ceil(k / g)` groups:
//! `x.qweight` I32 `[k*b/32, n]`, `x.qzeros` I32 `[G, n*b/32]` (zero point - 1),
//! `x.scales` F16 `[G, n]`, `x.g_idx` I32 `[k]` (`j / g`); a bias stays `x.bias` (dense).
//! v1 cannot store a zero point of 0 (it would be -1): such a weight is refused, with the
//! formats that can hold it.

use super::model::{HfModel, WriteStats};
use super::safetensors_file::{check_range, file_size, torch_name, write_json, write_safetensors, StTensor};
use crate::format::{Granularity, ScaleDtype, WeightFormat};
use crate::pack::{pack_gptq, GptqVersion};
use crate::QuantError;
use serde_json::{json, Value};
use std::path::Path;

const LAYOUT: &str = "GPTQ v1";

/// `quantize_config.json` (also `quantization_config` in `config.json`) for weights `w`.
pub fn quantize_config(w: &WeightFormat) -> Value {
    let group_size: i64 = match w.granularity {
        Granularity::Group(g) => g as i64,
        _ => -1,
    };
    json!({
        "bits": w.bits(),
        "group_size": group_size,
        "damp_percent": 0.01,
        "desc_act": false,
        "static_groups": false,
        "sym": w.symmetric(),
        "true_sequential": true,
        "quant_method": "gptq",
        "checkpoint_format": "gptq",
    })
}

/// Writes `m` into `dir` (an existing, empty folder; the caller makes it atomic). Every Linear
/// must have the same format and f16-exact scales.
pub fn write(dir: &Path, m: &HfModel) -> Result<WriteStats, QuantError> {
    write_with(dir, m, &json!({}))
}

/// [`write`], with `extra` (an object) merged into the quantize config: how the weights were
/// made (`damp_percent`, `static_groups`, ...). `desc_act` is true when any Linear carries a
/// permuted `g_idx` (act-order), whatever `extra` says.
pub fn write_with(dir: &Path, m: &HfModel, extra: &Value) -> Result<WriteStats, QuantError> {
    let Some(first) = m.linears.first() else {
        return Err(QuantError::Unrepresentable { layout: LAYOUT, what: "no quantized Linear to write".into() });
    };
    let w = *first.weight.format();
    let mut qc = quantize_config(&w);
    if let (Some(q), Some(e)) = (qc.as_object_mut(), extra.as_object()) {
        q.extend(e.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    qc["desc_act"] = json!(m.linears.iter().any(|l| l.weight.g_idx().is_some()));
    write_json(&dir.join("quantize_config.json"), &qc)?;
    let mut config = m.config.clone();
    config["torch_dtype"] = json!(torch_name(m.dtype));
    config["quantization_config"] = qc;
    write_json(&dir.join("config.json"), &config)?;

    let mut stats = WriteStats::default();
    let mut tensors = Vec::new();
    for d in &m.dense {
        check_range(&d.name, m.dtype, &d.data)?;
        tensors.push(StTensor::float(d.name.clone(), m.dtype, d.shape.clone(), &d.data));
        stats.kept_tensors += 1;
        stats.total_params += d.numel() as u64;
    }
    for l in &m.linears {
        let (q, x) = (&l.weight, &l.module);
        let bad = |what: String| QuantError::Unrepresentable { layout: LAYOUT, what: format!("{x}: {what}") };
        if *q.format() != w {
            return Err(bad(format!("quantized as {}, other Linears as {}", q.format().label(), w.label())));
        }
        if let Some(i) = q.scales().iter().position(|&v| !ScaleDtype::F16.holds(v)) {
            return Err(bad(format!("scale {} at {i} is not exact in f16 (GPTQ stores f16 scales)", q.scales()[i])));
        }
        let p = pack_gptq(q, GptqVersion::V1).map_err(|e| match e {
            QuantError::Unrepresentable { what, .. } => bad(format!(
                "{}: v1 stores zero - 1 and cannot hold it; quantize symmetric (--sym) or write --format \
                 compressed-tensors",
                what.split(" (").next().unwrap_or(&what)
            )),
            other => other,
        })?;
        if !p.exact_shapes(w.bits()) {
            return Err(bad(format!(
                "shape [{}, {}] times {} bits is not a whole number of 32-bit words along both dimensions",
                q.n(),
                q.k(),
                w.bits()
            )));
        }
        let (n, k, ng) = (q.n(), q.k(), q.n_groups());
        let before = tensors.len();
        tensors.push(StTensor::i32(format!("{x}.qweight"), vec![p.qweight.len() / n, n], &p.qweight));
        tensors.push(StTensor::i32(format!("{x}.qzeros"), vec![ng, p.qzeros.len() / ng], &p.qzeros));
        tensors.push(StTensor::float(format!("{x}.scales"), ScaleDtype::F16, vec![ng, n], &p.scales));
        tensors.push(StTensor::i32(format!("{x}.g_idx"), vec![k], &p.g_idx));
        stats.quantized_tensors += 1;
        stats.quantized_params += (n * k) as u64;
        stats.quantized_bytes += tensors[before..].iter().map(|t| t.bytes.len() as u64).sum::<u64>();
        stats.total_params += (n * k) as u64;
    }
    stats.total_bytes = write_safetensors(&dir.join("model.safetensors"), &tensors)?;
    for f in ["quantize_config.json", "config.json", "model.safetensors"] {
        stats.files.push((dir.join(f), file_size(&dir.join(f))?));
    }
    Ok(stats)
}

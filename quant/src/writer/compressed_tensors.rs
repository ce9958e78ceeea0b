//! The compressed-tensors writer: a Hugging Face folder (`model.safetensors`, `config.json` with
//! `quantization_config`) that transformers (with the `compressed-tensors` package) and vLLM
//! load.
//!
//! Per quantized Linear `x` with `W[n, k]`, `b` bits, `G` groups per row:
//! - "pack-quantized" (W4A16, W8A16, W4A8, 2/3-bit): `x.weight_packed` I32 `[n, k*b/32]`,
//!   `x.weight_scale` `[n, G]` in the model dtype, `x.weight_shape` I64 `[2]` = `[n, k]`, and
//!   for asymmetric schemes `x.weight_zero_point` I32 `[ceil(n*b/32), G]` (packed along dim 0);
//! - "int-quantized" (W8A8): `x.weight` I8 `[n, k]` (signed codes), `x.weight_scale` `[n, 1]`
//!   (`[n, G]` with groups), `x.weight_zero_point` I8 `[n, G]` when asymmetric.
//!
//! Every other tensor is written as it is, in the model dtype. The `quantization_config` fields
//! are those of compressed-tensors' pydantic models (`QuantizationConfig`, `QuantizationScheme`,
//! `QuantizationArgs`, which forbids unknown keys), checked against compressed-tensors 0.20.

use super::capability::ct_format_name;
use super::model::{HfModel, WriteStats};
use super::safetensors_file::{check_range, file_size, torch_name, write_json, write_safetensors, StTensor};
use crate::format::{Granularity, WeightFormat};
use crate::pack::{int_quantized_ct, pack_ct};
use crate::scheme::Scheme;
use crate::QuantError;
use serde_json::{json, Value};
use std::path::Path;

/// The `QuantizationArgs` of the weights.
fn weight_args(w: &WeightFormat) -> Value {
    let (strategy, group_size) = match w.granularity {
        Granularity::Group(g) => ("group", json!(g)),
        _ => ("channel", Value::Null),
    };
    json!({
        "num_bits": w.bits(),
        "type": "int",
        "symmetric": w.symmetric(),
        "group_size": group_size,
        "strategy": strategy,
        "block_structure": null,
        "dynamic": false,
        "actorder": null,
        "observer": "minmax",
        "observer_kwargs": {},
    })
}

/// The `quantization_config` of `s` (which [`super::capability::check`] accepted for this
/// format), with `ignore` the modules left unquantized (`["lm_head"]` by default).
pub fn quantization_config(s: &Scheme, ignore: &[String]) -> Value {
    let w = s.weight.as_ref().expect("checked: compressed-tensors schemes quantize weights");
    let inputs = match &s.act {
        None => Value::Null,
        Some(_) => json!({
            "num_bits": 8,
            "type": "int",
            "symmetric": true,
            "group_size": null,
            "strategy": "token",
            "block_structure": null,
            "dynamic": true,
            "actorder": null,
            "observer": null,
            "observer_kwargs": {},
        }),
    };
    json!({
        "quant_method": "compressed-tensors",
        "format": ct_format_name(s),
        "quantization_status": "compressed",
        "config_groups": {
            "group_0": {
                "targets": ["Linear"],
                "weights": weight_args(w),
                "input_activations": inputs,
                "output_activations": null,
            }
        },
        "ignore": ignore,
        "kv_cache_scheme": null,
        "global_compression_ratio": null,
    })
}

/// Writes `m` into `dir` (an existing, empty folder; the caller makes it atomic).
pub fn write(dir: &Path, m: &HfModel, s: &Scheme, ignore: &[String]) -> Result<WriteStats, QuantError> {
    let w = s.weight.as_ref().ok_or_else(|| QuantError::Unrepresentable {
        layout: "compressed-tensors",
        what: format!("scheme '{}' quantizes no weights", s.name),
    })?;
    let int_quantized = ct_format_name(s) == "int-quantized";
    let mut config = m.config.clone();
    config["torch_dtype"] = json!(torch_name(m.dtype));
    config["quantization_config"] = quantization_config(s, ignore);
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
        let q = &l.weight;
        let x = &l.module;
        if q.format() != w {
            return Err(QuantError::BadTensor {
                tensor: x.clone(),
                what: format!("quantized as {} but the scheme says {}", q.format().label(), w.label()),
            });
        }
        if let Some(i) = q.scales().iter().position(|&v| !m.dtype.holds(v)) {
            return Err(QuantError::BadTensor {
                tensor: x.clone(),
                what: format!("scale {} at {i} is not exact in {}", q.scales()[i], m.dtype.name()),
            });
        }
        let (n, ng) = (q.n(), q.n_groups());
        let before = tensors.len();
        if int_quantized {
            let p = int_quantized_ct(q)?;
            tensors.push(StTensor::i8(format!("{x}.weight"), vec![n, q.k()], &p.weight));
            tensors.push(StTensor::float(format!("{x}.weight_scale"), m.dtype, vec![n, ng], &p.weight_scale));
            if let Some(z) = &p.weight_zero_point {
                tensors.push(StTensor::i8(format!("{x}.weight_zero_point"), vec![n, ng], z));
            }
        } else {
            let p = pack_ct(q)?;
            let cols = p.weight_packed.len() / n;
            tensors.push(StTensor::i32(format!("{x}.weight_packed"), vec![n, cols], &p.weight_packed));
            tensors.push(StTensor::float(format!("{x}.weight_scale"), m.dtype, vec![n, ng], &p.weight_scale));
            tensors.push(StTensor::i64(format!("{x}.weight_shape"), vec![2], &[n as i64, q.k() as i64]));
            if let Some(z) = &p.weight_zero_point {
                tensors.push(StTensor::i32(format!("{x}.weight_zero_point"), vec![z.len() / ng, ng], z));
            }
        }
        stats.quantized_tensors += 1;
        stats.quantized_params += (n * q.k()) as u64;
        stats.quantized_bytes += tensors[before..].iter().map(|t| t.bytes.len() as u64).sum::<u64>();
        stats.total_params += (n * q.k()) as u64;
    }
    let st = dir.join("model.safetensors");
    stats.total_bytes = write_safetensors(&st, &tensors)?;
    for f in ["config.json", "model.safetensors"] {
        stats.files.push((dir.join(f), file_size(&dir.join(f))?));
    }
    Ok(stats)
}

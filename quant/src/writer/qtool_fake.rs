//! The qtool fake-quant writer: a Hugging Face folder whose quantized Linears are stored dense,
//! already quantized and dequantized by the scheme's weight format (then rounded to the model
//! dtype), with the scheme in `config.json`. qtool's loader applies the activation and KV cache
//! formats at run time from `quantization_config.scheme`. Any scheme can be written this way.
//!
//! `quantization_config`: `{"quant_method": "qtool", "format": "fake-quant", "scheme": NAME,
//! "weights": LABEL|null, "input_activations": LABEL|null, "kv_cache": LABEL|null, "method":
//! "rtn", "ignore": [...], "rotation": {"down_proj": bool, "qk_heads": bool}|null, "qtool_version": ...}`.
//! `rotation` names QuaRot's online Hadamard transforms the weights were rotated for; a loader
//! that cannot run them must refuse the folder.

use super::model::{HfModel, WriteStats};
use super::safetensors_file::{check_range, file_size, torch_name, write_json, write_safetensors, StTensor};
use crate::scheme::Scheme;
use crate::QuantError;
use serde_json::{json, Value};
use std::path::Path;

/// The `quantization_config` of a fake-quant folder.
pub fn quantization_config(s: &Scheme, method: &str, ignore: &[String], rotation: Option<&Value>) -> Value {
    json!({
        "quant_method": "qtool",
        "format": "fake-quant",
        "scheme": s.name,
        "weights": s.weight.map(|w| w.label()),
        "input_activations": s.act.map(|a| a.label()),
        "kv_cache": s.kv.map(|kv| format!("K {}; V {}", kv.k.label(), kv.v.label())),
        "method": method,
        "ignore": ignore,
        "rotation": rotation,
        "qtool_version": env!("CARGO_PKG_VERSION"),
    })
}

/// Writes `m` into `dir` (an existing, empty folder; the caller makes it atomic).
pub fn write(
    dir: &Path,
    m: &HfModel,
    s: &Scheme,
    method: &str,
    ignore: &[String],
    rotation: Option<&Value>,
) -> Result<WriteStats, QuantError> {
    let mut config = m.config.clone();
    config["torch_dtype"] = json!(torch_name(m.dtype));
    config["quantization_config"] = quantization_config(s, method, ignore, rotation);
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
        if Some(*q.format()) != s.weight {
            return Err(QuantError::BadTensor {
                tensor: l.module.clone(),
                what: format!("quantized as {}, the scheme's weights are not", q.format().label()),
            });
        }
        let name = format!("{}.weight", l.module);
        let values = q.dequantize();
        check_range(&name, m.dtype, &values)?;
        let t = StTensor::float(name, m.dtype, vec![q.n(), q.k()], &values);
        stats.quantized_tensors += 1;
        stats.quantized_params += (q.n() * q.k()) as u64;
        stats.quantized_bytes += t.bytes.len() as u64;
        stats.total_params += (q.n() * q.k()) as u64;
        tensors.push(t);
    }
    stats.total_bytes = write_safetensors(&dir.join("model.safetensors"), &tensors)?;
    for f in ["config.json", "model.safetensors"] {
        stats.files.push((dir.join(f), file_size(&dir.join(f))?));
    }
    Ok(stats)
}

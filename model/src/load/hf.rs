//! Hugging Face model folders: `config.json` plus `model.safetensors`, or shards listed in
//! `model.safetensors.index.json`. Files are memory-mapped; tensors already in the requested
//! dtype are used in place. A `quantization_config` (compressed-tensors, GPTQ, qtool
//! fake-quant) decides which tensors become packed Linears and what runs at run time.

use super::linears::LinearMap;
use super::plan::QuantPlan;
use super::quant_config::{self, QuantMethod};
use super::raw::{read_safetensors, RawMap};
use super::{compressed_tensors, gptq, qtool_fake, Checkpoint};
use crate::config::ModelConfig;
use crate::config_check::TensorShapes;
use crate::error::{ModelError, Result};
use crate::weights::{DType, WeightMap};
use safetensors::Dtype;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The safetensors files of a folder, in a stable order.
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(|source| ModelError::Io { path: index.clone(), source })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::Safetensors { path: index.clone(), what: format!("not valid JSON: {e}") })?;
        let map = v.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| ModelError::Config {
            path: index.clone(),
            field: "weight_map".into(),
            what: "missing, expected an object of tensor name -> shard file".into(),
        })?;
        let shards: BTreeSet<&str> = map.values().filter_map(|s| s.as_str()).collect();
        return Ok(shards.into_iter().map(|s| dir.join(s)).collect());
    }
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    Err(ModelError::Safetensors {
        path: dir.to_path_buf(),
        what: "no model.safetensors or model.safetensors.index.json in this folder".into(),
    })
}

/// Loads a HF folder. Quantized folders (see [`super::quant_config`]) keep their Linears packed
/// when `dtype` is `None` and dequantize them into `dtype` otherwise; dense tensors keep the
/// file's dtype unless `dtype` is given.
pub fn load(dir: &Path, dtype: Option<DType>) -> Result<Checkpoint> {
    let config_path = dir.join("config.json");
    let text =
        std::fs::read_to_string(&config_path).map_err(|source| ModelError::Io { path: config_path.clone(), source })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: config_path.clone(),
        field: "(file)".into(),
        what: format!("not valid JSON: {e}"),
    })?;
    let config = ModelConfig::from_hf_value(&value, &config_path)?;
    let method = quant_config::read(dir, &value)?;
    let mut raw = RawMap::new();
    for f in safetensors_files(dir)? {
        read_safetensors(&f, &mut raw)?;
    }
    config.check_tensors(dir, &shapes(&raw, &method)?)?;
    refuse_dense_under_packed(&raw, &method, &config_path)?;
    let (linears, quant) = match &method {
        QuantMethod::None => (LinearMap::new(), QuantPlan::none("dense")),
        QuantMethod::CompressedTensors(c) => compressed_tensors::take_linears(&mut raw, c, dtype)?,
        QuantMethod::Gptq(c) => gptq::take_linears(&mut raw, c, dtype)?,
        QuantMethod::QtoolFake(c) => (LinearMap::new(), qtool_fake::plan(&raw, c)),
    };
    let mut weights = WeightMap::new();
    for (name, t) in raw {
        let t = t.into_tensor(&name, dtype)?;
        weights.insert(name, t);
    }
    Ok(Checkpoint { config, weights, linears, quant })
}

/// The shapes of the folder's tensors by HF name, from the safetensors headers: a Linear stored
/// quantized is listed as `{prefix}.weight` with its logical `[out, in]` (GPTQ: from `qweight`
/// and `g_idx`; compressed-tensors: its `weight_shape`, a two-element tensor).
fn shapes(raw: &RawMap, method: &QuantMethod) -> Result<TensorShapes> {
    let mut s = TensorShapes::default();
    for (name, t) in raw {
        s.insert(name, t.shape.clone(), name.clone());
    }
    let names: Vec<&String> = raw.keys().collect();
    match method {
        QuantMethod::Gptq(c) => {
            let bits = c.weight.bits() as usize;
            for p in super::linears::prefixes_with(names.into_iter(), ".qweight") {
                let q = &raw[&format!("{p}.qweight")];
                let k = match raw.get(&format!("{p}.g_idx")) {
                    Some(g) => g.numel(),
                    None => q.shape.first().map_or(0, |r| r.saturating_mul(32) / bits),
                };
                let n = if q.shape.len() == 2 { q.shape[1] } else { 0 };
                s.insert(&format!("{p}.weight"), vec![n, k], format!("{p}.qweight"));
            }
        }
        QuantMethod::CompressedTensors(_) => {
            for p in super::linears::prefixes_with(names.into_iter(), ".weight_shape") {
                let name = format!("{p}.weight_shape");
                let t = &raw[&name];
                let nk = if t.numel() == 2 { t.to_i32(&name)? } else { Vec::new() };
                let shape = nk.iter().map(|&x| usize::try_from(x).unwrap_or(0)).collect();
                s.insert(&format!("{p}.weight"), shape, name);
            }
        }
        QuantMethod::None | QuantMethod::QtoolFake(_) => {}
    }
    Ok(s)
}

/// A GPTQ or compressed-tensors `quantization_config` over a folder whose Linears are all
/// stored dense is refused: loading it as dense would silently run another model than the
/// config describes.
fn refuse_dense_under_packed(raw: &RawMap, method: &QuantMethod, config_path: &Path) -> Result<()> {
    let (what, marker) = match method {
        QuantMethod::Gptq(_) => ("gptq", ".qweight"),
        QuantMethod::CompressedTensors(c) if c.format == quant_config::CtFormat::PackQuantized => {
            ("compressed-tensors pack-quantized", ".weight_packed")
        }
        QuantMethod::CompressedTensors(_) => {
            if raw.iter().any(|(n, t)| n.ends_with(".weight") && t.dtype == Dtype::I8) {
                return Ok(());
            }
            ("compressed-tensors int-quantized", ".weight (I8)")
        }
        QuantMethod::None | QuantMethod::QtoolFake(_) => return Ok(()),
    };
    if raw.keys().any(|n| n.ends_with(marker)) {
        return Ok(());
    }
    Err(ModelError::Config {
        path: config_path.to_path_buf(),
        field: "quantization_config".into(),
        what: format!(
            "says {what}, but no Linear is stored that way (no *{marker} tensors; the weights are dense). \
             Remove quantization_config to load the dense weights, or use the quantized checkpoint"
        ),
    })
}

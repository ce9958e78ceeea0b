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
use crate::error::{ModelError, Result};
use crate::weights::{DType, WeightMap};
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

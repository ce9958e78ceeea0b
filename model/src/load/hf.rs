//! Hugging Face model folders: `config.json` plus `model.safetensors`, or shards listed in
//! `model.safetensors.index.json`. Files are memory-mapped; tensors already in the requested
//! dtype are used in place.

use super::Checkpoint;
use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use crate::weights::{DType, Tensor, WeightMap};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

fn dtype_of(d: Dtype) -> Option<DType> {
    match d {
        Dtype::F32 => Some(DType::F32),
        Dtype::BF16 => Some(DType::BF16),
        Dtype::F16 => Some(DType::F16),
        _ => None,
    }
}

/// Memory-maps one safetensors file and adds its tensors to `out`.
pub fn load_safetensors(path: &Path, dtype: Option<DType>, out: &mut WeightMap) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|source| ModelError::Io { path: path.to_path_buf(), source })?;
    // SAFETY: read-only map of a file qtool does not modify while it runs.
    let map =
        Arc::new(unsafe { Mmap::map(&file) }.map_err(|source| ModelError::Io { path: path.to_path_buf(), source })?);
    let (header_len, meta) = SafeTensors::read_metadata(&map).map_err(|e| ModelError::Safetensors {
        path: path.to_path_buf(),
        what: format!("invalid safetensors file ({} bytes): {e:?}", map.len()),
    })?;
    let data_start = 8 + header_len;
    for (name, info) in meta.tensors() {
        let file_dtype = dtype_of(info.dtype).ok_or_else(|| ModelError::Tensor {
            tensor: name.clone(),
            what: format!("{}: dtype {:?}, expected F32, BF16 or F16", path.display(), info.dtype),
        })?;
        let (a, b) = info.data_offsets;
        let t = Tensor::mapped(map.clone(), data_start + a..data_start + b, file_dtype, info.shape.clone());
        let t = match dtype {
            Some(d) => t.to_dtype(d),
            None => t,
        };
        out.insert(name, t);
    }
    Ok(())
}

/// Loads a HF folder.
pub fn load(dir: &Path, dtype: Option<DType>) -> Result<Checkpoint> {
    let config = ModelConfig::from_hf_json(&dir.join("config.json"))?;
    let mut weights = WeightMap::new();
    for f in safetensors_files(dir)? {
        load_safetensors(&f, dtype, &mut weights)?;
    }
    Ok(Checkpoint { config, weights })
}

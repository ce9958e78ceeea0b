//! Safetensors tensors as read from a file, before the loader decides what they become: a
//! dtype (floats, or the integer types quantized checkpoints store codes in), a shape and the
//! byte range of a memory-mapped file.

use crate::error::{ModelError, Result};
use crate::weights::{DType, Tensor};
use memmap2::Mmap;
use quant::ScaleDtype;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One tensor of a safetensors file, not yet converted.
pub struct RawTensor {
    /// Element type as stored.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// The file, for error messages.
    pub file: PathBuf,
    map: Arc<Mmap>,
    range: Range<usize>,
}

/// Raw tensors by name.
pub type RawMap = HashMap<String, RawTensor>;

/// The float type of a safetensors dtype, if it is one the model holds dense.
pub fn float_dtype(d: Dtype) -> Option<DType> {
    match d {
        Dtype::F32 => Some(DType::F32),
        Dtype::BF16 => Some(DType::BF16),
        Dtype::F16 => Some(DType::F16),
        _ => None,
    }
}

/// Memory-maps one safetensors file and adds its tensors to `out`.
pub fn read_safetensors(path: &Path, out: &mut RawMap) -> Result<()> {
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
        let (a, b) = info.data_offsets;
        out.insert(
            name,
            RawTensor {
                dtype: info.dtype,
                shape: info.shape.clone(),
                file: path.to_path_buf(),
                map: map.clone(),
                range: data_start + a..data_start + b,
            },
        );
    }
    Ok(())
}

impl RawTensor {
    fn bytes(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }

    fn bad(&self, name: &str, what: String) -> ModelError {
        ModelError::Tensor { tensor: name.into(), what: format!("{}: {what}", self.file.display()) }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// A dense tensor (mapped in place when already `dtype`); float dtypes only.
    pub fn into_tensor(self, name: &str, dtype: Option<DType>) -> Result<Tensor> {
        let file_dtype = float_dtype(self.dtype).ok_or_else(|| {
            self.bad(name, format!("dtype {:?}, expected F32, BF16 or F16 for a dense tensor", self.dtype))
        })?;
        let t = Tensor::mapped(self.map, self.range, file_dtype, self.shape);
        Ok(match dtype {
            Some(d) => t.to_dtype(d),
            None => t,
        })
    }

    /// The elements of a float tensor as f32 (exact).
    pub fn to_f32(&self, name: &str) -> Result<Vec<f32>> {
        let b = self.bytes();
        Ok(match self.dtype {
            Dtype::F32 => b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            Dtype::BF16 => b.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::F16 => b.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            d => return Err(self.bad(name, format!("dtype {d:?}, expected F32, BF16 or F16"))),
        })
    }

    /// The dtype a float tensor's values are exact in (what scales were rounded to).
    pub fn scale_dtype(&self, name: &str) -> Result<ScaleDtype> {
        match self.dtype {
            Dtype::F32 => Ok(ScaleDtype::F32),
            Dtype::BF16 => Ok(ScaleDtype::Bf16),
            Dtype::F16 => Ok(ScaleDtype::F16),
            d => Err(self.bad(name, format!("dtype {d:?}, expected F32, BF16 or F16 scales"))),
        }
    }

    /// The elements of an I32 tensor (or I64 whose values fit i32).
    pub fn to_i32(&self, name: &str) -> Result<Vec<i32>> {
        let b = self.bytes();
        match self.dtype {
            Dtype::I32 => Ok(b.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()),
            Dtype::I64 => b
                .chunks_exact(8)
                .map(|c| {
                    let v = i64::from_le_bytes(c.try_into().unwrap());
                    i32::try_from(v).map_err(|_| self.bad(name, format!("value {v} does not fit i32")))
                })
                .collect(),
            d => Err(self.bad(name, format!("dtype {d:?}, expected I32"))),
        }
    }

    /// The elements of an I8 tensor.
    pub fn to_i8(&self, name: &str) -> Result<Vec<i8>> {
        match self.dtype {
            Dtype::I8 => Ok(self.bytes().iter().map(|&b| b as i8).collect()),
            d => Err(self.bad(name, format!("dtype {d:?}, expected I8"))),
        }
    }

    /// Checks the shape.
    pub fn expect_shape(&self, name: &str, shape: &[usize]) -> Result<()> {
        if self.shape != shape {
            return Err(self.bad(name, format!("shape {:?}, expected {shape:?}", self.shape)));
        }
        Ok(())
    }
}

/// Removes `name` from `raw`, or says which tensor the layout needs.
pub fn take(raw: &mut RawMap, name: &str, layout: &str) -> Result<RawTensor> {
    raw.remove(name)
        .ok_or_else(|| ModelError::Tensor { tensor: name.into(), what: format!("missing ({layout} needs it)") })
}

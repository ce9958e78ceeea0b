//! Writing one `model.safetensors` with the `safetensors` crate: tensors given as raw
//! little-endian bytes with their dtype and shape, plus the float conversions writers need.

use crate::format::ScaleDtype;
use crate::QuantError;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// One tensor ready to serialize.
#[derive(Clone, Debug, PartialEq)]
pub struct StTensor {
    /// Name in the file.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Little-endian element bytes.
    pub bytes: Vec<u8>,
}

impl StTensor {
    /// A float tensor stored as `dtype`.
    pub fn float(name: impl Into<String>, dtype: ScaleDtype, shape: Vec<usize>, data: &[f32]) -> StTensor {
        StTensor { name: name.into(), dtype: st_dtype(dtype), shape, bytes: float_bytes(dtype, data) }
    }

    /// An int32 tensor.
    pub fn i32(name: impl Into<String>, shape: Vec<usize>, data: &[i32]) -> StTensor {
        StTensor {
            name: name.into(),
            dtype: Dtype::I32,
            shape,
            bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// An int64 tensor.
    pub fn i64(name: impl Into<String>, shape: Vec<usize>, data: &[i64]) -> StTensor {
        StTensor {
            name: name.into(),
            dtype: Dtype::I64,
            shape,
            bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// An int8 tensor.
    pub fn i8(name: impl Into<String>, shape: Vec<usize>, data: &[i8]) -> StTensor {
        StTensor { name: name.into(), dtype: Dtype::I8, shape, bytes: data.iter().map(|&v| v as u8).collect() }
    }
}

/// The safetensors dtype of a float type.
pub fn st_dtype(d: ScaleDtype) -> Dtype {
    match d {
        ScaleDtype::F32 => Dtype::F32,
        ScaleDtype::F16 => Dtype::F16,
        ScaleDtype::Bf16 => Dtype::BF16,
    }
}

/// `data` rounded to `dtype` (nearest even), little-endian.
pub fn float_bytes(dtype: ScaleDtype, data: &[f32]) -> Vec<u8> {
    match dtype {
        ScaleDtype::F32 => data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ScaleDtype::F16 => data.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect(),
        ScaleDtype::Bf16 => data.iter().flat_map(|&v| half::bf16::from_f32(v).to_le_bytes()).collect(),
    }
}

/// The torch name of a float type (`torch_dtype` in `config.json`).
pub fn torch_name(d: ScaleDtype) -> &'static str {
    match d {
        ScaleDtype::F32 => "float32",
        ScaleDtype::F16 => "float16",
        ScaleDtype::Bf16 => "bfloat16",
    }
}

/// Checks that `data` fits `dtype` (f16 overflows above 65504).
pub fn check_range(name: &str, dtype: ScaleDtype, data: &[f32]) -> Result<(), QuantError> {
    if dtype == ScaleDtype::F16 {
        if let Some(i) = data.iter().position(|v| v.abs() > 65504.0) {
            return Err(QuantError::BadTensor {
                tensor: name.to_string(),
                what: format!("value {} at index {i} overflows f16; write with --dtype bf16 or f32", data[i]),
            });
        }
    }
    Ok(())
}

/// Writes `tensors` to `path` (with `{"format": "pt"}` metadata, as transformers expects) and
/// returns the bytes of tensor data. Names must be unique.
pub fn write_safetensors(path: &Path, tensors: &[StTensor]) -> Result<u64, QuantError> {
    let mut seen = std::collections::HashSet::new();
    for t in tensors {
        if !seen.insert(t.name.as_str()) {
            return Err(QuantError::BadTensor { tensor: t.name.clone(), what: "written twice".into() });
        }
    }
    let views = tensors
        .iter()
        .map(|t| {
            TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| QuantError::BadTensor { tensor: t.name.clone(), what: format!("cannot serialize: {e:?}") })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(meta), path).map_err(|e| QuantError::Write {
        path: path.to_path_buf(),
        what: format!("safetensors write failed: {e:?}"),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The safetensors writer creates files 0600; checkpoints are meant to be shared.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            .map_err(|source| QuantError::Io { path: path.to_path_buf(), source })?;
    }
    Ok(tensors.iter().map(|t| t.bytes.len() as u64).sum())
}

/// Writes `value` as pretty JSON with a trailing newline.
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), QuantError> {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialize") + "\n";
    std::fs::write(path, text).map_err(|source| QuantError::Io { path: path.to_path_buf(), source })
}

/// The size of a written file.
pub fn file_size(path: &Path) -> Result<u64, QuantError> {
    std::fs::metadata(path).map(|m| m.len()).map_err(|source| QuantError::Io { path: path.to_path_buf(), source })
}

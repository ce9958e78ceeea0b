//! Tensors as the model holds them: owned vectors, or slices of a memory-mapped safetensors
//! file when the file's dtype is the one the model runs in (no copy at load).

use half::{bf16, f16};
use kernels::DenseWeight;
use memmap2::Mmap;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// Element types the model stores dense weights in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// bfloat16.
    BF16,
    /// IEEE half.
    F16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::BF16 | DType::F16 => 2,
        }
    }
    /// The lowercase name (`f32`, `bf16`, `f16`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
        }
    }
    /// HF `torch_dtype` name.
    pub fn torch_name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::BF16 => "bfloat16",
            DType::F16 => "float16",
        }
    }
    /// Parses `f32|bf16|f16` (also torch names).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" | "fp32" => Some(DType::F32),
            "bf16" | "bfloat16" => Some(DType::BF16),
            "f16" | "float16" | "fp16" | "half" => Some(DType::F16),
            _ => None,
        }
    }
}

/// Where a tensor's elements live.
pub enum TensorData {
    /// Owned f32.
    F32(Vec<f32>),
    /// Owned bf16.
    BF16(Vec<bf16>),
    /// Owned f16.
    F16(Vec<f16>),
    /// A byte range of a mapped file, aligned for `dtype` (checked when built).
    Mapped {
        /// The mapping.
        map: Arc<Mmap>,
        /// Byte range of the elements.
        range: Range<usize>,
        /// Element type.
        dtype: DType,
    },
}

/// A dense tensor, row-major.
pub struct Tensor {
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Elements.
    pub data: TensorData,
}

impl Tensor {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        match &self.data {
            TensorData::F32(_) => DType::F32,
            TensorData::BF16(_) => DType::BF16,
            TensorData::F16(_) => DType::F16,
            TensorData::Mapped { dtype, .. } => *dtype,
        }
    }

    /// Bytes of element storage.
    pub fn n_bytes(&self) -> usize {
        self.numel() * self.dtype().size()
    }

    /// A borrowed view for the kernels.
    pub fn dense(&self) -> DenseWeight<'_> {
        match &self.data {
            TensorData::F32(v) => DenseWeight::F32(v),
            TensorData::BF16(v) => DenseWeight::BF16(v),
            TensorData::F16(v) => DenseWeight::F16(v),
            TensorData::Mapped { map, range, dtype } => {
                let bytes = &map[range.clone()];
                // Alignment was checked by `Tensor::mapped`, so these casts cannot fail.
                match dtype {
                    DType::F32 => DenseWeight::F32(bytemuck::cast_slice(bytes)),
                    DType::BF16 => DenseWeight::BF16(bytemuck::cast_slice(bytes)),
                    DType::F16 => DenseWeight::F16(bytemuck::cast_slice(bytes)),
                }
            }
        }
    }

    /// A tensor over `map[range]`; copies into an owned vector when the bytes are not aligned
    /// for the element type.
    pub fn mapped(map: Arc<Mmap>, range: Range<usize>, dtype: DType, shape: Vec<usize>) -> Self {
        let aligned = (map.as_ptr() as usize + range.start).is_multiple_of(dtype.size());
        if aligned {
            return Tensor { shape, data: TensorData::Mapped { map, range, dtype } };
        }
        let bytes = &map[range];
        let data = match dtype {
            DType::F32 => {
                TensorData::F32(bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
            }
            DType::BF16 => TensorData::BF16(bytes.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]])).collect()),
            DType::F16 => TensorData::F16(bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]])).collect()),
        };
        Tensor { shape, data }
    }

    /// An owned f32 tensor.
    pub fn from_f32(shape: Vec<usize>, v: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), v.len());
        Tensor { shape, data: TensorData::F32(v) }
    }

    /// The elements as f32 (copied).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self.dense() {
            DenseWeight::F32(v) => v.to_vec(),
            DenseWeight::BF16(v) => v.iter().map(|x| x.to_f32()).collect(),
            DenseWeight::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
        }
    }

    /// The same tensor stored as `dtype` (a no-op when it already is). Rounds to nearest even.
    pub fn to_dtype(self, dtype: DType) -> Tensor {
        if self.dtype() == dtype {
            return self;
        }
        let v = self.to_f32_vec();
        let data = match dtype {
            DType::F32 => TensorData::F32(v),
            DType::BF16 => TensorData::BF16(v.iter().map(|&x| bf16::from_f32(x)).collect()),
            DType::F16 => TensorData::F16(v.iter().map(|&x| f16::from_f32(x)).collect()),
        };
        Tensor { shape: self.shape, data }
    }

    /// Little-endian bytes of the elements (for writing safetensors).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match &self.data {
            TensorData::F32(v) => bytemuck::cast_slice(v).to_vec(),
            TensorData::BF16(v) => bytemuck::cast_slice(v).to_vec(),
            TensorData::F16(v) => bytemuck::cast_slice(v).to_vec(),
            TensorData::Mapped { map, range, .. } => map[range.clone()].to_vec(),
        }
    }
}

/// Tensors by their Hugging Face names (`model.layers.0.self_attn.q_proj.weight`, ...).
pub type WeightMap = HashMap<String, Tensor>;

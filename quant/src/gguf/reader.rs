//! A memory-mapped GGUF reader: header (v2/v3, little-endian), metadata key/values, tensor infos
//! and the aligned data section. Every length is checked against the file before it is used, so
//! a truncated or corrupt file gives an error naming what was wrong, never a panic or a huge
//! allocation.

use super::metadata::{MetaValue, MetaValueType};
use super::types::GgmlType;
use crate::QuantError;
use memmap2::Mmap;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// `GGUF` read as a little-endian u32.
const GGUF_MAGIC: u32 = 0x4655_4747;
/// Alignment of the data section when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Nesting limit for arrays of arrays (ggml's writer never nests more than once).
const MAX_ARRAY_DEPTH: usize = 4;
/// Most elements reserved up front for a list whose length the file claims; longer lists grow
/// as their elements are actually read, so a corrupt count cannot force a huge allocation.
const MAX_RESERVE: usize = 1 << 16;
/// Most array elements the metadata may hold in all. An element takes as little as one byte
/// in the file but ~32 in memory, so the file size alone does not bound the memory; real
/// files hold a few arrays of at most a few hundred thousand entries (the vocabulary).
pub const MAX_ARRAY_ELEMENTS: u64 = 1 << 22;

/// One tensor's description, as stored in the tensor-info table.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// The GGUF name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions innermost first (ggml order): a matrix `[n_out, n_in]` in row-major terms is
    /// stored as `dims = [n_in, n_out]`.
    pub dims: Vec<u64>,
    /// The encoding.
    pub ty: GgmlType,
    /// Absolute byte offset of the tensor data in the file.
    pub offset: u64,
    /// Size of the tensor data in bytes.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Shape in row-major order (outermost first), as PyTorch / safetensors print it.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// An opened GGUF file.
pub struct GgufFile {
    path: PathBuf,
    mmap: Mmap,
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata in file order.
    pub metadata: Vec<(String, MetaValue)>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Alignment of the data section.
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: u64,
    meta_index: HashMap<String, usize>,
    tensor_index: HashMap<String, usize>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
    /// Array elements read so far (bounded by [`MAX_ARRAY_ELEMENTS`]).
    array_elements: u64,
}

impl<'a> Cursor<'a> {
    fn err(&self, what: impl Into<String>) -> QuantError {
        QuantError::MalformedGguf { path: self.path.to_path_buf(), what: what.into() }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], QuantError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            self.err(format!(
                "truncated: {what} needs {n} bytes at offset {} but the file has {}",
                self.pos,
                self.bytes.len()
            ))
        })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn u8(&mut self, what: &str) -> Result<u8, QuantError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, QuantError> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32, QuantError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> Result<u64, QuantError> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }

    fn string(&mut self, what: &str) -> Result<String, QuantError> {
        let len = self.u64(what)?;
        if len > self.remaining() as u64 {
            return Err(self.err(format!(
                "{what}: string length {len} at offset {} exceeds the {} bytes left in the file",
                self.pos - 8,
                self.remaining()
            )));
        }
        let raw = self.take(len as usize, what)?;
        // Vocabularies occasionally hold invalid UTF-8 byte pieces; keep them lossily.
        Ok(String::from_utf8_lossy(raw).into_owned())
    }

    fn value(&mut self, ty: MetaValueType, key: &str, depth: usize) -> Result<MetaValue, QuantError> {
        Ok(match ty {
            MetaValueType::U8 => MetaValue::U8(self.u8(key)?),
            MetaValueType::I8 => MetaValue::I8(self.u8(key)? as i8),
            MetaValueType::U16 => MetaValue::U16(self.u16(key)?),
            MetaValueType::I16 => MetaValue::I16(self.u16(key)? as i16),
            MetaValueType::U32 => MetaValue::U32(self.u32(key)?),
            MetaValueType::I32 => MetaValue::I32(self.u32(key)? as i32),
            MetaValueType::F32 => MetaValue::F32(f32::from_bits(self.u32(key)?)),
            MetaValueType::Bool => match self.u8(key)? {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                b => return Err(self.err(format!("metadata '{key}': bool byte {b}, expected 0 or 1"))),
            },
            MetaValueType::String => MetaValue::String(self.string(key)?),
            MetaValueType::U64 => MetaValue::U64(self.u64(key)?),
            MetaValueType::I64 => MetaValue::I64(self.u64(key)? as i64),
            MetaValueType::F64 => MetaValue::F64(f64::from_bits(self.u64(key)?)),
            MetaValueType::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(self.err(format!("metadata '{key}': arrays nested deeper than {MAX_ARRAY_DEPTH}")));
                }
                let id = self.u32(key)?;
                let elem = MetaValueType::from_id(id).ok_or_else(|| {
                    self.err(format!("metadata '{key}': unknown array element type {id}, expected 0..=12"))
                })?;
                let len = self.u64(key)?;
                // Bound the length by what is left before allocating: every element takes at
                // least `min_stored_size` bytes. The in-memory `MetaValue` is larger than that,
                // so the up-front reservation is capped as well and real elements grow it.
                if len.saturating_mul(elem.min_stored_size()) > self.remaining() as u64 {
                    return Err(self.err(format!(
                        "metadata '{key}': array of {len} {elem:?} elements cannot fit in the {} bytes left",
                        self.remaining()
                    )));
                }
                self.array_elements = self.array_elements.saturating_add(len);
                if self.array_elements > MAX_ARRAY_ELEMENTS {
                    return Err(self.err(format!(
                        "metadata '{key}': the metadata arrays hold more than {MAX_ARRAY_ELEMENTS} elements in all \
                         (this one {len}); real files hold far fewer"
                    )));
                }
                let mut v = Vec::with_capacity((len as usize).min(MAX_RESERVE));
                for _ in 0..len {
                    v.push(self.value(elem, key, depth + 1)?);
                }
                MetaValue::Array(elem, v)
            }
        })
    }
}

impl GgufFile {
    /// Memory-maps and parses `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, QuantError> {
        let path = path.as_ref();
        let io = |source| QuantError::Io { path: path.to_path_buf(), source };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only; qtool never writes a file it has mapped. A file changed
        // underneath by another process is outside what any mmap reader can guard against.
        let mmap = unsafe { Mmap::map(&file) }.map_err(io)?;
        Self::parse(path.to_path_buf(), mmap)
    }

    fn parse(path: PathBuf, mmap: Mmap) -> Result<Self, QuantError> {
        let mut c = Cursor { bytes: &mmap[..], pos: 0, path: &path, array_elements: 0 };
        let magic = c.u32("magic")?;
        if magic != GGUF_MAGIC {
            return Err(c.err(format!(
                "wrong magic {:?} (0x{magic:08x}), expected \"GGUF\"",
                String::from_utf8_lossy(&magic.to_le_bytes())
            )));
        }
        let version = c.u32("version")?;
        if (2..=3).contains(&version.swap_bytes()) {
            return Err(
                c.err(format!("big-endian GGUF (version {} byte-swapped) is not supported", version.swap_bytes()))
            );
        }
        if !(2..=3).contains(&version) {
            return Err(c.err(format!("version {version}, expected 2 or 3")));
        }
        let n_tensors = c.u64("tensor count")?;
        let n_kv = c.u64("metadata count")?;
        // A KV takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor info at least 8+4+4+8.
        if n_kv.saturating_mul(13) > c.remaining() as u64 || n_tensors.saturating_mul(24) > c.remaining() as u64 {
            return Err(c.err(format!(
                "header claims {n_kv} metadata entries and {n_tensors} tensors, more than the file's {} bytes can hold",
                mmap.len()
            )));
        }

        let mut metadata = Vec::with_capacity((n_kv as usize).min(MAX_RESERVE));
        for i in 0..n_kv {
            let key = c.string(&format!("metadata key #{i}"))?;
            let id = c.u32(&key)?;
            let ty = MetaValueType::from_id(id)
                .ok_or_else(|| c.err(format!("metadata '{key}': unknown value type {id}, expected 0..=12")))?;
            let value = c.value(ty, &key, 0)?;
            metadata.push((key, value));
        }
        let mut meta_index: HashMap<String, usize> = HashMap::with_capacity(metadata.len());
        for (i, (k, _)) in metadata.iter().enumerate() {
            if meta_index.insert(k.clone(), i).is_some() {
                return Err(c.err(format!("metadata key '{k}' appears more than once")));
            }
        }

        let alignment = match meta_index.get("general.alignment").map(|&i| &metadata[i].1) {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => return Err(c.err(format!("general.alignment = {}, expected a power of two", v.summary()))),
            },
        };

        let mut raw_infos = Vec::with_capacity((n_tensors as usize).min(MAX_RESERVE));
        for i in 0..n_tensors {
            let name = c.string(&format!("tensor #{i} name"))?;
            let n_dims = c.u32(&name)?;
            if n_dims == 0 || n_dims > 4 {
                return Err(c.err(format!("tensor '{name}': {n_dims} dimensions, expected 1 to 4")));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(c.u64(&name)?);
            }
            let id = c.u32(&name)?;
            let ty =
                GgmlType::from_id(id).ok_or_else(|| c.err(format!("tensor '{name}': unknown GGML type id {id}")))?;
            let offset = c.u64(&name)?;
            raw_infos.push((name, dims, ty, offset));
        }
        let data_offset = (c.pos as u64).div_ceil(alignment) * alignment;
        let file_len = mmap.len() as u64;

        let mut tensors = Vec::with_capacity(raw_infos.len());
        for (name, dims, ty, rel) in raw_infos {
            // ggml stores whole blocks per row: the innermost dimension must be a multiple of the
            // block size, not just the element count.
            if dims[0] % ty.block_size() as u64 != 0 {
                return Err(c.err(format!(
                    "tensor '{name}': rows of {} elements (dims {dims:?}) are not a whole number of {ty} blocks of {}",
                    dims[0],
                    ty.block_size()
                )));
            }
            let n_el = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
            let n_bytes = n_el
                .and_then(|n| ty.bytes_for(n))
                .ok_or_else(|| c.err(format!("tensor '{name}': dims {dims:?} overflow the element or byte count")))?;
            if rel % alignment != 0 {
                return Err(
                    c.err(format!("tensor '{name}': offset {rel} is not a multiple of the alignment {alignment}"))
                );
            }
            let offset = data_offset.checked_add(rel);
            let end = offset.and_then(|o| o.checked_add(n_bytes));
            match (offset, end) {
                (Some(offset), Some(end)) if end <= file_len => {
                    tensors.push(TensorInfo { name, dims, ty, offset, n_bytes })
                }
                _ => {
                    return Err(c.err(format!(
                        "tensor '{name}': data [{}+{rel}, +{n_bytes} bytes) runs past the end of the file ({file_len} bytes): truncated or corrupt",
                        data_offset
                    )))
                }
            }
        }
        let mut tensor_index = HashMap::with_capacity(tensors.len());
        for (i, t) in tensors.iter().enumerate() {
            if tensor_index.insert(t.name.clone(), i).is_some() {
                return Err(c.err(format!("tensor name '{}' appears more than once", t.name)));
            }
        }
        Ok(GgufFile { path, mmap, version, metadata, tensors, alignment, data_offset, meta_index, tensor_index })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A metadata value by key.
    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.meta_index.get(key).map(|&i| &self.metadata[i].1)
    }

    fn meta_err(&self, key: &str, what: &str) -> QuantError {
        QuantError::Metadata { path: self.path.clone(), key: key.to_string(), what: what.to_string() }
    }

    /// A required string value.
    pub fn get_str(&self, key: &str) -> Result<&str, QuantError> {
        match self.get(key) {
            None => Err(self.meta_err(key, "missing, expected a string")),
            Some(v) => v.as_str().ok_or_else(|| self.meta_err(key, &format!("is {}, expected a string", v.summary()))),
        }
    }

    /// A required non-negative integer value.
    pub fn get_u64(&self, key: &str) -> Result<u64, QuantError> {
        match self.get(key) {
            None => Err(self.meta_err(key, "missing, expected an integer")),
            Some(v) => {
                v.as_u64().ok_or_else(|| self.meta_err(key, &format!("is {}, expected an integer", v.summary())))
            }
        }
    }

    /// A required number.
    pub fn get_f64(&self, key: &str) -> Result<f64, QuantError> {
        match self.get(key) {
            None => Err(self.meta_err(key, "missing, expected a number")),
            Some(v) => v.as_f64().ok_or_else(|| self.meta_err(key, &format!("is {}, expected a number", v.summary()))),
        }
    }

    /// A required array value.
    pub fn get_array(&self, key: &str) -> Result<&[MetaValue], QuantError> {
        match self.get(key) {
            None => Err(self.meta_err(key, "missing, expected an array")),
            Some(v) => {
                v.as_array().ok_or_else(|| self.meta_err(key, &format!("is {}, expected an array", v.summary())))
            }
        }
    }

    /// `general.architecture` (e.g. `llama`, `qwen2`).
    pub fn architecture(&self) -> Result<&str, QuantError> {
        self.get_str("general.architecture")
    }

    /// A tensor's info by name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// A tensor's raw bytes (bounds were checked at open).
    pub fn tensor_data(&self, info: &TensorInfo) -> &[u8] {
        &self.mmap[info.offset as usize..(info.offset + info.n_bytes) as usize]
    }

    /// Dequantizes a tensor to f32 (row-major, `info.shape()`).
    pub fn dequantize(&self, info: &TensorInfo) -> Result<Vec<f32>, QuantError> {
        let mut out = vec![0f32; info.n_elements() as usize];
        super::dequant::dequantize(info.ty, self.tensor_data(info), &mut out).map_err(|e| match e {
            QuantError::UnsupportedType { ty, .. } => QuantError::UnsupportedType { tensor: info.name.clone(), ty },
            QuantError::BadTensor { what, .. } => QuantError::BadTensor { tensor: info.name.clone(), what },
            other => other,
        })?;
        Ok(out)
    }
}

//! The GGUF v3 container writer: header, metadata key/values (every value type, nested arrays
//! included), tensor infos (dims innermost first, offsets relative to the data section) and the
//! data section, each tensor starting on the alignment (`general.alignment`, default 32).
//! Little-endian throughout, as [`crate::gguf::GgufFile`] reads it.

use crate::gguf::{GgmlType, MetaValue, MetaValueType};
use crate::QuantError;
use std::io::Write;
use std::path::Path;

/// One tensor to store.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufTensorOut {
    /// GGUF name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions innermost first (`[k, n]` for a matrix `W[n, k]`).
    pub dims: Vec<u64>,
    /// Encoding.
    pub ty: GgmlType,
    /// Encoded bytes: whole blocks of `ty`.
    pub bytes: Vec<u8>,
}

const MAGIC: &[u8; 4] = b"GGUF";
const VERSION: u32 = 3;
/// The alignment when the metadata does not set `general.alignment`.
pub const DEFAULT_ALIGNMENT: u64 = 32;

fn value_type(v: &MetaValue) -> MetaValueType {
    match v {
        MetaValue::U8(_) => MetaValueType::U8,
        MetaValue::I8(_) => MetaValueType::I8,
        MetaValue::U16(_) => MetaValueType::U16,
        MetaValue::I16(_) => MetaValueType::I16,
        MetaValue::U32(_) => MetaValueType::U32,
        MetaValue::I32(_) => MetaValueType::I32,
        MetaValue::F32(_) => MetaValueType::F32,
        MetaValue::Bool(_) => MetaValueType::Bool,
        MetaValue::String(_) => MetaValueType::String,
        MetaValue::Array(..) => MetaValueType::Array,
        MetaValue::U64(_) => MetaValueType::U64,
        MetaValue::I64(_) => MetaValueType::I64,
        MetaValue::F64(_) => MetaValueType::F64,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

/// Appends a value (without its type tag) to `out`; arrays must hold elements of their type.
fn put_value(out: &mut Vec<u8>, key: &str, v: &MetaValue) -> Result<(), QuantError> {
    match v {
        MetaValue::U8(x) => out.push(*x),
        MetaValue::I8(x) => out.push(*x as u8),
        MetaValue::U16(x) => out.extend(x.to_le_bytes()),
        MetaValue::I16(x) => out.extend(x.to_le_bytes()),
        MetaValue::U32(x) => out.extend(x.to_le_bytes()),
        MetaValue::I32(x) => out.extend(x.to_le_bytes()),
        MetaValue::F32(x) => out.extend(x.to_le_bytes()),
        MetaValue::Bool(x) => out.push(*x as u8),
        MetaValue::String(s) => put_str(out, s),
        MetaValue::U64(x) => out.extend(x.to_le_bytes()),
        MetaValue::I64(x) => out.extend(x.to_le_bytes()),
        MetaValue::F64(x) => out.extend(x.to_le_bytes()),
        MetaValue::Array(t, items) => {
            out.extend((*t as u32).to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for item in items {
                if value_type(item) != *t {
                    return Err(QuantError::BadTensor {
                        tensor: key.to_string(),
                        what: format!("metadata array of {t:?} holds a {:?}", value_type(item)),
                    });
                }
                put_value(out, key, item)?;
            }
        }
    }
    Ok(())
}

/// The alignment `metadata` asks for.
fn alignment(metadata: &[(String, MetaValue)]) -> Result<u64, QuantError> {
    match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => Ok(DEFAULT_ALIGNMENT),
        Some((_, v)) => match v.as_u64() {
            Some(a) if a > 0 && a.is_power_of_two() => Ok(a),
            _ => Err(QuantError::BadFormat {
                what: format!("general.alignment = {}, expected a power of two", v.summary()),
            }),
        },
    }
}

/// Serializes header, metadata and tensor infos; returns the bytes (unpadded) and each
/// tensor's offset in the data section.
fn header(
    metadata: &[(String, MetaValue)],
    tensors: &[GgufTensorOut],
    align: u64,
) -> Result<(Vec<u8>, Vec<u64>), QuantError> {
    let mut out = Vec::new();
    out.extend(MAGIC);
    out.extend(VERSION.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    let mut keys = std::collections::HashSet::new();
    for (k, v) in metadata {
        if !keys.insert(k.as_str()) {
            return Err(QuantError::BadFormat { what: format!("metadata key '{k}' given twice") });
        }
        put_str(&mut out, k);
        out.extend((value_type(v) as u32).to_le_bytes());
        put_value(&mut out, k, v)?;
    }
    let mut names = std::collections::HashSet::new();
    let mut offsets = Vec::with_capacity(tensors.len());
    let mut offset = 0u64;
    for t in tensors {
        let bad = |what: String| QuantError::BadTensor { tensor: t.name.clone(), what };
        if !names.insert(t.name.as_str()) {
            return Err(bad("written twice".into()));
        }
        if t.dims.is_empty() || t.dims.len() > 4 {
            return Err(bad(format!("{} dimensions, GGUF holds 1 to 4", t.dims.len())));
        }
        if !t.dims[0].is_multiple_of(t.ty.block_size() as u64) {
            return Err(bad(format!("rows of {} are not whole {} blocks of {}", t.dims[0], t.ty, t.ty.block_size())));
        }
        let n: u64 = t.dims.iter().product();
        if t.ty.bytes_for(n) != Some(t.bytes.len() as u64) {
            return Err(bad(format!("{} bytes for {n} elements of {}", t.bytes.len(), t.ty)));
        }
        put_str(&mut out, &t.name);
        out.extend((t.dims.len() as u32).to_le_bytes());
        for d in &t.dims {
            out.extend(d.to_le_bytes());
        }
        out.extend(t.ty.id().to_le_bytes());
        out.extend(offset.to_le_bytes());
        offsets.push(offset);
        offset = (offset + t.bytes.len() as u64).div_ceil(align) * align;
    }
    Ok((out, offsets))
}

/// Writes a GGUF v3 file at `path` (the caller makes it atomic); returns the file size.
pub fn write_gguf(path: &Path, metadata: &[(String, MetaValue)], tensors: &[GgufTensorOut]) -> Result<u64, QuantError> {
    let align = alignment(metadata)?;
    let (head, offsets) = header(metadata, tensors, align)?;
    let io = |source| QuantError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    w.write_all(&head).map_err(io)?;
    let data_start = (head.len() as u64).div_ceil(align) * align;
    w.write_all(&vec![0u8; (data_start - head.len() as u64) as usize]).map_err(io)?;
    let mut pos = 0u64;
    for (t, &off) in tensors.iter().zip(&offsets) {
        w.write_all(&vec![0u8; (off - pos) as usize]).map_err(io)?;
        w.write_all(&t.bytes).map_err(io)?;
        pos = off + t.bytes.len() as u64;
    }
    // Pad the last tensor too, as gguf-py's writer does.
    let end = pos.div_ceil(align) * align;
    w.write_all(&vec![0u8; (end - pos) as usize]).map_err(io)?;
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(data_start + end)
}

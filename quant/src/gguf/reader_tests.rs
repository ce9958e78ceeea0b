//! Tests of the GGUF reader on hand-built byte buffers: every malformed input gives a
//! `MalformedGguf` error whose message names the problem, and a file using every metadata value
//! type round-trips.

use super::metadata::{MetaValue, MetaValueType};
use super::reader::GgufFile;
use super::types::GgmlType;
use crate::QuantError;
use std::io::Write;

/// Builds GGUF bytes piece by piece (little-endian, as the format stores them).
#[derive(Default)]
struct Bytes(Vec<u8>);

impl Bytes {
    /// Magic, version 3 and the two counts.
    fn header(n_tensors: u64, n_kv: u64) -> Self {
        Bytes::default().raw(b"GGUF").u32(3).u64(n_tensors).u64(n_kv)
    }
    fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn u8(self, v: u8) -> Self {
        self.raw(&[v])
    }
    fn u32(self, v: u32) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn u64(self, v: u64) -> Self {
        self.raw(&v.to_le_bytes())
    }
    fn str(self, s: &str) -> Self {
        self.u64(s.len() as u64).raw(s.as_bytes())
    }
    /// A key and its value type id; the value follows.
    fn key(self, key: &str, ty: MetaValueType) -> Self {
        self.str(key).u32(ty as u32)
    }
    /// A tensor info: name, dims (innermost first), GGML type id, offset in the data section.
    fn tensor(self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Self {
        let mut b = self.str(name).u32(dims.len() as u32);
        for &d in dims {
            b = b.u64(d);
        }
        b.u32(ty).u64(offset)
    }
    /// Zero bytes up to the next multiple of `align`.
    fn pad(mut self, align: usize) -> Self {
        self.0.resize(self.0.len().div_ceil(align) * align, 0);
        self
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

fn open(bytes: &Bytes) -> Result<GgufFile, QuantError> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&bytes.0).unwrap();
    f.flush().unwrap();
    GgufFile::open(f.path())
}

/// The error message of a file that must fail to open with `MalformedGguf`.
fn malformed(bytes: &Bytes) -> String {
    match open(bytes) {
        Err(e @ QuantError::MalformedGguf { .. }) => e.to_string(),
        Err(other) => panic!("expected MalformedGguf, got {other:?}"),
        Ok(_) => panic!("a malformed file opened"),
    }
}

#[track_caller]
fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error message lacks {p:?}:\n{msg}");
    }
    assert!(msg.contains("malformed GGUF"), "{msg}");
}

#[test]
fn wrong_magic() {
    let msg = malformed(&Bytes::default().raw(b"GGML").u32(3).u64(0).u64(0));
    assert_has(&msg, &["wrong magic \"GGML\" (0x4c4d4747)", "expected \"GGUF\""]);
}

#[test]
fn truncated_header() {
    assert_has(&malformed(&Bytes::default()), &["truncated: magic needs 4 bytes at offset 0 but the file has 0"]);
    let msg = malformed(&Bytes::default().raw(b"GGUF").u32(3).raw(&[0; 4]));
    assert_has(&msg, &["truncated: tensor count needs 8 bytes at offset 8 but the file has 12"]);
    let msg = malformed(&Bytes::default().raw(b"GGUF").u32(3).u64(0).raw(&[0; 7]));
    assert_has(&msg, &["truncated: metadata count needs 8 bytes at offset 16 but the file has 23"]);
}

#[test]
fn unsupported_versions() {
    assert_has(&malformed(&Bytes::default().raw(b"GGUF").u32(1).u64(0).u64(0)), &["version 1, expected 2 or 3"]);
    let be = Bytes::default().raw(b"GGUF").raw(&3u32.to_be_bytes()).u64(0).u64(0);
    assert_has(&malformed(&be), &["big-endian GGUF", "not supported"]);
}

#[test]
fn counts_larger_than_the_file() {
    let msg = malformed(&Bytes::header(0, 1 << 60));
    assert_has(&msg, &["header claims 1152921504606846976 metadata entries and 0 tensors", "24 bytes"]);
    let msg = malformed(&Bytes::header(u64::MAX, 0));
    assert_has(&msg, &["18446744073709551615 tensors"]);
}

#[test]
fn truncated_metadata_string() {
    // The value claims 1000 bytes, 3 are left.
    let b = Bytes::header(0, 1).key("general.name", MetaValueType::String).u64(1000).raw(b"abc");
    assert_has(&malformed(&b), &["general.name: string length 1000 at offset 48 exceeds the 3 bytes left"]);
    // The key itself is cut short.
    let b = Bytes::header(0, 1).u64(50).raw(b"general.");
    assert_has(&malformed(&b), &["metadata key #0: string length 50 at offset 24 exceeds the 8 bytes left"]);
    // A huge length must not wrap around or allocate.
    let b = Bytes::header(0, 1).key("k", MetaValueType::String).u64(u64::MAX);
    assert_has(&malformed(&b), &["k: string length 18446744073709551615"]);
}

#[test]
fn truncated_metadata_number() {
    let b = Bytes::header(0, 1).key("n", MetaValueType::U64).raw(&[1, 2, 3]);
    assert_has(&malformed(&b), &["truncated: n needs 8 bytes at offset 37 but the file has 40"]);
}

#[test]
fn unknown_metadata_value_type() {
    let b = Bytes::header(0, 1).str("general.weird").u32(13).u32(0);
    assert_has(&malformed(&b), &["metadata 'general.weird': unknown value type 13, expected 0..=12"]);
    let b = Bytes::header(0, 1).key("a", MetaValueType::Array).u32(42).u64(1).u32(0);
    assert_has(&malformed(&b), &["metadata 'a': unknown array element type 42"]);
}

#[test]
fn invalid_bool() {
    let b = Bytes::header(0, 1).key("flag", MetaValueType::Bool).u8(2);
    assert_has(&malformed(&b), &["metadata 'flag': bool byte 2, expected 0 or 1"]);
}

#[test]
fn array_length_larger_than_file() {
    let b = Bytes::header(0, 1).key("tokenizer.ggml.scores", MetaValueType::Array).u32(MetaValueType::F32 as u32);
    let msg = malformed(&b.u64(1 << 40).raw(&[0; 16]));
    assert_has(
        &msg,
        &["metadata 'tokenizer.ggml.scores': array of 1099511627776 F32 elements cannot fit in the 16 bytes left"],
    );
    // 16 bytes left: 16 one-byte elements would fit, 16 eight-byte ones must be refused up front.
    let b = Bytes::header(0, 1).key("ids", MetaValueType::Array).u32(MetaValueType::U64 as u32).u64(16);
    assert_has(&malformed(&b.raw(&[0; 16])), &["array of 16 U64 elements cannot fit in the 16 bytes left"]);
    let b = Bytes::header(0, 1).key("s", MetaValueType::Array).u32(MetaValueType::String as u32).u64(u64::MAX);
    assert_has(&malformed(&b), &["array of 18446744073709551615 String elements cannot fit"]);
}

#[test]
fn metadata_arrays_are_bounded_in_memory() {
    // A few MiB of one-byte elements would take ~32x as much as in-memory values: the total
    // element count is bounded (real vocabularies hold a few hundred thousand per array).
    let n = (1u64 << 22) + 1;
    let b = Bytes::header(0, 1).key("blob", MetaValueType::Array).u32(MetaValueType::U8 as u32).u64(n);
    let msg = malformed(&b.raw(&vec![0; n as usize]));
    assert_has(&msg, &["metadata 'blob'", "elements", "4194304"]);
    // Spread over several arrays too.
    let half = 1u64 << 21;
    let mut b = Bytes::header(0, 3);
    for k in ["a", "b", "c"] {
        b = b.key(k, MetaValueType::Array).u32(MetaValueType::U8 as u32).u64(half).raw(&vec![0; half as usize]);
    }
    assert_has(&malformed(&b), &["metadata 'c'", "4194304"]);
}

#[test]
fn arrays_nested_too_deep() {
    let mut b = Bytes::header(0, 1).key("deep", MetaValueType::Array);
    for _ in 0..5 {
        b = b.u32(MetaValueType::Array as u32).u64(1);
    }
    assert_has(&malformed(&b.raw(&[0; 64])), &["metadata 'deep': arrays nested deeper than 4"]);
}

#[test]
fn duplicate_metadata_key() {
    let b = Bytes::header(0, 2).key("a", MetaValueType::U8).u8(1).key("a", MetaValueType::U8).u8(2);
    assert_has(&malformed(&b), &["metadata key 'a' appears more than once"]);
}

#[test]
fn bad_alignment() {
    let b = Bytes::header(0, 1).key("general.alignment", MetaValueType::U32).u32(48);
    assert_has(&malformed(&b), &["general.alignment = 48, expected a power of two"]);
}

#[test]
fn unknown_ggml_type_id() {
    let b = Bytes::header(1, 0).tensor("blk.0.attn_q.weight", &[32], 4, 0).pad(32).raw(&[0; 64]);
    assert_has(&malformed(&b), &["tensor 'blk.0.attn_q.weight': unknown GGML type id 4"]);
    let b = Bytes::header(1, 0).tensor("w", &[32], 1000, 0).pad(32).raw(&[0; 64]);
    assert_has(&malformed(&b), &["tensor 'w': unknown GGML type id 1000"]);
}

#[test]
fn bad_dimensions() {
    let b = Bytes::header(1, 0).tensor("w", &[1, 1, 1, 1, 1], 0, 0).pad(32).raw(&[0; 4]);
    assert_has(&malformed(&b), &["tensor 'w': 5 dimensions, expected 1 to 4"]);
    // 16 x 2 Q4_0 is 32 elements in total but rows of 16 cannot hold whole 32-element blocks.
    let b = Bytes::header(1, 0).tensor("w", &[16, 2], GgmlType::Q4_0.id(), 0).pad(32).raw(&[0; 18]);
    assert_has(
        &malformed(&b),
        &["tensor 'w': rows of 16 elements (dims [16, 2]) are not a whole number of Q4_0 blocks of 32"],
    );
    let b = Bytes::header(1, 0).tensor("w", &[1 << 32, 1 << 32, 1 << 32], 0, 0).pad(32);
    assert_has(&malformed(&b), &["tensor 'w': dims [4294967296, 4294967296, 4294967296] overflow"]);
}

#[test]
fn misaligned_tensor_offset() {
    let b = Bytes::header(1, 0).tensor("w", &[4], 0, 4).pad(32).raw(&[0; 64]);
    assert_has(&malformed(&b), &["tensor 'w': offset 4 is not a multiple of the alignment 32"]);
}

#[test]
fn tensor_data_beyond_the_file() {
    // 8 f32 = 32 bytes needed, 16 present.
    let b = Bytes::header(1, 0).tensor("w", &[8], 0, 0).pad(32);
    let data_offset = b.len();
    let b = b.raw(&[0; 16]);
    let msg = malformed(&b);
    assert_has(
        &msg,
        &[
            &format!(
                "tensor 'w': data [{data_offset}+0, +32 bytes) runs past the end of the file ({} bytes)",
                data_offset + 16
            ),
            "truncated or corrupt",
        ],
    );
    // The second tensor's offset points past the end.
    let b = Bytes::header(2, 0).tensor("a", &[8], 0, 0).tensor("b", &[8], 0, 64).pad(32).raw(&[0; 64]);
    assert_has(&malformed(&b), &["tensor 'b': data [", "+64, +32 bytes) runs past the end of the file"]);
    // An offset so large that offset + size overflows.
    let b = Bytes::header(1, 0).tensor("c", &[8], 0, u64::MAX - 31).pad(32).raw(&[0; 32]);
    assert_has(&malformed(&b), &["tensor 'c': data [", "runs past the end of the file"]);
}

#[test]
fn duplicate_tensor_name() {
    let b = Bytes::header(2, 0).tensor("w", &[8], 0, 0).tensor("w", &[8], 0, 32).pad(32).raw(&[0; 64]);
    assert_has(&malformed(&b), &["tensor name 'w' appears more than once"]);
}

/// A v3 file with one key of every value type (including a nested array of strings), a custom
/// alignment and two tensors, the second at a non-zero offset.
#[test]
fn every_value_type_round_trips() {
    use MetaValueType as T;
    let f32_bits = 1.5f32.to_bits();
    let b = Bytes::header(2, 15)
        .key("general.architecture", T::String)
        .str("llama")
        .key("general.alignment", T::U32)
        .u32(64)
        .key("v.u8", T::U8)
        .u8(200)
        .key("v.i8", T::I8)
        .u8(0x80)
        .key("v.u16", T::U16)
        .raw(&65535u16.to_le_bytes())
        .key("v.i16", T::I16)
        .raw(&(-2i16).to_le_bytes())
        .key("v.u32", T::U32)
        .u32(4_000_000_000)
        .key("v.i32", T::I32)
        .raw(&(-7i32).to_le_bytes())
        .key("v.f32", T::F32)
        .u32(f32_bits)
        .key("v.bool", T::Bool)
        .u8(1)
        .key("v.u64", T::U64)
        .u64(u64::MAX)
        .key("v.i64", T::I64)
        .raw(&i64::MIN.to_le_bytes())
        .key("v.f64", T::F64)
        .raw(&(-0.25f64).to_le_bytes())
        .key("v.utf8", T::String)
        .str("héllo ▁world")
        .key("v.nested", T::Array)
        .u32(T::Array as u32)
        .u64(2)
        .u32(T::String as u32)
        .u64(2)
        .str("a")
        .str("bc")
        .u32(T::String as u32)
        .u64(0)
        .tensor("blk.0.ffn_norm.weight", &[4, 2], GgmlType::F32.id(), 0)
        .tensor("blk.0.ffn_up.weight", &[32, 1], GgmlType::Q8_0.id(), 64)
        .pad(64);
    let data_offset = b.len() as u64;
    let mut data = Vec::new();
    for i in 0..8 {
        data.extend_from_slice(&(i as f32).to_le_bytes());
    }
    data.resize(64, 0xee); // padding between tensors
    data.extend_from_slice(&0x3c00u16.to_le_bytes()); // Q8_0 d = 1
    data.extend((0..32).map(|i: i8| (i - 16) as u8));
    let b = b.raw(&data);

    let g = open(&b).expect("valid file opens");
    assert_eq!(g.version, 3);
    assert_eq!(g.alignment, 64);
    assert_eq!(g.data_offset, data_offset);
    assert_eq!(g.architecture().unwrap(), "llama");
    let expect = [
        ("v.u8", MetaValue::U8(200)),
        ("v.i8", MetaValue::I8(-128)),
        ("v.u16", MetaValue::U16(65535)),
        ("v.i16", MetaValue::I16(-2)),
        ("v.u32", MetaValue::U32(4_000_000_000)),
        ("v.i32", MetaValue::I32(-7)),
        ("v.f32", MetaValue::F32(1.5)),
        ("v.bool", MetaValue::Bool(true)),
        ("v.u64", MetaValue::U64(u64::MAX)),
        ("v.i64", MetaValue::I64(i64::MIN)),
        ("v.f64", MetaValue::F64(-0.25)),
        ("v.utf8", MetaValue::String("héllo ▁world".into())),
        (
            "v.nested",
            MetaValue::Array(
                T::Array,
                vec![
                    MetaValue::Array(T::String, vec![MetaValue::String("a".into()), MetaValue::String("bc".into())]),
                    MetaValue::Array(T::String, vec![]),
                ],
            ),
        ),
    ];
    for (key, value) in &expect {
        assert_eq!(g.get(key), Some(value), "{key}");
    }
    assert_eq!(g.metadata.len(), 15);
    assert_eq!(g.metadata[2].0, "v.u8", "metadata keeps file order");
    assert_eq!(g.get_u64("v.u32").unwrap(), 4_000_000_000);
    assert_eq!(g.get_f64("v.f32").unwrap(), 1.5);
    assert_eq!(g.get_array("v.nested").unwrap().len(), 2);
    let err = g.get_str("v.u8").unwrap_err().to_string();
    assert!(err.contains("metadata key 'v.u8': is 200, expected a string"), "{err}");

    assert_eq!(g.tensors.len(), 2);
    let norm = g.tensor("blk.0.ffn_norm.weight").unwrap();
    assert_eq!((norm.ty, norm.offset, norm.n_bytes), (GgmlType::F32, data_offset, 32));
    assert_eq!(norm.shape(), vec![2, 4]);
    assert_eq!(g.dequantize(norm).unwrap(), (0..8).map(|i| i as f32).collect::<Vec<_>>());
    let up = g.tensor("blk.0.ffn_up.weight").unwrap();
    assert_eq!((up.ty, up.offset, up.n_bytes), (GgmlType::Q8_0, data_offset + 64, 34));
    assert_eq!(g.tensor_data(up), &data[64..]);
    assert_eq!(g.dequantize(up).unwrap(), (0..32).map(|i| i as f32 - 16.0).collect::<Vec<_>>());
}

#[test]
fn version_2_and_default_alignment() {
    let b = Bytes::default().raw(b"GGUF").u32(2).u64(1).u64(0).tensor("w", &[2], GgmlType::F16.id(), 0).pad(32);
    let b = b.raw(&[0x00, 0x3c, 0x00, 0xc0]);
    let g = open(&b).unwrap();
    assert_eq!((g.version, g.alignment, g.data_offset % 32), (2, 32, 0));
    assert_eq!(g.dequantize(&g.tensors[0]).unwrap(), vec![1.0, -2.0]);
}

#[test]
fn unsupported_tensor_type_names_the_tensor() {
    let b = Bytes::header(1, 0).tensor("blk.3.ffn_down.weight", &[256], GgmlType::Q2K.id(), 0).pad(32).raw(&[0; 84]);
    let g = open(&b).unwrap();
    let msg = g.dequantize(&g.tensors[0]).unwrap_err().to_string();
    assert_eq!(msg, "tensor 'blk.3.ffn_down.weight': unsupported GGML type Q2_K");
}

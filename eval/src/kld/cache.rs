//! The base-logit cache file: 8 magic bytes `QTKLD\0v1`, a little-endian u64 header length, a
//! JSON header (the `CacheKey` plus what the payload holds and its sha256), then the payload in
//! little-endian order: chunk tokens (u32), per-position target log-probabilities (f32), tail
//! log-masses (f32), top-K ids (u32, K per position) and their log-probabilities (f32). At
//! K = 64 that is 520 bytes per scored position. Written to a temporary file beside the target
//! and renamed, so a reader never sees half a file.

use crate::error::{EvalError, Result};
use crate::kld::base_logits::BaseLogits;
use crate::kld::chunks::Chunks;
use crate::kld::key::CacheKey;
use crate::kld::text::sha256_hex;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// First bytes of every cache file.
pub const MAGIC: &[u8; 8] = b"QTKLD\0v1";

/// The JSON header of a cache file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheHeader {
    /// What the cache is valid for.
    pub key: CacheKey,
    /// Where the text came from (informational; the key holds its hash).
    pub text_source: String,
    /// The base's logit width.
    pub vocab: usize,
    /// The base tokenizer's vocabulary size.
    pub tokenizer_vocab: usize,
    /// BOS substituted at chunk starts.
    pub bos: Option<u32>,
    /// Chunks stored.
    pub n_chunks: usize,
    /// Ids kept per position (the asked K, capped at the vocabulary).
    pub k: usize,
    /// Scored positions stored.
    pub positions: usize,
    /// Payload length in bytes.
    pub payload_bytes: u64,
    /// sha256 of the payload.
    pub payload_sha256: String,
    /// The program that wrote it.
    pub created_by: String,
}

fn put_u32s(out: &mut Vec<u8>, xs: &[u32]) {
    xs.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
}

fn put_f32s(out: &mut Vec<u8>, xs: &[f32]) {
    xs.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
}

fn payload(b: &BaseLogits) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 * (b.chunks.tokens.len() + 2 * b.len() + 2 * b.ids.len()));
    put_u32s(&mut out, &b.chunks.tokens);
    put_f32s(&mut out, &b.target_logp);
    put_f32s(&mut out, &b.log_tail);
    put_u32s(&mut out, &b.ids);
    put_f32s(&mut out, &b.logp);
    out
}

/// Writes `base` under `key` to `path` atomically (creating the folder).
pub fn save(path: &Path, key: &CacheKey, text_source: &str, base: &BaseLogits) -> Result<()> {
    assert!(base.is_complete(), "only complete base logits are cached");
    let io = |source| EvalError::Io { path: path.to_path_buf(), source };
    let body = payload(base);
    let header = CacheHeader {
        key: key.clone(),
        text_source: text_source.to_owned(),
        vocab: base.vocab,
        tokenizer_vocab: base.tokenizer_vocab,
        bos: base.bos,
        n_chunks: base.chunks.len(),
        k: base.k,
        positions: base.len(),
        payload_bytes: body.len() as u64,
        payload_sha256: sha256_hex(&body),
        created_by: format!("qtool eval {}", env!("CARGO_PKG_VERSION")),
    };
    let json = serde_json::to_vec_pretty(&header).expect("header serializes");
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| EvalError::Io { path: dir.to_path_buf(), source })?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let mut bytes = Vec::with_capacity(16 + json.len() + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    bytes.extend_from_slice(&body);
    std::io::Write::write_all(&mut tmp, &bytes).map_err(io)?;
    #[cfg(unix)]
    {
        // Temporary files are created 0600; a cache is as readable as any other output.
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Splits a cache file into its header and payload.
fn parse(path: &Path, bytes: &[u8]) -> Result<(CacheHeader, Vec<u8>)> {
    let corrupt = |what: String| EvalError::CacheCorrupt { path: path.to_path_buf(), what };
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(corrupt("not a qtool KLD cache (bad magic)".into()));
    }
    let hlen = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let rest = &bytes[16..];
    if hlen > rest.len() {
        return Err(corrupt(format!("header of {hlen} bytes but only {} follow", rest.len())));
    }
    let header: CacheHeader =
        serde_json::from_slice(&rest[..hlen]).map_err(|e| corrupt(format!("bad JSON header: {e}")))?;
    let body = &rest[hlen..];
    if body.len() as u64 != header.payload_bytes || sha256_hex(body) != header.payload_sha256 {
        return Err(corrupt(format!(
            "payload of {} bytes does not match its header ({} bytes, sha256 {}…): truncated or modified",
            body.len(),
            header.payload_bytes,
            &header.payload_sha256.chars().take(12).collect::<String>()
        )));
    }
    Ok((header, body.to_vec()))
}

fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect()
}

/// Reads a cache file: `Ok(None)` when there is none, `CacheMismatch` when it was made for
/// other inputs than `wanted`, `CacheCorrupt` when it cannot be read.
pub fn load(path: &Path, wanted: &CacheKey) -> Result<Option<BaseLogits>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(EvalError::Io { path: path.to_path_buf(), source }),
    };
    let (h, body) = parse(path, &bytes)?;
    if let Some(what) = h.key.mismatch(wanted) {
        return Err(EvalError::CacheMismatch { path: path.to_path_buf(), what });
    }
    let ctx = h.key.ctx;
    let n_tokens = h.n_chunks * ctx;
    let sizes = [n_tokens, h.positions, h.positions, h.positions * h.k, h.positions * h.k];
    if sizes.iter().sum::<usize>() * 4 != body.len()
        || h.positions != h.n_chunks * crate::kld::chunks::scored_per_chunk(ctx)
    {
        return Err(EvalError::CacheCorrupt {
            path: path.to_path_buf(),
            what: "payload size does not fit the header's chunk and position counts".into(),
        });
    }
    let mut at = 0;
    let mut take = |n: usize| {
        let s = &body[at..at + 4 * n];
        at += 4 * n;
        s
    };
    let chunks = Chunks { ctx, tokens: u32s(take(n_tokens)) };
    let target_logp = f32s(take(h.positions));
    let log_tail = f32s(take(h.positions));
    let ids = u32s(take(h.positions * h.k));
    let logp = f32s(take(h.positions * h.k));
    Ok(Some(BaseLogits {
        chunks,
        k: h.k,
        vocab: h.vocab,
        tokenizer_vocab: h.tokenizer_vocab,
        bos: h.bos,
        ids,
        logp,
        log_tail,
        target_logp,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kld::dist::BaseRecord;
    use crate::kld::key::FileStamp;

    fn sample() -> (CacheKey, BaseLogits) {
        let key = CacheKey {
            base: "/m/a.gguf".into(),
            base_files: vec![FileStamp { name: "a.gguf".into(), size: 1, mtime_ns: 2 }],
            base_dtype: "native".into(),
            text_sha256: "00".repeat(32),
            ctx: 8,
            chunks: None,
            top_k: 3,
        };
        let chunks = Chunks::cut(&(0..16).collect::<Vec<u32>>(), 8, None, Some(1)).unwrap();
        let mut b = BaseLogits::new(chunks, 3, 16, 16, Some(1));
        for i in 0..b.chunks.n_scored() {
            let row: Vec<f32> = (0..16).map(|j| ((i * 7 + j * 3) % 11) as f32 * 0.5).collect();
            b.push(&BaseRecord::from_logits(&row, 2, 3));
        }
        (key, b)
    }

    #[test]
    fn round_trip_refusal_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/c.qkld");
        let (key, b) = sample();
        assert!(load(&p, &key).unwrap().is_none());
        save(&p, &key, "file:x", &b).unwrap();
        assert_eq!(load(&p, &key).unwrap().unwrap(), b);
        let mut other = key.clone();
        other.ctx = 16;
        let e = load(&p, &other).unwrap_err();
        assert!(matches!(e, EvalError::CacheMismatch { .. }), "{e}");
        assert!(e.to_string().contains("--ctx 8, this run uses --ctx 16"), "{e}");
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(load(&p, &key), Err(EvalError::CacheCorrupt { .. })));
        std::fs::write(&p, b"hello").unwrap();
        assert!(load(&p, &key).unwrap_err().to_string().contains("bad magic"));
        // Only the target file remains in the folder (the temporary file was renamed).
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            save(&p, &key, "file:x", &b).unwrap();
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o644);
        }
    }
}

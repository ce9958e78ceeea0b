//! What a base-logit cache is valid for: the base checkpoint (canonical path plus the size and
//! modification time of its files), the base dtype, the text's sha256, the context, the chunk
//! limit and K. A cache whose key differs from the run's is refused with the first difference
//! spelled out. Also the default cache location: `$XDG_CACHE_HOME/qtool/kld/` when that
//! variable is set, else `./.qtool-cache/kld/`, one file per key.

use crate::error::{EvalError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Size and modification time of one checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// File name (inside the base folder, or the GGUF file's name).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: u64,
}

/// The inputs a base-logit cache was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// Canonical path of the base checkpoint.
    pub base: String,
    /// Its files (the GGUF file; or config, tokenizer and safetensors files of a folder).
    pub base_files: Vec<FileStamp>,
    /// Weight dtype the base ran in (`native` or f32/bf16/f16).
    pub base_dtype: String,
    /// sha256 of the text.
    pub text_sha256: String,
    /// Tokens per chunk.
    pub ctx: usize,
    /// Chunk limit asked for (`None`: every whole chunk of the text).
    pub chunks: Option<usize>,
    /// Top-K kept per position.
    pub top_k: usize,
}

fn stamp(path: &Path) -> Result<FileStamp> {
    let io = |source| EvalError::Io { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mtime_ns = meta.modified().map_err(io)?.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok(FileStamp { name, size: meta.len(), mtime_ns })
}

/// Stamps of the files that define a checkpoint: the file itself, or in a folder
/// `config.json`, `tokenizer.json`, `tokenizer_config.json` and every `*.safetensors`.
pub fn base_fingerprint(path: &Path) -> Result<Vec<FileStamp>> {
    if !path.is_dir() {
        return Ok(vec![stamp(path)?]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| EvalError::Io { path: path.to_path_buf(), source })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            matches!(name.as_str(), "config.json" | "tokenizer.json" | "tokenizer_config.json")
                || name.ends_with(".safetensors")
        })
        .collect();
    files.sort();
    files.iter().map(|p| stamp(p)).collect()
}

impl CacheKey {
    /// The key of a run (reads the base's file stamps).
    pub fn new(
        base: &Path,
        base_dtype: &str,
        text_sha256: &str,
        ctx: usize,
        chunks: Option<usize>,
        top_k: usize,
    ) -> Result<Self> {
        let canon = base.canonicalize().map_err(|source| EvalError::Io { path: base.to_path_buf(), source })?;
        Ok(CacheKey {
            base: canon.display().to_string(),
            base_files: base_fingerprint(&canon)?,
            base_dtype: base_dtype.to_owned(),
            text_sha256: text_sha256.to_owned(),
            ctx,
            chunks,
            top_k,
        })
    }

    /// The first difference between this (cached) key and the `wanted` one, in words.
    pub fn mismatch(&self, wanted: &CacheKey) -> Option<String> {
        let chunks = |c: Option<usize>| c.map_or("all".to_owned(), |n| n.to_string());
        let short = |s: &str| s.chars().take(12).collect::<String>();
        if self.base != wanted.base {
            Some(format!("it was made for base {}, this run's base is {}", self.base, wanted.base))
        } else if self.base_files != wanted.base_files {
            Some(format!("the base checkpoint {} changed (file sizes or times) since it was made", wanted.base))
        } else if self.base_dtype != wanted.base_dtype {
            Some(format!("it was made with base dtype {}, this run uses {}", self.base_dtype, wanted.base_dtype))
        } else if self.text_sha256 != wanted.text_sha256 {
            Some(format!(
                "it was made for another text (sha256 {}…, this run's text is {}…)",
                short(&self.text_sha256),
                short(&wanted.text_sha256)
            ))
        } else if self.ctx != wanted.ctx {
            Some(format!("it was made with --ctx {}, this run uses --ctx {}", self.ctx, wanted.ctx))
        } else if self.chunks != wanted.chunks {
            Some(format!(
                "it was made with --chunks {}, this run uses --chunks {}",
                chunks(self.chunks),
                chunks(wanted.chunks)
            ))
        } else if self.top_k != wanted.top_k {
            Some(format!("it keeps the top {} tokens, this run asks for --top-k {}", self.top_k, wanted.top_k))
        } else {
            None
        }
    }

    /// Hex digest of the key (names the default cache file).
    pub fn digest(&self) -> String {
        let json = serde_json::to_string(self).expect("a key serializes");
        crate::kld::text::sha256_hex(json.as_bytes())
    }
}

/// The folder default caches go to: `$XDG_CACHE_HOME/qtool/kld`, else `./.qtool-cache/kld`
/// (made absolute, so reports say where it is).
pub fn default_cache_dir() -> PathBuf {
    let dir = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x).join("qtool").join("kld"),
        None => PathBuf::from(".qtool-cache").join("kld"),
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

/// The default cache file of a key: `<dir>/<base file stem>-<16 hex digits of the key>.qkld`.
pub fn default_cache_path(key: &CacheKey) -> PathBuf {
    let stem = Path::new(&key.base).file_stem().map_or("base".into(), |s| s.to_string_lossy().into_owned());
    default_cache_dir().join(format!("{stem}-{}.qkld", &key.digest()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CacheKey {
        CacheKey {
            base: "/m/a.gguf".into(),
            base_files: vec![FileStamp { name: "a.gguf".into(), size: 10, mtime_ns: 5 }],
            base_dtype: "native".into(),
            text_sha256: "ab".repeat(32),
            ctx: 512,
            chunks: Some(20),
            top_k: 64,
        }
    }

    #[test]
    fn mismatches_are_named() {
        let k = key();
        assert_eq!(k.mismatch(&k), None);
        let m = |f: &dyn Fn(&mut CacheKey)| {
            let mut w = key();
            f(&mut w);
            k.mismatch(&w).unwrap()
        };
        assert!(m(&|w| w.ctx = 256).contains("--ctx 512, this run uses --ctx 256"));
        assert!(m(&|w| w.text_sha256 = "cd".repeat(32)).contains("another text"));
        assert!(m(&|w| w.base = "/m/b.gguf".into()).contains("this run's base is /m/b.gguf"));
        assert!(m(&|w| w.base_files[0].mtime_ns = 6).contains("changed"));
        assert!(m(&|w| w.chunks = None).contains("--chunks 20, this run uses --chunks all"));
        assert!(m(&|w| w.top_k = 32).contains("--top-k 32"));
        assert!(m(&|w| w.base_dtype = "bf16".into()).contains("bf16"));
        assert_ne!(k.digest(), {
            let mut w = key();
            w.ctx = 256;
            w.digest()
        });
        assert!(default_cache_path(&k).to_string_lossy().ends_with(".qkld"));
        assert!(default_cache_path(&k).file_name().unwrap().to_string_lossy().starts_with("a-"));
    }

    #[test]
    fn fingerprint_of_a_file_and_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["config.json", "model.safetensors", "notes.txt"] {
            std::fs::write(dir.path().join(n), n).unwrap();
        }
        let names: Vec<String> = base_fingerprint(dir.path()).unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["config.json", "model.safetensors"]);
        let f = base_fingerprint(&dir.path().join("notes.txt")).unwrap();
        assert_eq!((f[0].name.as_str(), f[0].size), ("notes.txt", 9));
    }
}

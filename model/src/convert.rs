//! `qtool convert`: a GGUF checkpoint -> a Hugging Face model folder (`config.json`,
//! `model.safetensors`, `generation_config.json`, tokenizer files). Weights are dequantized
//! bit-exactly, llama-arch Q/K rows are un-permuted, and the folder is written through
//! [`AtomicDir`] (a temporary sibling renamed into place), so a failed run leaves nothing at the
//! destination and a replaced folder is whole until the new one is in place.

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use crate::load::gguf as gguf_load;
use crate::weights::DType;
use quant::gguf::GgufFile;
use quant::writer::{check_target, AtomicDir};
use safetensors::tensor::{Dtype, TensorView};
use std::path::{Path, PathBuf};

/// What `convert_gguf` wrote.
#[derive(Debug)]
pub struct ConvertSummary {
    /// The output folder.
    pub out_dir: PathBuf,
    /// Tensors written.
    pub n_tensors: usize,
    /// Parameters written.
    pub n_params: usize,
    /// Size of `model.safetensors`.
    pub safetensors_bytes: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io { path: path.to_path_buf(), source }
}

/// Writes `bytes` to `path` (inside the temporary folder, so no separate rename is needed).
fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).expect("JSON values serialize");
    std::fs::write(path, text + "\n").map_err(io_err(path))
}

/// Gives a written file the usual 0644 mode (the safetensors writer creates it 0600).
fn make_readable(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).map_err(io_err(path))?;
    }
    Ok(())
}

/// The `generation_config.json` for `cfg`.
pub fn generation_config(cfg: &ModelConfig) -> serde_json::Value {
    let mut v = serde_json::json!({ "_from": "qtool convert" });
    if let Some(b) = cfg.bos_token_id {
        v["bos_token_id"] = b.into();
    }
    match cfg.eos_token_ids.as_slice() {
        [] => {}
        [one] => v["eos_token_id"] = (*one).into(),
        many => v["eos_token_id"] = many.to_vec().into(),
    }
    v
}

/// Converts `gguf_path` into the HF folder `out_dir` with weights stored as `dtype`.
/// `extra` writes additional files (tokenizer) into the temporary folder before the rename.
/// The destination is checked first (it must name a folder of its own; an existing one is
/// replaced only with `force`, and only if it is a model folder), then the model (its config
/// against the tensors' shapes), and only then is anything written: into a temporary sibling
/// folder that replaces the destination by rename ([`AtomicDir`]), so a failed or killed run
/// leaves the old folder whole and its temporaries are cleaned by the next run.
pub fn convert_gguf(
    gguf_path: &Path,
    out_dir: &Path,
    dtype: DType,
    force: bool,
    extra: &dyn Fn(&GgufFile, &ModelConfig, &Path) -> Result<()>,
) -> Result<ConvertSummary> {
    check_target(out_dir, force)?;
    let g = GgufFile::open(gguf_path)?;
    let ck = gguf_load::load(&g, Some(dtype))?;
    debug_assert!(ck.linears.is_empty(), "a dense dtype dequantizes every GGUF tensor");
    let dir = AtomicDir::new(out_dir, force)?;
    let tmp = dir.path();
    let cfg = &ck.config;
    let mut names: Vec<&String> = ck.weights.keys().collect();
    names.sort();
    let st_dtype = match dtype {
        DType::F32 => Dtype::F32,
        DType::BF16 => Dtype::BF16,
        DType::F16 => Dtype::F16,
    };
    let mut n_params = 0;
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = names
        .iter()
        .filter(|n| !(cfg.tie_word_embeddings && n.as_str() == "lm_head.weight"))
        .map(|n| {
            let t = &ck.weights[*n];
            n_params += t.numel();
            ((*n).clone(), t.shape.clone(), t.to_le_bytes())
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            let view = TensorView::new(st_dtype, s.clone(), b)
                .map_err(|e| ModelError::Tensor { tensor: n.clone(), what: format!("cannot serialize: {e:?}") })?;
            Ok((n.clone(), view))
        })
        .collect::<Result<_>>()?;
    let st_path = tmp.join("model.safetensors");
    let mut meta = std::collections::HashMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    safetensors::serialize_to_file(views, Some(meta), &st_path)
        .map_err(|e| ModelError::Safetensors { path: st_path.clone(), what: format!("write failed: {e:?}") })?;
    make_readable(&st_path)?;
    write_json(&tmp.join("config.json"), &cfg.to_hf_json(dtype.torch_name()))?;
    write_json(&tmp.join("generation_config.json"), &generation_config(cfg))?;
    extra(&g, cfg, tmp)?;
    let safetensors_bytes = std::fs::metadata(&st_path).map_err(io_err(&st_path))?.len();
    let out_dir = dir.commit()?;
    Ok(ConvertSummary { out_dir, n_tensors: bytes.len(), n_params, safetensors_bytes })
}

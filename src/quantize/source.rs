//! The source checkpoint: its config (parsed and as JSON), its weights by HF name, and the GGUF
//! file itself when it is one (for metadata and the tokenizer).

use anyhow::Context;
use model::load::{is_gguf, load_checkpoint};
use model::weights::WeightMap;
use model::ModelConfig;
use quant::gguf::GgufFile;
use std::path::{Path, PathBuf};

/// A loaded source checkpoint.
pub struct Source {
    /// Where it was read from.
    pub path: PathBuf,
    /// Architecture.
    pub config: ModelConfig,
    /// `config.json` of an HF folder (every field kept), or the one rebuilt from GGUF.
    pub config_json: serde_json::Value,
    /// Weights by HF name, in the file's dtype (GGUF: f32).
    pub weights: WeightMap,
    /// The GGUF file, when the source is one.
    pub gguf: Option<GgufFile>,
}

impl Source {
    /// Loads `path` (HF folder or GGUF file).
    pub fn load(path: &Path) -> anyhow::Result<Source> {
        // A GGUF source is dequantized at load (its weights are the "full precision" to quantize
        // from); a HF folder keeps its stored dtype.
        let dtype = if is_gguf(path) { Some(model::weights::DType::F32) } else { None };
        let ck = load_checkpoint(path, dtype).with_context(|| format!("loading {}", path.display()))?;
        let (config_json, gguf) = if is_gguf(path) {
            let g = GgufFile::open(path).with_context(|| format!("opening {}", path.display()))?;
            (ck.config.to_hf_json("bfloat16"), Some(g))
        } else {
            let p = path.join("config.json");
            let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
            let mut v: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", p.display()))?;
            if let Some(obj) = v.as_object_mut() {
                obj.remove("quantization_config");
            }
            (v, None)
        };
        Ok(Source { path: path.to_path_buf(), config: ck.config, config_json, weights: ck.weights, gguf })
    }

    /// Frees the tensors `names` (ones a later step will never read).
    pub fn drop_tensors<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for n in names {
            self.weights.remove(n);
        }
        self.weights.shrink_to_fit();
    }
}

//! Crafted checkpoints for the hostile-input tests: copies of SmolLM2's GGUF with metadata or
//! tensor infos edited (written with `quant`'s GGUF writer), and a tiny dense HF folder.

#![allow(dead_code)]

use quant::gguf::{GgufFile, MetaValue};
use quant::writer::gguf_writer::{write_gguf, GgufTensorOut};
use std::path::{Path, PathBuf};

/// SmolLM2's metadata and tensors, for editing.
pub struct Parts {
    /// Metadata in file order.
    pub meta: Vec<(String, MetaValue)>,
    /// Tensors in file order.
    pub tensors: Vec<GgufTensorOut>,
}

impl Parts {
    /// Sets (or adds) a metadata value.
    pub fn set(&mut self, key: &str, v: MetaValue) {
        match self.meta.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) => *old = v,
            None => self.meta.push((key.to_string(), v)),
        }
    }

    /// The tensor named `name`.
    pub fn tensor(&mut self, name: &str) -> &mut GgufTensorOut {
        self.tensors.iter_mut().find(|t| t.name == name).unwrap_or_else(|| panic!("no tensor {name}"))
    }
}

/// Writes `dir/name`: SmolLM2's GGUF after `edit`.
pub fn smollm2_edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Parts)) -> PathBuf {
    let g = GgufFile::open(crate::common::smollm2_gguf()).unwrap();
    let tensors = g
        .tensors
        .iter()
        .map(|t| GgufTensorOut {
            name: t.name.clone(),
            dims: t.dims.clone(),
            ty: t.ty,
            bytes: g.tensor_data(t).to_vec(),
        })
        .collect();
    let mut parts = Parts { meta: g.metadata.clone(), tensors };
    edit(&mut parts);
    let path = dir.join(name);
    write_gguf(&path, &parts.meta, &parts.tensors).unwrap();
    path
}

/// Runs the qtool binary; returns (success, stdout + stderr). A panic fails the test.
pub fn qtool_in(cwd: Option<&Path>, args: &[&str]) -> (bool, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_qtool"));
    c.args(args).env("QTOOL_ASSETS", crate::common::assets_dir());
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    let out = c.output().expect("qtool runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("panicked"), "qtool panicked on {args:?}:\n{text}");
    (out.status.success(), text)
}

/// Runs qtool and expects a failure whose output mentions every needle.
pub fn fails_with(args: &[&str], needles: &[&str]) -> String {
    let (ok, text) = qtool_in(None, args);
    assert!(!ok, "qtool {args:?} should fail:\n{text}");
    for n in needles {
        assert!(text.contains(n), "qtool {args:?}: expected {n:?} in:\n{text}");
    }
    text
}

//! `--method`: which weight quantizer runs (RTN or GPTQ), after which transform (AWQ,
//! SmoothQuant, QuaRot's rotation or none). Names: `rtn`, `gptq`, `awq`, `smoothquant`,
//! `smoothquant+gptq`, `quarot`, `quarot+gptq`.

use anyhow::bail;

/// The methods `--method` accepts.
pub const METHODS: [&str; 7] = ["rtn", "gptq", "awq", "smoothquant", "smoothquant+gptq", "quarot", "quarot+gptq"];

/// The transform before the weight quantizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransformKind {
    /// None.
    None,
    /// AWQ scales and clipping (per layer, from calibration statistics).
    Awq,
    /// SmoothQuant scales (per layer, from calibration statistics).
    SmoothQuant,
    /// QuaRot's Hadamard rotation of the whole model (needs no data).
    Quarot,
}

/// A parsed `--method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recipe {
    /// GPTQ (true) or RTN weights.
    pub gptq: bool,
    /// The transform.
    pub transform: TransformKind,
}

impl Recipe {
    /// Parses one of [`METHODS`].
    pub fn parse(method: &str) -> anyhow::Result<Recipe> {
        let (transform, gptq) = match method {
            "rtn" => (TransformKind::None, false),
            "gptq" => (TransformKind::None, true),
            "awq" => (TransformKind::Awq, false),
            "smoothquant" => (TransformKind::SmoothQuant, false),
            "smoothquant+gptq" => (TransformKind::SmoothQuant, true),
            "quarot" => (TransformKind::Quarot, false),
            "quarot+gptq" => (TransformKind::Quarot, true),
            other => bail!("--method {other}: unknown; expected one of {}", METHODS.join(", ")),
        };
        Ok(Recipe { gptq, transform })
    }

    /// Whether the method needs calibration data.
    pub fn needs_calibration(&self) -> bool {
        self.gptq || matches!(self.transform, TransformKind::Awq | TransformKind::SmoothQuant)
    }

    /// Whether the method changes tensors other than the quantized Linears (norms, embeddings)
    /// or needs the model itself (so it runs through the calibration pipeline).
    pub fn transforms_model(&self) -> bool {
        self.transform != TransformKind::None
    }
}

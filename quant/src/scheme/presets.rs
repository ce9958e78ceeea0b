//! The base presets a scheme name starts with (`bf16`, `w4a16`, `w8a8`, ...): weight and
//! activation formats by the names compressed-tensors and the study use.

use crate::format::{ActFormat, Granularity, IntFormat, IntSpec, SymScale, WeightFormat};

/// A base preset: the weight/activation part of a scheme name.
#[derive(Clone, Copy, Debug)]
pub struct Base {
    /// Lower-case name ("w4a16").
    pub name: &'static str,
    /// Weight format, `None` for `bf16`.
    pub weight: Option<WeightFormat>,
    /// Activation format, `None` for the A16 presets.
    pub act: Option<ActFormat>,
    /// Where the preset comes from, printed by `describe`.
    pub note: &'static str,
}

/// Names of the base presets, in the order `--list-schemes` prints them.
pub const BASE_NAMES: [&str; 8] = ["bf16", "w8a16", "w4a16", "w3a16", "w2a16", "w8a8", "w4a8", "w4a4"];

/// The full preset list: bases, the asymmetric W4A16 people know by name, and KV-only presets.
pub const PRESET_NAMES: [&str; 13] =
    ["bf16", "w8a16", "w4a16", "w4a16-asym", "w3a16", "w2a16", "w8a8", "w4a8", "w4a4", "kv8", "kv4", "kv3", "kv2"];

/// KV cache bit widths a `kvN` suffix accepts.
pub const KV_BITS: [u32; 4] = [8, 4, 3, 2];

fn weight(int: IntFormat, granularity: Granularity, symmetric: bool) -> Option<WeightFormat> {
    let spec = if symmetric { IntSpec::symmetric(int) } else { IntSpec::asymmetric(int) };
    Some(WeightFormat { spec, granularity })
}

fn act(int: IntFormat, symmetric: bool, clip_ratio: f32) -> Option<ActFormat> {
    let spec = IntSpec { int, symmetric, sym_scale: SymScale::MaxCode, clip_ratio };
    Some(ActFormat { spec, granularity: Granularity::PerToken, dynamic: true })
}

/// The base preset called `name` (lower case), if there is one.
pub fn base(name: &str) -> Option<Base> {
    use Granularity::{Group, PerChannel};
    use IntFormat::{Int2, Int3, Int4, Int8};
    let (weight, act, note) = match name {
        "bf16" => (None, None, "the unquantized baseline"),
        "w8a16" => (
            weight(Int8, PerChannel, true),
            None,
            "8-bit weights per output channel (compressed-tensors' own W8A16 uses groups of 128: w8a16-g128)",
        ),
        "w4a16" => (
            weight(Int4, Group(128), true),
            None,
            "compressed-tensors W4A16; with -asym its W4A16_ASYM; the study finds it near-lossless",
        ),
        "w3a16" => (weight(Int3, Group(128), false), None, "the study's 3-bit AWQ/GPTQ setting (g128, asymmetric)"),
        "w2a16" => (weight(Int2, Group(64), false), None, "a stress case: 2-bit weights in groups of 64, asymmetric"),
        "w8a8" => (
            weight(Int8, PerChannel, true),
            act(Int8, true, 1.0),
            "compressed-tensors W8A8 (format int-quantized), as vLLM runs it",
        ),
        "w4a8" => (weight(Int4, Group(128), true), act(Int8, true, 1.0), "compressed-tensors W4A8"),
        "w4a4" => (
            weight(Int4, PerChannel, true),
            act(Int4, false, 0.9),
            "the study's QuaRot W4A4 (activation clip 0.9); meant to follow a Hadamard rotation",
        ),
        _ => return None,
    };
    let name = BASE_NAMES.iter().copied().find(|n| *n == name)?;
    Some(Base { name, weight, act, note })
}

/// Every base preset, in [`BASE_NAMES`] order.
pub fn bases() -> impl Iterator<Item = Base> {
    BASE_NAMES.iter().filter_map(|n| base(n))
}

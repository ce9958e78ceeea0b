//! Quantization schemes by name: `bf16`, `w4a16`, `w8a8-kv8`, `w4a16-g64-asym-kv4`, ... A scheme
//! is the weight, activation and KV cache formats of a whole model; it says nothing about the
//! algorithm (RTN, GPTQ, AWQ) that picks the codes.
//!
//! Grammar: `BASE ( '-' MODIFIER )*`, case-insensitive, `_` accepted for `-`, where BASE is one
//! of [`presets::BASE_NAMES`] or a bare `kvN`, and MODIFIER is `g<N>` or `pc` (weight group size
//! or per-channel), `sym` or `asym` (weight zero point), `kv8`/`kv4`/`kv3`/`kv2` (KVQuant-style
//! cache) or `kvr8`/`kvr4`/`kvr3`/`kvr2` (QuaRot-KV cache: per-token groups of 128, clip 0.95,
//! meant for rotated keys and values), `aclip<P>` (activation clip ratio P percent, e.g. `aclip90`
//! for QuaRot's 0.9). Each modifier kind may appear once.

pub mod describe;
pub mod parse;
pub mod presets;

#[cfg(test)]
mod tests;

use crate::format::{ActFormat, Granularity, IntFormat, KvFormat, WeightFormat};
use crate::QuantError;

pub use presets::{BASE_NAMES, KV_BITS, PRESET_NAMES};

/// The formats of a whole model.
#[derive(Clone, Debug, PartialEq)]
pub struct Scheme {
    /// Canonical name (what [`Scheme::parse`] reads back to this scheme), or "custom" after
    /// fields were changed in ways no name expresses.
    pub name: String,
    /// Linear weights; `None` keeps them in bf16.
    pub weight: Option<WeightFormat>,
    /// Linear inputs; `None` keeps them in bf16.
    pub act: Option<ActFormat>,
    /// KV cache; `None` keeps it in bf16.
    pub kv: Option<KvFormat>,
}

/// Changes applied on top of a parsed scheme (the `qtool quantize` flags).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SchemeOverrides {
    /// Weight granularity: `PerChannel` or `Group(g)`.
    pub granularity: Option<Granularity>,
    /// Weight zero point: symmetric (true) or asymmetric (false).
    pub symmetric: Option<bool>,
    /// Quantize the KV cache KVQuant-style with this format (see [`KvFormat::kvquant`]).
    pub kv: Option<IntFormat>,
    /// With `kv`: the QuaRot-KV format instead ([`KvFormat::quarot`]).
    pub kv_rotated: bool,
    /// Activation clip ratio in (0, 1].
    pub act_clip: Option<f32>,
}

impl Scheme {
    /// Parses a scheme name; the error lists the valid names and modifiers.
    pub fn parse(name: &str) -> Result<Scheme, QuantError> {
        parse::parse(name)
    }

    /// A multi-line, exact description of every format in the scheme.
    pub fn describe(&self) -> String {
        describe::describe(self)
    }

    /// Whether nothing is quantized.
    pub fn is_unquantized(&self) -> bool {
        self.weight.is_none() && self.act.is_none() && self.kv.is_none()
    }

    /// This scheme with `o` applied; the name is recomputed.
    pub fn with_overrides(&self, o: &SchemeOverrides) -> Result<Scheme, QuantError> {
        let bad = |what: String| QuantError::BadScheme { name: self.name.clone(), what };
        let mut s = self.clone();
        if o.granularity.is_some() || o.symmetric.is_some() {
            let Some(w) = s.weight.as_mut() else {
                return Err(bad("has no weight quantization to set a group size or zero point on".into()));
            };
            if let Some(g) = o.granularity {
                w.granularity = g;
            }
            if let Some(sym) = o.symmetric {
                w.spec.symmetric = sym;
            }
            w.validate().map_err(|e| bad(e.to_string()))?;
        }
        if let Some(int) = o.kv {
            s.kv = Some(if o.kv_rotated { KvFormat::quarot(int) } else { KvFormat::kvquant(int) });
        }
        if let Some(clip) = o.act_clip {
            let Some(a) = s.act.as_mut() else {
                return Err(bad("has no activation quantization to set a clip ratio on".into()));
            };
            a.spec.clip_ratio = clip;
            a.validate().map_err(|e| bad(e.to_string()))?;
        }
        s.name = canonical_name(&s).unwrap_or_else(|| "custom".into());
        Ok(s)
    }
}

/// The name that parses back to exactly this scheme, if there is one.
pub fn canonical_name(s: &Scheme) -> Option<String> {
    let same_but_clip = |b: Option<ActFormat>, s: Option<ActFormat>| match (b, s) {
        (Some(b), Some(s)) => {
            ActFormat { spec: crate::format::IntSpec { clip_ratio: b.spec.clip_ratio, ..s.spec }, ..s } == b
        }
        (b, s) => b == s,
    };
    let base = presets::bases().find(|b| {
        same_but_clip(b.act, s.act)
            && match (b.weight, s.weight) {
                (None, None) => true,
                (Some(bw), Some(sw)) => {
                    bw.spec.int == sw.spec.int
                        && bw.spec.sym_scale == sw.spec.sym_scale
                        && bw.spec.clip_ratio == sw.spec.clip_ratio
                }
                _ => false,
            }
    })?;
    let mut name = String::new();
    if base.weight.is_some() || base.act.is_some() || s.kv.is_none() {
        name.push_str(base.name);
    }
    if let (Some(bw), Some(sw)) = (base.weight, s.weight) {
        if bw.granularity != sw.granularity {
            match sw.granularity {
                Granularity::Group(g) => name.push_str(&format!("-g{g}")),
                Granularity::PerChannel => name.push_str("-pc"),
                _ => return None,
            }
        }
        if bw.spec.symmetric != sw.spec.symmetric {
            name.push_str(if sw.spec.symmetric { "-sym" } else { "-asym" });
        }
    }
    if let (Some(ba), Some(sa)) = (base.act, s.act) {
        if ba.spec.clip_ratio != sa.spec.clip_ratio {
            let pct = sa.spec.clip_ratio * 100.0;
            if (pct - pct.round()).abs() > 1e-4 {
                return None;
            }
            name.push_str(&format!("-aclip{}", pct.round() as u32));
        }
    }
    if let Some(kv) = s.kv {
        let prefix = if kv == KvFormat::kvquant(kv.k.spec.int) {
            "kv"
        } else if kv == KvFormat::quarot(kv.k.spec.int) {
            "kvr"
        } else {
            return None;
        };
        if !name.is_empty() {
            name.push('-');
        }
        name.push_str(&format!("{prefix}{}", kv.bits()));
    }
    Some(name)
}

/// Every preset in [`PRESET_NAMES`] order, parsed.
pub fn list_presets() -> Vec<Scheme> {
    PRESET_NAMES.iter().map(|n| Scheme::parse(n).expect("every preset name parses")).collect()
}

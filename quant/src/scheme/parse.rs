//! `Scheme::parse`: a name such as `w4a16-g64-asym-kv4` to formats.

use super::presets::{self, BASE_NAMES, KV_BITS};
use super::{Scheme, SchemeOverrides};
use crate::format::{Granularity, IntFormat};
use crate::QuantError;

/// The help text appended to every parse error.
pub fn grammar_help() -> String {
    format!(
        "valid names are {} (and the presets {}); append -kv8, -kv4, -kv3 or -kv2 for a KVQuant-style KV cache (-kvr8 .. -kvr2: QuaRot-KV), \
         -g<N> (N a positive multiple of 8) or -pc for the weight group size, -sym or -asym for the weight zero \
         point, -aclip<P> for an activation clip of P percent, e.g. w4a16-g64-asym-kv4 or w4a4-aclip90-kvr4",
        BASE_NAMES.join(", "),
        presets::PRESET_NAMES.iter().filter(|n| !BASE_NAMES.contains(n)).copied().collect::<Vec<_>>().join(", "),
    )
}

/// See the module documentation of [`super`] for the grammar.
pub fn parse(name: &str) -> Result<Scheme, QuantError> {
    let bad = |what: String| QuantError::BadScheme { name: name.to_string(), what };
    let norm = name.trim().to_ascii_lowercase().replace('_', "-");
    let mut tokens = norm.split('-');
    let first = tokens.next().unwrap_or("");
    let mut o = SchemeOverrides::default();
    let base = if let Some(bits) = first.strip_prefix("kv") {
        (o.kv, o.kv_rotated) = kv_token(bits).map_err(&bad)?;
        presets::base("bf16").expect("bf16 is a base preset")
    } else {
        presets::base(first).ok_or_else(|| {
            let what = if first.is_empty() { "empty name".into() } else { format!("unknown preset '{first}'") };
            bad(format!("{what}; {}", grammar_help()))
        })?
    };
    for tok in tokens {
        let twice = |kind: &str| bad(format!("'{tok}' sets the {kind} a second time"));
        if let Some(bits) = tok.strip_prefix("kv") {
            if o.kv.is_some() {
                return Err(twice("KV cache format"));
            }
            (o.kv, o.kv_rotated) = kv_token(bits).map_err(&bad)?;
        } else if let Some(pct) = tok.strip_prefix("aclip") {
            if o.act_clip.is_some() {
                return Err(twice("activation clip ratio"));
            }
            let p =
                pct.parse::<u32>().ok().filter(|p| (1..=100).contains(p)).ok_or_else(|| {
                    bad(format!("'{tok}': the activation clip is a whole percent 1..=100, e.g. aclip90"))
                })?;
            o.act_clip = Some(p as f32 / 100.0);
        } else if tok == "sym" || tok == "asym" {
            if o.symmetric.is_some() {
                return Err(twice("weight zero point"));
            }
            o.symmetric = Some(tok == "sym");
        } else if tok == "pc" || (tok.starts_with('g') && tok.len() > 1) {
            if o.granularity.is_some() {
                return Err(twice("weight group size"));
            }
            o.granularity = Some(if tok == "pc" {
                Granularity::PerChannel
            } else {
                let g = tok[1..].parse::<u32>().map_err(|_| bad(format!("'{tok}': group size is not a number")))?;
                Granularity::Group(g)
            });
        } else {
            return Err(bad(format!("unknown modifier '{tok}'; {}", grammar_help())));
        }
    }
    if base.weight.is_none() && (o.granularity.is_some() || o.symmetric.is_some()) {
        return Err(bad("bf16 weights take no group size or zero point modifier".into()));
    }
    let plain = Scheme { name: base.name.to_string(), weight: base.weight, act: base.act, kv: None };
    plain.with_overrides(&o).map_err(|e| match e {
        QuantError::BadScheme { what, .. } => bad(what),
        other => other,
    })
}

/// `kvN` (KVQuant-style) or `kvrN` (QuaRot-KV) after the `kv`.
fn kv_token(rest: &str) -> Result<(Option<IntFormat>, bool), String> {
    match rest.strip_prefix('r') {
        Some(bits) => Ok((Some(kv_format(bits)?), true)),
        None => Ok((Some(kv_format(rest)?), false)),
    }
}

fn kv_format(bits: &str) -> Result<IntFormat, String> {
    bits.parse::<u32>()
        .ok()
        .filter(|b| KV_BITS.contains(b))
        .and_then(IntFormat::from_bits)
        .ok_or_else(|| format!("KV cache bits must be 8, 4, 3 or 2 (kv8, kv4, kv3, kv2), got 'kv{bits}'"))
}

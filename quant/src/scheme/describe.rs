//! `Scheme::describe`: the exact meaning of a scheme, printed by `qtool quantize --list-schemes`.

use super::{presets, Scheme};
use crate::format::{Granularity, IntSpec, KvTensorFormat, SymScale};

/// A multi-line description: the name and its origin, then one line per tensor kind.
pub fn describe(s: &Scheme) -> String {
    let note = if s.weight.is_none() && s.act.is_none() {
        kv_note(s)
    } else {
        presets::bases()
            .find(|b| b.act == s.act && b.weight.map(|w| w.spec.int) == s.weight.map(|w| w.spec.int))
            .map(|b| b.note)
            .unwrap_or("custom formats")
    };
    let mut out = format!("{}: {note}\n", s.name);
    out.push_str("  weights:     ");
    match &s.weight {
        None => out.push_str("bf16 (not quantized)"),
        Some(w) => {
            let grain = match w.granularity {
                Granularity::Group(g) => {
                    format!("groups of {g} along the input dimension (a shorter last group when k is not a multiple)")
                }
                _ => "one scale per output channel".into(),
            };
            out.push_str(&format!("{}, {grain}, {}", w.spec.int.name(), spec_text(&w.spec, "w")));
        }
    }
    out.push_str("\n  activations: ");
    match &s.act {
        None => out.push_str("bf16 (not quantized)"),
        Some(a) => {
            let when = if a.dynamic { "computed per input at run time" } else { "calibrated" };
            let grain = match a.granularity {
                Granularity::Group(g) => format!("per token in groups of {g}"),
                g => g.label(),
            };
            out.push_str(&format!("{} {grain} ({when}), {}", a.spec.int.name(), spec_text(&a.spec, "x")));
        }
    }
    out.push_str("\n  kv cache:    ");
    match &s.kv {
        None => out.push_str("bf16 (not quantized)"),
        Some(kv) => {
            out.push_str(&format!("K {}\n               V {}", kv_text(&kv.k, "k"), kv_text(&kv.v, "v")));
        }
    }
    out.push('\n');
    out
}

fn kv_note(s: &Scheme) -> &'static str {
    match s.kv {
        Some(kv) if kv == crate::format::KvFormat::quarot(kv.k.spec.int) => {
            "bf16 weights and activations, QuaRot-KV cache (for keys and values rotated per head) as in the study"
        }
        Some(_) => "bf16 weights and activations, KVQuant-style KV cache as in the study",
        None => "the unquantized baseline",
    }
}

fn kv_text(t: &KvTensorFormat, v: &str) -> String {
    let grain = match t.granularity {
        Granularity::PerChannel => {
            return format!(
                "{} per channel (static parameters from each channel's calibrated pre-RoPE [min, max]), {}",
                t.spec.int.name(),
                channel_spec_text(&t.spec, v)
            )
        }
        Granularity::Group(g) => format!("per token in groups of {g} channels"),
        g => g.label(),
    };
    format!("{} {grain}, {}", t.spec.int.name(), spec_text(&t.spec, v))
}

/// The formula of a static per-channel grid (`quant::fake::per_channel`): the spec's own grid
/// over `x − offset`, the offset 0 for a range that holds 0 and its midpoint otherwise.
fn channel_spec_text(spec: &IntSpec, v: &str) -> String {
    format!(
        "offset = 0 if min <= 0 <= max, else (min + max) / 2; over [min - offset, max - offset] {}; {v} = offset + (code - zero) * scale",
        spec_grid_text(spec, v)
    )
}

/// The scale/zero formula of a spec, with the code range.
pub fn spec_text(spec: &IntSpec, v: &str) -> String {
    format!("{}, {v} = (code - zero) * scale", spec_grid_text(spec, v))
}

/// [`spec_text`] without the dequantization formula: the scale/zero rule and the code range.
fn spec_grid_text(spec: &IntSpec, v: &str) -> String {
    let i = spec.int.info();
    let clip = |what: &str| match spec.clip_ratio < 1.0 {
        true => format!(" ({what} times the clip ratio {})", spec.clip_ratio),
        false => String::new(),
    };
    let rule = if spec.symmetric {
        let d = match spec.sym_scale {
            SymScale::HalfRange => format!("{}", i.code_max as f32 / 2.0),
            SymScale::MaxCode => format!("{}", i.signed_max),
        };
        format!("symmetric: scale = max|{v}| / {d}{}, zero = {}", clip("max"), i.offset)
    } else {
        format!(
            "asymmetric: with lo = min(min, 0), hi = max(max, 0){}: scale = (hi - lo) / {}, zero = round(-lo / scale)",
            clip("both"),
            i.code_max
        )
    };
    format!("{rule}; codes {}..{} stored +{} as 0..{}", i.signed_min, i.signed_max, i.offset, i.code_max)
}

//! Which checkpoint format can express which scheme, checked before anything is quantized:
//! scheme-level rules (bits, activation and KV formats, group sizes), then the model's Linear
//! shapes. The default format, and the GGML types a GGUF output uses, are decided here too.

use crate::format::{ActFormat, Granularity, IntFormat, SymScale, WeightFormat};
use crate::gguf::GgmlType;
use crate::scheme::Scheme;
use crate::QuantError;

/// A checkpoint format qtool writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// Hugging Face folder, compressed-tensors "pack-quantized" or "int-quantized".
    CompressedTensors,
    /// Hugging Face folder, GPTQ v1 (`checkpoint_format: "gptq"`).
    Gptq,
    /// One GGUF v3 file for llama.cpp.
    Gguf,
    /// Hugging Face folder of fake-quantized dense weights plus the scheme, for qtool's loader.
    Qtool,
}

impl CheckpointFormat {
    /// Every format, in the order errors list them.
    pub const ALL: [CheckpointFormat; 4] =
        [CheckpointFormat::CompressedTensors, CheckpointFormat::Gptq, CheckpointFormat::Gguf, CheckpointFormat::Qtool];

    /// The `--format` name.
    pub fn name(self) -> &'static str {
        match self {
            CheckpointFormat::CompressedTensors => "compressed-tensors",
            CheckpointFormat::Gptq => "gptq",
            CheckpointFormat::Gguf => "gguf",
            CheckpointFormat::Qtool => "qtool",
        }
    }

    /// Parses a `--format` name.
    pub fn parse(s: &str) -> Option<CheckpointFormat> {
        CheckpointFormat::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(s))
    }
}

/// Choices that decide what a format can express besides the scheme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatOptions {
    /// GGUF type for the Linears (`--gguf-type`); `None` picks Q8_0 / Q4_0 / Q4_K by scheme.
    pub gguf_type: Option<GgmlType>,
    /// Whether the weight group size was asked for explicitly (`--group-size`, `-g64`, `-pc`)
    /// rather than taken from the preset: GGUF then refuses anything but its block size.
    pub group_explicit: bool,
}

/// How a GGUF output stores the quantized Linears.
#[derive(Clone, Debug, PartialEq)]
pub struct GgufPlan {
    /// The GGML type of the Linears.
    pub ty: GgmlType,
    /// For Q8_0 / Q4_0: the RTN format whose codes and f16 scales are exactly that type's blocks
    /// (groups of 32). `None` for Q4_1 / Q4_K, which are encoded from the float weights.
    pub rtn_format: Option<WeightFormat>,
    /// The type used for a Linear whose rows are not a whole number of `ty` blocks (Q4_K's 256)
    /// but are of 32 (llama.cpp falls back likewise).
    pub fallback: Option<GgmlType>,
    /// What differs from the scheme as named, for the summary.
    pub note: String,
}

/// The one activation format compressed-tensors files written here carry: int8, per token,
/// symmetric, dynamic (`absmax / 127`), no clipping.
fn ct_activation_ok(a: &ActFormat) -> bool {
    a.spec.int == IntFormat::Int8
        && a.spec.symmetric
        && a.spec.sym_scale == SymScale::MaxCode
        && a.spec.clip_ratio == 1.0
        && a.granularity == Granularity::PerToken
        && a.dynamic
}

/// The compressed-tensors `format` for a scheme: "int-quantized" for 8-bit weights with int8
/// activations (W8A8), else "pack-quantized".
pub fn ct_format_name(s: &Scheme) -> &'static str {
    match (&s.weight, &s.act) {
        (Some(w), Some(_)) if w.bits() == 8 => "int-quantized",
        _ => "pack-quantized",
    }
}

/// The GGUF plan, or why a GGUF file cannot hold the scheme (without the alternatives list).
fn gguf_plan_inner(s: &Scheme, o: &FormatOptions) -> Result<GgufPlan, String> {
    if s.act.is_some() {
        return Err("GGUF has no activation quantization (llama.cpp quantizes activations its own way)".into());
    }
    if s.kv.is_some() {
        return Err("GGUF files carry no KV cache format (llama.cpp sets it at run time, --cache-type-k/v)".into());
    }
    let Some(w) = s.weight else {
        return Err("there are no quantized weights to store (write bf16 with `qtool convert` instead)".into());
    };
    let default_ty = match (w.int(), w.symmetric()) {
        (IntFormat::Int8, true) => GgmlType::Q8_0,
        (IntFormat::Int4, true) => GgmlType::Q4_0,
        (IntFormat::Int4, false) => GgmlType::Q4K,
        (int, sym) => {
            return Err(format!(
                "no GGUF type holds {} {} weights (Q8_0: int8 sym, Q4_0: int4 sym, Q4_1/Q4_K: int4 asym)",
                int.name(),
                if sym { "symmetric" } else { "asymmetric" }
            ))
        }
    };
    let ty = o.gguf_type.unwrap_or(default_ty);
    let fits = match ty {
        GgmlType::Q8_0 | GgmlType::Q4_0 => ty == default_ty,
        GgmlType::Q4_1 | GgmlType::Q4K => default_ty == GgmlType::Q4K,
        _ => false,
    };
    if !fits {
        return Err(format!("--gguf-type {ty} does not match {} weights (use {default_ty})", w.label()));
    }
    if o.group_explicit && w.granularity != Granularity::Group(32) {
        return Err(format!(
            "{ty} stores groups of 32 weights, not {} (use --group-size 32, or leave the group size to the preset)",
            w.granularity.label()
        ));
    }
    let mut note = String::new();
    if w.granularity != Granularity::Group(32) {
        note = format!("{ty} uses groups of 32 weights, not the preset's {}", w.granularity.label());
    }
    let rtn_format = match ty {
        GgmlType::Q8_0 | GgmlType::Q4_0 => Some(WeightFormat { spec: w.spec, granularity: Granularity::Group(32) }),
        _ => {
            let how = if ty == GgmlType::Q4K {
                "Q4_K: 6-bit sub-block scales and minimums found by qtool's search"
            } else {
                "Q4_1: per-block min/max"
            };
            note = if note.is_empty() { how.to_string() } else { format!("{note}; {how}") };
            None
        }
    };
    let fallback = (ty == GgmlType::Q4K).then_some(GgmlType::Q4_1);
    Ok(GgufPlan { ty, rtn_format, fallback, note })
}

/// Why `format` cannot express `s` at all (shapes aside), or `None` when it can.
fn scheme_problem(format: CheckpointFormat, s: &Scheme, o: &FormatOptions) -> Option<String> {
    match format {
        CheckpointFormat::Qtool => None,
        CheckpointFormat::Gguf => gguf_plan_inner(s, o).err(),
        CheckpointFormat::CompressedTensors => {
            let Some(w) = s.weight else {
                return Some("it stores quantized Linear weights and this scheme has none".into());
            };
            if s.kv.is_some() {
                return Some(
                    "its kv_cache_scheme holds static calibrated scales, not qtool's KVQuant-style cache".into(),
                );
            }
            if let Some(a) = &s.act {
                if !ct_activation_ok(a) {
                    return Some(format!(
                        "activations {} have no compressed-tensors form (only int8 per-token symmetric dynamic)",
                        a.label()
                    ));
                }
                if w.bits() != 8 && w.bits() != 4 {
                    return Some(format!("int8 activations go with 4- or 8-bit weights, not {}", w.label()));
                }
            }
            None
        }
        CheckpointFormat::Gptq => {
            let Some(w) = s.weight else {
                return Some("it stores quantized Linear weights and this scheme has none".into());
            };
            if s.act.is_some() {
                return Some("GPTQ checkpoints are weight-only (no activation quantization)".into());
            }
            if s.kv.is_some() {
                return Some("GPTQ checkpoints carry no KV cache format".into());
            }
            if w.granularity == Granularity::PerTensor {
                return Some("GPTQ has no per-tensor scales".into());
            }
            None
        }
    }
}

/// "formats that can: a, b" for `s`, excluding `not`.
fn alternatives(s: &Scheme, o: &FormatOptions, not: CheckpointFormat) -> String {
    let can: Vec<&str> = CheckpointFormat::ALL
        .into_iter()
        .filter(|&f| f != not && scheme_problem(f, s, o).is_none())
        .map(|f| f.name())
        .collect();
    format!("formats that can: {}", can.join(", "))
}

fn refuse(format: CheckpointFormat, s: &Scheme, o: &FormatOptions, what: String) -> QuantError {
    QuantError::SchemeNotExpressible {
        scheme: s.name.clone(),
        format: format.name(),
        what,
        alternatives: alternatives(s, o, format),
    }
}

/// Checks that `format` can express `s`, shapes aside.
pub fn check_scheme(format: CheckpointFormat, s: &Scheme, o: &FormatOptions) -> Result<(), QuantError> {
    match scheme_problem(format, s, o) {
        None => Ok(()),
        Some(what) => Err(refuse(format, s, o, what)),
    }
}

/// The GGUF plan for `s`.
pub fn gguf_plan(s: &Scheme, o: &FormatOptions) -> Result<GgufPlan, QuantError> {
    gguf_plan_inner(s, o).map_err(|what| refuse(CheckpointFormat::Gguf, s, o, what))
}

/// The first Linear `(name, n, k)` that `format` cannot store with `s`, and why.
fn shape_problem(
    format: CheckpointFormat,
    s: &Scheme,
    o: &FormatOptions,
    linears: &[(String, usize, usize)],
) -> Option<String> {
    let w = s.weight?;
    let b = w.bits() as usize;
    for (name, n, k) in linears {
        let (n, k) = (*n, *k);
        let problem = match format {
            CheckpointFormat::Qtool => None,
            CheckpointFormat::CompressedTensors => match w.granularity {
                // compressed-tensors reshapes each row into k / g groups and raises otherwise.
                Granularity::Group(g) if !k.is_multiple_of(g as usize) => Some(format!(
                    "group size {g} does not divide in_features {k} of {name} (compressed-tensors needs whole groups; \
                     pick a group size that divides every in_features, e.g. --group-size 32 or 64, or -pc)"
                )),
                _ => None,
            },
            CheckpointFormat::Gptq => (!(k * b).is_multiple_of(32) || !(n * b).is_multiple_of(32)).then(|| {
                format!("{name} is [{n}, {k}]: GPTQ loaders need in_features and out_features times {b} bits to be multiples of 32")
            }),
            CheckpointFormat::Gguf => {
                let plan = gguf_plan_inner(s, o).ok()?;
                let ok = k.is_multiple_of(plan.ty.block_size())
                    || plan.fallback.is_some_and(|f| k.is_multiple_of(f.block_size()));
                (!ok).then(|| {
                    format!("{name} has rows of {k} weights, not a whole number of {} blocks of {}", plan.ty, plan.ty.block_size())
                })
            }
        };
        if problem.is_some() {
            return problem;
        }
    }
    None
}

/// Checks `s` and the model's Linear shapes `(name, n, k)` against `format`.
pub fn check(
    format: CheckpointFormat,
    s: &Scheme,
    o: &FormatOptions,
    linears: &[(String, usize, usize)],
) -> Result<(), QuantError> {
    check_scheme(format, s, o)?;
    match shape_problem(format, s, o, linears) {
        None => Ok(()),
        Some(what) => Err(refuse(format, s, o, what)),
    }
}

/// The default format: compressed-tensors when it can express the scheme for these shapes,
/// else qtool; with the reason compressed-tensors was passed over.
pub fn default_format(
    s: &Scheme,
    o: &FormatOptions,
    linears: &[(String, usize, usize)],
) -> (CheckpointFormat, Option<String>) {
    let ct = CheckpointFormat::CompressedTensors;
    match scheme_problem(ct, s, o).or_else(|| shape_problem(ct, s, o, linears)) {
        None => (ct, None),
        Some(why) => (CheckpointFormat::Qtool, Some(why)),
    }
}

//! The `quantization_config` of a HF `config.json` (or AutoGPTQ's `quantize_config.json`),
//! read into the formats qtool runs. Supported:
//! - `quant_method: "compressed-tensors"`, `format: "pack-quantized"` (int2/3/4/8 weights,
//!   group or channel strategy, optional zero points and g_idx) or `"int-quantized"` (int8
//!   weights), one config group targeting `Linear`, optional dynamic int `input_activations`
//!   (strategy `token` or `group`), `ignore` (names, or `re:` regular expressions), no
//!   `kv_cache_scheme`;
//! - `quant_method: "gptq"`: `bits`, `group_size` (-1: per channel), `sym`,
//!   `checkpoint_format` `gptq` (v1, stored zero - 1) or `gptq_v2`;
//! - `quant_method: "qtool"`, `format: "fake-quant"`, `scheme: "<name>"` (a
//!   [`Scheme`] name), optional `ignore` (default: `lm_head`): dense weights
//!   already quantize-dequantized; the scheme's activation and KV formats apply at run time.
//!
//! Anything else is an error naming the field and the supported values.

use crate::error::{ModelError, Result};
use quant::pack::GptqVersion;
use quant::{ActFormat, Granularity, IntFormat, Scheme, WeightFormat};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// compressed-tensors storage formats qtool reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtFormat {
    /// `pack-quantized`: int32 words of packed codes.
    PackQuantized,
    /// `int-quantized`: int8 codes.
    IntQuantized,
}

/// A compressed-tensors config.
#[derive(Clone, Debug, PartialEq)]
pub struct CtConfig {
    /// Storage format.
    pub format: CtFormat,
    /// Weight format of the one config group.
    pub weight: WeightFormat,
    /// Dynamic input quantization of the group's Linears.
    pub act: Option<ActFormat>,
    /// Modules left unquantized.
    pub ignore: Vec<String>,
}

/// A GPTQ config.
#[derive(Clone, Debug, PartialEq)]
pub struct GptqConfig {
    /// Weight format.
    pub weight: WeightFormat,
    /// Zero-point convention of `qzeros`.
    pub version: GptqVersion,
}

/// A qtool fake-quant config.
#[derive(Clone, Debug, PartialEq)]
pub struct QtoolFakeConfig {
    /// The scheme whose activation and KV formats apply at run time.
    pub scheme: Scheme,
    /// Linears without activation quantization.
    pub ignore: Vec<String>,
    /// QuaRot's online rotations (`rotation: {"down_proj": bool, "qk_heads": bool}`), if any.
    pub rotation: Option<crate::rotation::RotationPlan>,
}

/// How a HF folder's Linears are quantized.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantMethod {
    /// No `quantization_config`: dense weights.
    None,
    /// compressed-tensors.
    CompressedTensors(CtConfig),
    /// AutoGPTQ / GPTQModel.
    Gptq(GptqConfig),
    /// qtool's own fake-quant folders.
    QtoolFake(QtoolFakeConfig),
}

/// Error context: the file and the JSON path of the object being read.
struct Ctx<'a> {
    path: &'a Path,
    at: String,
}

impl Ctx<'_> {
    fn err(&self, field: &str, what: impl Into<String>) -> ModelError {
        let field = if self.at.is_empty() { field.to_string() } else { format!("{}.{field}", self.at) };
        ModelError::Config { path: self.path.to_path_buf(), field, what: what.into() }
    }

    fn sub(&self, field: &str) -> Ctx<'_> {
        let at = if self.at.is_empty() { field.to_string() } else { format!("{}.{field}", self.at) };
        Ctx { path: self.path, at }
    }

    fn str<'v>(&self, v: &'v Value, field: &str) -> Result<&'v str> {
        v.get(field).and_then(Value::as_str).ok_or_else(|| self.err(field, "missing, expected a string"))
    }

    fn int(&self, v: &Value, field: &str) -> Result<i64> {
        v.get(field).and_then(Value::as_i64).ok_or_else(|| self.err(field, "missing, expected an integer"))
    }

    fn bool_or(&self, v: &Value, field: &str, default: bool) -> Result<bool> {
        match v.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.err(field, format!("{other}, expected true or false"))),
        }
    }

    fn strings(&self, v: &Value, field: &str, default: &[&str]) -> Result<Vec<String>> {
        match v.get(field) {
            None | Some(Value::Null) => Ok(default.iter().map(|s| s.to_string()).collect()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string).ok_or_else(|| self.err(field, "expected a list of strings")))
                .collect(),
            Some(_) => Err(self.err(field, "expected a list of strings")),
        }
    }

    /// The `ignore` list, its `re:` patterns checked.
    fn ignore(&self, v: &Value, default: &[&str]) -> Result<Vec<String>> {
        let list = self.strings(v, "ignore", default)?;
        for (i, e) in list.iter().enumerate() {
            if let Some(p) = e.strip_prefix("re:") {
                ignore_regex(p).map_err(|what| self.err(&format!("ignore[{i}]"), what))?;
            }
        }
        Ok(list)
    }

    fn int_format(&self, v: &Value, allowed: &[u32]) -> Result<IntFormat> {
        let ty = v.get("type").and_then(Value::as_str).unwrap_or("int");
        if ty != "int" {
            return Err(self.err("type", format!("'{ty}' is not supported; supported: int")));
        }
        let bits = self.int(v, "num_bits")?;
        let list = allowed.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        u32::try_from(bits)
            .ok()
            .filter(|b| allowed.contains(b))
            .and_then(IntFormat::from_bits)
            .ok_or_else(|| self.err("num_bits", format!("{bits} is not supported; supported: {list}")))
    }

    fn group_size(&self, v: &Value, field: &str) -> Result<u32> {
        let g = self.int(v, field)?;
        u32::try_from(g)
            .ok()
            .filter(|g| Granularity::Group(*g).validate().is_ok())
            .ok_or_else(|| self.err(field, format!("{g}: expected a positive multiple of 8")))
    }
}

/// Reads the quantization config of the folder `dir` whose `config.json` is `config`.
pub fn read(dir: &Path, config: &Value) -> Result<QuantMethod> {
    let config_path = dir.join("config.json");
    if let Some(q) = config.get("quantization_config").filter(|q| !q.is_null()) {
        return parse(q, &config_path, "quantization_config");
    }
    let gptq_path: PathBuf = dir.join("quantize_config.json");
    if gptq_path.exists() {
        let text =
            std::fs::read_to_string(&gptq_path).map_err(|source| ModelError::Io { path: gptq_path.clone(), source })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: gptq_path.clone(),
            field: "(file)".into(),
            what: format!("not valid JSON: {e}"),
        })?;
        let mut v = v;
        if v.get("quant_method").is_none() {
            v["quant_method"] = "gptq".into();
        }
        return parse(&v, &gptq_path, "");
    }
    Ok(QuantMethod::None)
}

/// Parses one quantization config object found at `at` in `path`.
pub fn parse(q: &Value, path: &Path, at: &str) -> Result<QuantMethod> {
    let cx = Ctx { path, at: at.to_string() };
    match cx.str(q, "quant_method")? {
        "compressed-tensors" => compressed_tensors(q, &cx).map(QuantMethod::CompressedTensors),
        "gptq" => gptq(q, &cx).map(QuantMethod::Gptq),
        "qtool" => qtool(q, &cx).map(QuantMethod::QtoolFake),
        other => {
            Err(cx
                .err("quant_method", format!("'{other}' is not supported; supported: compressed-tensors, gptq, qtool")))
        }
    }
}

fn compressed_tensors(q: &Value, cx: &Ctx) -> Result<CtConfig> {
    let format = match cx.str(q, "format")? {
        "pack-quantized" => CtFormat::PackQuantized,
        "int-quantized" => CtFormat::IntQuantized,
        other => {
            return Err(
                cx.err("format", format!("'{other}' is not supported; supported: pack-quantized, int-quantized"))
            )
        }
    };
    if q.get("kv_cache_scheme").is_some_and(|v| !v.is_null()) {
        return Err(cx.err("kv_cache_scheme", "is not supported (expected null)"));
    }
    let groups = q.get("config_groups").and_then(Value::as_object).filter(|g| g.len() == 1).ok_or_else(|| {
        cx.err("config_groups", "expected an object with exactly one group (qtool reads one group targeting Linear)")
    })?;
    let (gname, group) = groups.iter().next().expect("one group");
    let gcx = cx.sub(&format!("config_groups.{gname}"));
    let targets = gcx.strings(group, "targets", &[])?;
    if !targets.iter().any(|t| t == "Linear") {
        return Err(gcx.err("targets", format!("{targets:?} is not supported; supported: [\"Linear\"]")));
    }
    let w = group.get("weights").filter(|w| w.is_object()).ok_or_else(|| gcx.err("weights", "missing"))?;
    let wcx = gcx.sub("weights");
    let bits: &[u32] = if format == CtFormat::IntQuantized { &[8] } else { &[2, 3, 4, 8] };
    let int = wcx.int_format(w, bits)?;
    let granularity = match wcx.str(w, "strategy")? {
        "group" => Granularity::Group(wcx.group_size(w, "group_size")?),
        "channel" => Granularity::PerChannel,
        other => return Err(wcx.err("strategy", format!("'{other}' is not supported; supported: group, channel"))),
    };
    let weight = WeightFormat::new(int, granularity, wcx.bool_or(w, "symmetric", true)?)
        .map_err(|e| wcx.err("(format)", e.to_string()))?;
    let act = match group.get("input_activations").filter(|a| !a.is_null()) {
        None => None,
        Some(a) => Some(activations(a, &gcx.sub("input_activations"))?),
    };
    Ok(CtConfig { format, weight, act, ignore: cx.ignore(q, &[])? })
}

fn activations(a: &Value, cx: &Ctx) -> Result<ActFormat> {
    let int = cx.int_format(a, &[2, 3, 4, 8])?;
    if !cx.bool_or(a, "dynamic", false)? {
        return Err(cx.err("dynamic", "static activation scales are not supported; supported: true"));
    }
    let mut f = ActFormat::per_token(int, cx.bool_or(a, "symmetric", true)?, 1.0)
        .map_err(|e| cx.err("(format)", e.to_string()))?;
    match cx.str(a, "strategy")? {
        "token" => {}
        "group" => f.granularity = Granularity::Group(cx.group_size(a, "group_size")?),
        other => return Err(cx.err("strategy", format!("'{other}' is not supported; supported: token, group"))),
    }
    Ok(f)
}

fn gptq(q: &Value, cx: &Ctx) -> Result<GptqConfig> {
    let bits = cx.int(q, "bits")?;
    let int = u32::try_from(bits)
        .ok()
        .filter(|b| [2, 3, 4, 8].contains(b))
        .and_then(IntFormat::from_bits)
        .ok_or_else(|| cx.err("bits", format!("{bits} is not supported; supported: 2, 3, 4, 8")))?;
    let granularity = match cx.int(q, "group_size")? {
        -1 => Granularity::PerChannel,
        _ => Granularity::Group(cx.group_size(q, "group_size")?),
    };
    let weight = WeightFormat::new(int, granularity, cx.bool_or(q, "sym", true)?)
        .map_err(|e| cx.err("(format)", e.to_string()))?;
    let version = match q.get("checkpoint_format").and_then(Value::as_str).unwrap_or("gptq") {
        "gptq" => GptqVersion::V1,
        "gptq_v2" => GptqVersion::V2,
        other => {
            return Err(cx.err("checkpoint_format", format!("'{other}' is not supported; supported: gptq, gptq_v2")))
        }
    };
    Ok(GptqConfig { weight, version })
}

fn qtool(q: &Value, cx: &Ctx) -> Result<QtoolFakeConfig> {
    match cx.str(q, "format")? {
        "fake-quant" => {}
        other => return Err(cx.err("format", format!("'{other}' is not supported; supported: fake-quant"))),
    }
    let name = cx.str(q, "scheme")?;
    let scheme = Scheme::parse(name).map_err(|e| cx.err("scheme", e.to_string()))?;
    if let Some(a) = scheme.act.filter(|a| !a.dynamic) {
        return Err(cx.err("scheme", format!("activation format {} is static; qtool runs dynamic ones", a.label())));
    }
    let rotation = match q.get("rotation") {
        None | Some(Value::Null) => None,
        Some(r @ Value::Object(_)) => {
            let rc = cx.sub("rotation");
            if let Some(k) =
                r.as_object().and_then(|m| m.keys().find(|k| !["down_proj", "qk_heads"].contains(&k.as_str())))
            {
                return Err(rc.err(k, "unknown online rotation; known: down_proj, qk_heads"));
            }
            Some(crate::rotation::RotationPlan {
                down_proj: rc.bool_or(r, "down_proj", false)?,
                qk_heads: rc.bool_or(r, "qk_heads", false)?,
            })
        }
        Some(_) => {
            return Err(cx.err("rotation", "expected an object {\"down_proj\": bool, \"qk_heads\": bool} or null"))
        }
    };
    Ok(QtoolFakeConfig { scheme, ignore: cx.ignore(q, &["lm_head"])?, rotation })
}

/// Longest `re:` pattern an `ignore` list may hold (real ones are a few dozen bytes).
pub const MAX_IGNORE_PATTERN: usize = 1024;

/// The `re:` pattern `pattern` compiled to match a whole Linear prefix, with the `regex`
/// crate (linear time in the prefix, whatever the pattern) and bounded compiled size.
fn ignore_regex(pattern: &str) -> std::result::Result<regex::Regex, String> {
    if pattern.len() > MAX_IGNORE_PATTERN {
        return Err(format!("a pattern of {} bytes; at most {MAX_IGNORE_PATTERN} are accepted", pattern.len()));
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| format!("the pattern {pattern:?} is not a valid regular expression: {e}"))
}

/// Whether the Linear `prefix` is named by an `ignore` entry: the whole prefix or its last
/// dotted components (`lm_head`, `mlp.down_proj`), or a `re:` regular expression matching the
/// whole prefix (an invalid pattern matches nothing; configs are checked when read).
pub fn is_ignored(prefix: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|e| match e.strip_prefix("re:") {
        Some(pattern) => ignore_regex(pattern).is_ok_and(|r| r.is_match(prefix)),
        None => prefix == e || prefix.ends_with(&format!(".{e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_q(q: Value) -> Result<QuantMethod> {
        parse(&q, Path::new("config.json"), "quantization_config")
    }

    #[test]
    fn compressed_tensors_w4a16_and_w8a8() {
        let q = json!({"quant_method": "compressed-tensors", "format": "pack-quantized",
            "config_groups": {"group_0": {"targets": ["Linear"], "weights": {"num_bits": 4, "type": "int",
            "symmetric": false, "strategy": "group", "group_size": 128}, "input_activations": null}},
            "ignore": ["lm_head"], "kv_cache_scheme": null});
        let QuantMethod::CompressedTensors(c) = parse_q(q).unwrap() else { panic!() };
        assert_eq!(c.weight.label(), "int4 g128 asym");
        assert_eq!((c.format, c.act, c.ignore), (CtFormat::PackQuantized, None, vec!["lm_head".to_string()]));
        let q = json!({"quant_method": "compressed-tensors", "format": "int-quantized",
            "config_groups": {"g": {"targets": ["Linear"], "weights": {"num_bits": 8, "symmetric": true,
            "strategy": "channel"}, "input_activations": {"num_bits": 8, "type": "int", "symmetric": true,
            "strategy": "token", "dynamic": true}}}});
        let QuantMethod::CompressedTensors(c) = parse_q(q).unwrap() else { panic!() };
        assert_eq!(c.act.unwrap(), Scheme::parse("w8a8").unwrap().act.unwrap());
        assert_eq!(c.weight.granularity, Granularity::PerChannel);
    }

    #[test]
    fn errors_name_the_field_and_the_choices() {
        let msg = |q: Value| parse_q(q).unwrap_err().to_string();
        let m = msg(json!({"quant_method": "awq"}));
        assert!(m.contains("quantization_config.quant_method") && m.contains("compressed-tensors, gptq, qtool"), "{m}");
        let m = msg(json!({"quant_method": "compressed-tensors", "format": "float-quantized"}));
        assert!(m.contains("quantization_config.format") && m.contains("pack-quantized, int-quantized"), "{m}");
        let m = msg(json!({"quant_method": "qtool", "format": "packed", "scheme": "w4a16"}));
        assert!(m.contains("quantization_config.format") && m.contains("fake-quant"), "{m}");
        let m = msg(json!({"quant_method": "qtool", "format": "fake-quant", "scheme": "w5a16"}));
        assert!(m.contains("quantization_config.scheme"), "{m}");
        let m = msg(json!({"quant_method": "gptq", "bits": 5, "group_size": 128}));
        assert!(m.contains("quantization_config.bits") && m.contains("2, 3, 4, 8"), "{m}");
        let m = msg(json!({"quant_method": "compressed-tensors", "format": "pack-quantized",
            "config_groups": {"g": {"targets": ["Linear"], "weights": {"num_bits": 4, "strategy": "tensor"}}}}));
        assert!(m.contains("config_groups.g.weights.strategy") && m.contains("group, channel"), "{m}");
    }

    #[test]
    fn gptq_and_qtool() {
        let QuantMethod::Gptq(g) =
            parse_q(json!({"quant_method": "gptq", "bits": 3, "group_size": -1, "sym": false})).unwrap()
        else {
            panic!()
        };
        assert_eq!((g.weight.label(), g.version), ("int3 per-channel asym".to_string(), GptqVersion::V1));
        let QuantMethod::QtoolFake(f) =
            parse_q(json!({"quant_method": "qtool", "format": "fake-quant", "scheme": "w8a8-kv4"})).unwrap()
        else {
            panic!()
        };
        assert_eq!((f.scheme.name.as_str(), f.ignore), ("w8a8-kv4", vec!["lm_head".to_string()]));
    }

    #[test]
    fn ignore_names_and_patterns() {
        let ig = |e: &[&str]| e.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_ignored("lm_head", &ig(&["lm_head"])));
        assert!(is_ignored("model.layers.3.mlp.down_proj", &ig(&["mlp.down_proj"])));
        assert!(!is_ignored("model.layers.3.mlp.down_proj", &ig(&["lm_head", "proj"])));
        assert!(is_ignored("model.layers.3.mlp.down_proj", &ig(&["re:.*down_proj$"])));
        assert!(is_ignored("model.layers.3.mlp.down_proj", &ig(&["re:model\\.layers\\.3\\..*"])));
        assert!(!is_ignored("model.layers.13.mlp.down_proj", &ig(&["re:model\\.layers\\.3\\..*"])));
    }

    #[test]
    fn ignore_patterns_match_in_linear_time_and_are_bounded() {
        // Twelve `.*` before a letter that never comes: exponential for a backtracking matcher.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let ig = vec![format!("re:{}X", ".*".repeat(12))];
            let _ = tx.send(is_ignored("model.layers.10.self_attn.q_proj", &ig));
        });
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)), Ok(false), "the match must not hang");
        // Over-long or invalid patterns are refused when the config is read, naming the field.
        for bad in [format!("re:{}", "a".repeat(5000)), "re:model.(".to_string()] {
            let q = json!({"quant_method": "qtool", "format": "fake-quant", "scheme": "w8a8", "ignore": [bad]});
            let m = parse_q(q).unwrap_err().to_string();
            assert!(m.contains("quantization_config.ignore"), "{m}");
        }
    }
}

//! How an output was made, recorded next to the format's own quantization config: method,
//! calibration source, sample count, sequence length, seed, GPTQ settings and the qtool version.
//! HF folders get it as `config.json` → `qtool_quantization` (and GPTQ's own `desc_act`,
//! `static_groups`, `damp_percent` in `quantize_config.json`); GGUF files as
//! `qtool.quantization.*` metadata keys.

use super::options::QuantizeOptions;
use quant::gguf::MetaValue;
use serde_json::{json, Value};

/// GPTQ as actually run (static groups may be forced on by the format).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GptqRun {
    /// Act-order.
    pub act_order: bool,
    /// Static groups.
    pub static_groups: bool,
    /// Damping fraction asked.
    pub damp: f64,
}

/// The record, as JSON.
pub fn record(o: &QuantizeOptions, gptq: Option<GptqRun>) -> Value {
    let calibration = o.calib.as_ref().map_or(
        Value::Null,
        |c| json!({ "source": c.source.label(), "samples": c.n_samples, "seqlen": c.seqlen, "seed": c.seed }),
    );
    let mut v = json!({
        "method": o.method,
        "calibration": calibration,
        "qtool_version": env!("CARGO_PKG_VERSION"),
    });
    if o.method.starts_with("quarot") {
        v["quarot"] = json!({ "seed": o.seed, "rotation": "randomized Hadamard (residual), Hadamard (online)" });
    }
    if let Some(g) = gptq {
        v["gptq"] = json!({ "act_order": g.act_order, "static_groups": g.static_groups, "damp_percent": g.damp });
    }
    v
}

/// The record as GGUF metadata (`qtool.quantization.{method, calibration.source, ...}`).
pub fn gguf_keys(v: &Value) -> Vec<(String, MetaValue)> {
    let mut out = Vec::new();
    flatten("qtool.quantization", v, &mut out);
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, MetaValue)>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| flatten(&format!("{prefix}.{k}"), x, out)),
        Value::String(s) => out.push((prefix.into(), MetaValue::String(s.clone()))),
        Value::Bool(b) => out.push((prefix.into(), MetaValue::Bool(*b))),
        Value::Number(n) if n.is_u64() => out.push((prefix.into(), MetaValue::U64(n.as_u64().unwrap_or(0)))),
        Value::Number(n) => out.push((prefix.into(), MetaValue::F64(n.as_f64().unwrap_or(f64::NAN)))),
        Value::Null | Value::Array(_) => {}
    }
}

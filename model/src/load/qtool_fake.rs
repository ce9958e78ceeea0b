//! qtool fake-quant folders (`quant_method: "qtool"`, `format: "fake-quant"`): the weights are
//! dense and already quantize-dequantized by the scheme's weight format; what remains is run
//! time: the scheme's dynamic activation quantization on the input of every Linear (every 2-D
//! `X.weight` except the embedding) not in `ignore`, and its KV-cache quantization.

use super::plan::QuantPlan;
use super::quant_config::{is_ignored, QtoolFakeConfig};
use super::raw::RawMap;

/// The run-time plan of a fake-quant folder whose tensors are `raw`.
pub fn plan(raw: &RawMap, c: &QtoolFakeConfig) -> QuantPlan {
    let mut plan = QuantPlan::none(&format!("qtool fake-quant {}", c.scheme.name));
    plan.kv = c.scheme.kv;
    plan.rotation = c.rotation;
    if let Some(a) = c.scheme.act {
        for (name, t) in raw {
            let Some(prefix) = name.strip_suffix(".weight") else { continue };
            if t.shape.len() == 2 && name != "model.embed_tokens.weight" && !is_ignored(prefix, &c.ignore) {
                plan.act.insert(prefix.to_string(), a);
            }
        }
    }
    plan
}

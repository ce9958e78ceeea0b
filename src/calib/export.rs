//! The tensors of a transformed f32 model that a writer stores dense: embeddings, norms, biases,
//! lm_head and every Linear that is not quantized, by their Hugging Face names. After AWQ,
//! SmoothQuant or QuaRot these differ from the source checkpoint's (scaled norms, rotated
//! embeddings, an untied lm_head), so the writer takes them from here instead.

use super::weights::dense_f32;
use model::linear::Linear;
use model::Model;
use quant::writer::DenseTensor;
use std::collections::HashSet;

fn linear(out: &mut Vec<DenseTensor>, prefix: &str, l: &Linear, skip: &HashSet<&str>) -> anyhow::Result<()> {
    if !skip.contains(prefix) {
        let data = dense_f32(&l.weight, prefix)?;
        out.push(DenseTensor { name: format!("{prefix}.weight"), shape: vec![l.n, l.k], data });
    }
    if let Some(b) = &l.bias {
        out.push(DenseTensor { name: format!("{prefix}.bias"), shape: vec![l.n], data: b.clone() });
    }
    Ok(())
}

/// Every tensor of `model` except the weights of the Linears in `quantized` (module names).
pub fn dense_tensors(model: &Model, quantized: &[String]) -> anyhow::Result<Vec<DenseTensor>> {
    let skip: HashSet<&str> = quantized.iter().map(String::as_str).collect();
    let c = &model.config;
    let d = c.hidden_size;
    let mut out = Vec::new();
    let embed = dense_f32(&model.embed_tokens, "model.embed_tokens")?;
    out.push(DenseTensor { name: "model.embed_tokens.weight".into(), shape: vec![c.vocab_size, d], data: embed });
    for (i, l) in model.layers.iter().enumerate() {
        let p = format!("model.layers.{i}");
        let norm = |name: &str, v: &[f32]| DenseTensor {
            name: format!("{p}.{name}.weight"),
            shape: vec![d],
            data: v.to_vec(),
        };
        out.push(norm("input_layernorm", &l.input_layernorm));
        out.push(norm("post_attention_layernorm", &l.post_attention_layernorm));
        for (name, lin) in
            [("self_attn.q_proj", &l.q_proj), ("self_attn.k_proj", &l.k_proj), ("self_attn.v_proj", &l.v_proj)]
        {
            linear(&mut out, &format!("{p}.{name}"), lin, &skip)?;
        }
        linear(&mut out, &format!("{p}.self_attn.o_proj"), &l.o_proj, &skip)?;
        for (name, lin) in
            [("mlp.gate_proj", &l.gate_proj), ("mlp.up_proj", &l.up_proj), ("mlp.down_proj", &l.down_proj)]
        {
            linear(&mut out, &format!("{p}.{name}"), lin, &skip)?;
        }
    }
    out.push(DenseTensor { name: "model.norm.weight".into(), shape: vec![d], data: model.norm.clone() });
    if let Some(lm) = &model.lm_head {
        linear(&mut out, "lm_head", lm, &skip)?;
    }
    Ok(out)
}

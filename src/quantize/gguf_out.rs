//! GGUF output: the scheme's GGML types (Q8_0 / Q4_0 from RTN codes, Q4_K / Q4_1 encoded from
//! the float weights), metadata copied from a GGUF source or built from config + tokenizer, one
//! file written atomically.

use super::calibrated::gptq_run;
use super::options::QuantizeOptions;
use super::quantize_all::{bar, dense_all, quantize_linears, weight_f32};
use super::select::Plan;
use super::source::Source;
use super::summary::Summary;
use quant::gguf::{GgmlType, GgufFile, MetaValue};
use quant::writer::gguf_model::{self, type_for_rows};
use quant::writer::{gguf_plan, AtomicFile, CheckpointFormat, DenseTensor, GgufArch, GgufLinear, GgufModel};
use quant::{RtnOptions, ScaleDtype};

/// llama.cpp's `general.file_type` (enum llama_ftype) for the Linears' type.
fn file_type(ty: GgmlType) -> u32 {
    match ty {
        GgmlType::Q4_0 => 2,
        GgmlType::Q4_1 => 3,
        GgmlType::Q8_0 => 7,
        GgmlType::Q4K => 14, // MOSTLY_Q4_K_S: every Linear Q4_K (or its 32-block fallback)
        _ => 0,
    }
}

/// The source GGUF's metadata with the file type updated (alignment left to the default).
fn copy_metadata(g: &GgufFile, ftype: u32) -> Vec<(String, MetaValue)> {
    let skip = ["general.alignment", "general.file_type", "general.quantization_version"];
    let mut out: Vec<(String, MetaValue)> =
        g.metadata.iter().filter(|(k, _)| !skip.contains(&k.as_str())).cloned().collect();
    out.push(("general.file_type".into(), MetaValue::U32(ftype)));
    out.push(("general.quantization_version".into(), MetaValue::U32(2)));
    out
}

/// Quantizes and writes a GGUF file.
pub fn write(o: &QuantizeOptions, src: &Source, plan: &Plan) -> anyhow::Result<Summary> {
    let gp = gguf_plan(&o.scheme, &o.format_options)?;
    let dense_type = if o.dtype == Some(ScaleDtype::F32) { GgmlType::F32 } else { GgmlType::F16 };
    let gptq = gptq_run(o, false);
    let rtn = |scale_dtype| RtnOptions { scale_dtype, clip_search: o.clip_search };
    let encode = |module: &str, [n, k]: [usize; 2], data: Vec<f32>| -> anyhow::Result<(String, GgufLinear)> {
        let ty = type_for_rows(gp.ty, gp.fallback, k)
            .ok_or_else(|| anyhow::anyhow!("{module}: rows of {k} are not whole {} blocks", gp.ty))?;
        let weight = DenseTensor { name: format!("{module}.weight"), shape: vec![n, k], data };
        Ok((module.to_string(), GgufLinear::Encode { ty, weight }))
    };
    if super::calibrated::calibrates_keys(o)
        || crate::calib::Recipe::parse(&o.method).is_ok_and(|r| r.transform == crate::calib::TransformKind::Quarot)
    {
        anyhow::bail!(
            "--method {} / KV calibration need run-time support GGUF output cannot ask llama.cpp for (online \
             Hadamard transforms, calibrated key ranges); write --format qtool",
            o.method
        );
    }
    let mut calib_note = None;
    // AWQ / SmoothQuant: the model's folded norms replace the source's.
    let mut transformed_dense = None;
    let linears: Vec<(String, GgufLinear)> = match (&gp.rtn_format, &o.scheme.weight) {
        // Q8_0 / Q4_0: the codes are the blocks.
        (Some(f), _) => {
            let q = quantize_linears(o, src, plan, Some(f), &rtn(ScaleDtype::F16), gptq)?;
            transformed_dense = q.dense;
            q.linears.into_iter().map(|l| (l.module, GgufLinear::Blocks(l.weight))).collect()
        }
        // Q4_1 / Q4_K encode floats: with calibration, the calibrated weights, dequantized.
        (None, Some(w)) if super::calibrated::is_calibrated(o) => {
            calib_note =
                Some(format!("{} weights ({}) re-encoded to {}: a second rounding", o.method, w.label(), gp.ty));
            let q = quantize_linears(o, src, plan, Some(w), &rtn(ScaleDtype::F16), gptq)?;
            transformed_dense = q.dense;
            q.linears
                .into_iter()
                .map(|l| encode(&l.module, [l.weight.n(), l.weight.k()], l.weight.dequantize()))
                .collect::<anyhow::Result<_>>()?
        }
        (None, _) => plan
            .linears
            .iter()
            .map(|(module, weight, shape)| encode(module, *shape, weight_f32(src, weight)))
            .collect::<anyhow::Result<_>>()?,
    };
    let metadata = match &src.gguf {
        Some(g) => copy_metadata(g, file_type(gp.ty)),
        None => super::gguf_meta::build(src, file_type(gp.ty))?,
    };
    let mut metadata = metadata;
    metadata.retain(|(k, _)| !k.starts_with("qtool.quantization."));
    metadata.extend(super::provenance::gguf_keys(&super::provenance::record(o, gptq)));
    let c = &src.config;
    let m = GgufModel {
        arch: GgufArch {
            name: c.arch.model_type().to_string(),
            n_head: c.num_attention_heads,
            n_head_kv: c.num_key_value_heads,
        },
        metadata,
        dense: transformed_dense.unwrap_or_else(|| dense_all(src, plan)),
        dense_type,
        linears,
    };
    let file = AtomicFile::new(&o.out, o.force)?;
    let pb = bar(m.linears.len(), &format!("encoding {}", gp.ty));
    let stats = gguf_model::write(file.path(), &m, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let out = file.commit()?;
    let mut notes = stats.notes.clone();
    if !gp.note.is_empty() {
        notes.push(gp.note.clone());
    }
    notes.extend(calib_note);
    let output = if plan.dense.iter().any(|n| n == "lm_head.weight") { " and output" } else { "" };
    notes.push(format!("norms and biases F32, embeddings{output} {dense_type}"));
    notes.push(match &src.gguf {
        Some(_) => "metadata and tokenizer copied from the source GGUF".into(),
        None => "metadata and tokenizer built from config.json and tokenizer.json".into(),
    });
    Ok(Summary::new(out, CheckpointFormat::Gguf, &o.scheme.name, stats, notes))
}

//! Hugging Face folder outputs (compressed-tensors, GPTQ, qtool fake-quant): quantize, build the
//! writer's input, write into an atomic folder with the tokenizer files, commit.

use super::calibrated::gptq_run;
use super::options::QuantizeOptions;
use super::quantize_all::{dense_all, quantize_linears};
use super::select::Plan;
use super::source::Source;
use super::summary::Summary;
use anyhow::Context;
use quant::writer::{compressed_tensors, gptq, qtool_fake, AtomicDir, CheckpointFormat, HfModel};
use quant::{RtnOptions, ScaleDtype};
use std::path::Path;

/// Files copied from an HF source folder when present.
const TOKENIZER_FILES: [&str; 9] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
];

/// Writes the tokenizer, chat template and generation config into `dir`: copied from an HF
/// source, rebuilt from a GGUF source's metadata.
pub fn write_tokenizer_files(src: &Source, dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    match &src.gguf {
        Some(g) => {
            crate::cli::tokenizer_files::write_all(g, &src.config, dir)
                .context("rebuilding the tokenizer from GGUF")?;
            let mut gen = model::convert::generation_config(&src.config);
            gen["_from"] = "qtool quantize".into();
            let text = serde_json::to_string_pretty(&gen)? + "\n";
            std::fs::write(dir.join("generation_config.json"), text)?;
            written.extend(["tokenizer.json", "tokenizer_config.json", "generation_config.json"].map(String::from));
        }
        None => {
            for f in TOKENIZER_FILES {
                let from = src.path.join(f);
                if from.is_file() {
                    std::fs::copy(&from, dir.join(f)).with_context(|| format!("copying {}", from.display()))?;
                    written.push(f.to_string());
                }
            }
        }
    }
    Ok(written)
}

/// Quantizes and writes `format` (not GGUF).
pub fn write(o: &QuantizeOptions, format: CheckpointFormat, src: &Source, plan: &Plan) -> anyhow::Result<Summary> {
    let dtype = o.dtype.unwrap_or(if format == CheckpointFormat::Gptq { ScaleDtype::F16 } else { ScaleDtype::Bf16 });
    let scale_dtype = if format == CheckpointFormat::Gptq { ScaleDtype::F16 } else { dtype };
    let gptq = gptq_run(o, format == CheckpointFormat::Gptq);
    let q = quantize_linears(
        o,
        src,
        plan,
        o.scheme.weight.as_ref(),
        &RtnOptions { scale_dtype, clip_search: o.clip_search },
        gptq,
    )?;
    // Calibrated key ranges need a KV format, which only qtool folders carry (`check` refused
    // the others already); rotations are the method's and are checked here.
    if format != CheckpointFormat::Qtool && q.rotation.is_some() {
        anyhow::bail!(
            "--method {}: the rotated weights need qtool's online Hadamard transforms, which {} cannot express; \
             write --format qtool",
            o.method,
            format.name()
        );
    }
    let mut dense = match q.dense {
        // The transformed model's own tensors (norms, embeddings, untied lm_head, ...).
        Some(d) => d,
        None => {
            let mut dense = dense_all(src, plan);
            if o.scheme.weight.is_none() {
                // Nothing to quantize (e.g. a KV-only scheme): the Linears stay dense.
                for (_, weight, [n, k]) in &plan.linears {
                    let data = src.weights[weight].to_f32_vec();
                    let name =
                        if weight == "model.embed_tokens.weight" { "lm_head.weight".into() } else { weight.clone() };
                    dense.push(quant::writer::DenseTensor { name, shape: vec![*n, *k], data });
                }
            }
            dense
        }
    };
    for (i, r) in q.key_ranges.iter().flatten().enumerate() {
        let [lo, hi] = model::kv_quant::key_range_names(i);
        dense.push(quant::writer::DenseTensor { name: lo, shape: vec![r.min.len()], data: r.min.clone() });
        dense.push(quant::writer::DenseTensor { name: hi, shape: vec![r.max.len()], data: r.max.clone() });
    }
    let linears = q.linears;
    let mut config = src.config_json.clone();
    if plan.untie_lm_head || q.untied {
        config["tie_word_embeddings"] = false.into();
    }
    config["qtool_quantization"] = super::provenance::record(o, gptq);
    let m = HfModel { config, dtype, dense, linears };
    let rotation = q.rotation.map(|r| serde_json::json!({ "down_proj": r.down_proj, "qk_heads": r.qk_heads }));
    let dir = AtomicDir::new(&o.out, o.force)?;
    let stats = match format {
        CheckpointFormat::CompressedTensors => compressed_tensors::write(dir.path(), &m, &o.scheme, &plan.ignore)?,
        CheckpointFormat::Gptq => gptq::write_with(dir.path(), &m, &gptq_config(gptq))?,
        CheckpointFormat::Qtool => {
            qtool_fake::write(dir.path(), &m, &o.scheme, &o.method, &plan.ignore, rotation.as_ref())?
        }
        CheckpointFormat::Gguf => unreachable!("GGUF is written by gguf_out"),
    };
    let extra = write_tokenizer_files(src, dir.path())?;
    let out = dir.commit()?;
    let mut notes = stats.notes.clone();
    if format == CheckpointFormat::CompressedTensors {
        notes.push(format!("compressed-tensors format {}", quant::writer::capability::ct_format_name(&o.scheme)));
    }
    notes.push(format!("dense tensors {}, scales {}", dtype.name(), scale_dtype.name()));
    if !extra.is_empty() {
        notes.push(format!("carried over: {}", extra.join(", ")));
    }
    Ok(Summary::new(out, format, &o.scheme.name, stats, notes))
}

/// `quantize_config.json` fields of a GPTQ folder that describe how GPTQ ran (RTN: none).
fn gptq_config(gptq: Option<super::provenance::GptqRun>) -> serde_json::Value {
    match gptq {
        Some(g) => {
            serde_json::json!({ "static_groups": g.static_groups, "damp_percent": g.damp, "true_sequential": false })
        }
        None => serde_json::json!({}),
    }
}

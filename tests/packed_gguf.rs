//! (a) SmolLM2's GGUF run packed (GGML blocks kept as they are, `matmul_gguf`) against the
//! same GGUF dequantized at load to f32: the same weights, so the logits must agree within
//! 1e-4 of their scale (the CPU kernels make them bit-identical) and 32 greedy tokens must be
//! identical. The llama Q/K rows of the packed model are un-permuted by moving raw block bytes.

use crate::common::smollm2_gguf;
use model::generate::{generate_batch, GenerateParams};
use model::linear_weight::LinearWeight;
use model::load::load_model;
use model::sampler::SamplingParams;
use model::weights::DType;
use model::{LogitRows, SeqChunk};

#[test]
fn smollm2_packed_gguf_matches_dequantized_f32() {
    let path = smollm2_gguf();
    let packed = load_model(&path, None, kernels::cpu_backend()).unwrap();
    let dense = load_model(&path, Some(DType::F32), kernels::cpu_backend()).unwrap();
    let (pm, dm) = (&packed.model, &dense.model);
    assert!(matches!(&pm.layers[0].q_proj.weight, LinearWeight::Gguf(g) if g.ty.name() == "Q4_1"));
    assert!(matches!(&pm.embed_tokens, LinearWeight::Gguf(g) if g.ty.name() == "Q8_0"));
    assert!(matches!(&dm.layers[0].q_proj.weight, LinearWeight::Dense(_)));
    println!(
        "packed: {} ({:.1} MB read per step); dense: {} ({:.1} MB)",
        pm.quant_description,
        pm.weight_bytes() as f64 / 1e6,
        dm.quant_description,
        dm.weight_bytes() as f64 / 1e6
    );
    assert!(pm.weight_bytes() * 4 < dm.weight_bytes());

    let ids = packed.tokenizer.encode("Natalia sold clips to 48 of her friends in April, and then", true).unwrap();
    let run = |m: &model::Model| {
        let mut cache = m.new_cache(1, ids.len());
        m.forward(&[SeqChunk { slot: 0, tokens: &ids }], &mut cache, LogitRows::All).unwrap()
    };
    let (lp, ld) = (run(pm), run(dm));
    let scale = ld.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = lp.iter().zip(&ld).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale;
    println!("{} prompt tokens, all-position logits: max |packed - f32| / max |f32| = {err:.2e}", ids.len());
    assert!(err <= 1e-4, "packed vs dequantized logits differ by {err}");

    let params = GenerateParams { max_new_tokens: 32, sampling: SamplingParams::default(), eos_ids: vec![] };
    let greedy = |m: &model::Model| generate_batch(m, std::slice::from_ref(&ids), &params, &mut |_, _| false).unwrap();
    let ((gp, sp), (gd, sd)) = (greedy(pm), greedy(dm));
    println!(
        "greedy 32: packed decode {:.1} tok/s, f32 decode {:.1} tok/s ({} threads)",
        sp.decode_tps(),
        sd.decode_tps(),
        rayon::current_num_threads()
    );
    assert_eq!(gp[0].tokens, gd[0].tokens, "greedy tokens differ");
}

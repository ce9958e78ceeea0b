//! llama.cpp loads the GGUF files qtool writes, and its perplexity agrees with qtool's. The fixture
//! tests/fixtures/interop/llamacpp_ppl.json was written by scripts/interop/llamacpp_ppl.py: for
//! Q8_0, Q4_0, Q4_1 and Q4_K it ran `qtool quantize --format gguf` on SmolLM2, `qtool kld` on the
//! file (qtool's packed execution), and llama.cpp (llama-cpp-python, built from source) on the same
//! file and the same token chunks (llama.cpp's perplexity convention).
//!
//! This test checks the record (every type present, the same tokens scored by both, perplexities
//! within 1%) and re-runs today's qtool on the Q4_0 file the same way, which must reproduce the
//! recorded qtool perplexity, so the 1% agreement holds for the code as it is now.

use eval::kld::{KldSpec, Silent, TextSource};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Fixture {
    ctx: usize,
    chunks: usize,
    results: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    gguf_type: String,
    qtool_ppl: f64,
    qtool_tokens_sha256: String,
    qtool_scored: usize,
    llamacpp_ppl: f64,
    llamacpp_tokens_sha256: String,
    llamacpp_scored: usize,
}

fn fixture() -> Fixture {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop/llamacpp_ppl.json");
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

#[test]
fn llamacpp_perplexity_of_qtool_gguf_files_is_within_one_percent_of_qtool() {
    let fx = fixture();
    let types: Vec<&str> = fx.results.iter().map(|c| c.gguf_type.as_str()).collect();
    assert_eq!(types, ["q8_0", "q4_0", "q4_1", "q4_k"]);
    for c in &fx.results {
        let rel = (c.qtool_ppl - c.llamacpp_ppl).abs() / c.llamacpp_ppl;
        println!(
            "{}: qtool PPL {:.4}, llama.cpp PPL {:.4}, rel diff {rel:.2e}, {} tokens scored by both",
            c.gguf_type, c.qtool_ppl, c.llamacpp_ppl, c.qtool_scored
        );
        assert_eq!(c.qtool_tokens_sha256, c.llamacpp_tokens_sha256, "{}: not the same tokens", c.gguf_type);
        assert_eq!(c.qtool_scored, c.llamacpp_scored, "{}", c.gguf_type);
        assert_eq!(c.qtool_scored, fx.chunks * (fx.ctx - 1 - fx.ctx / 2), "{}", c.gguf_type);
        assert!(rel < 0.01, "{}: perplexities differ by {:.2}%", c.gguf_type, 100.0 * rel);
    }
}

#[test]
fn qtool_reproduces_its_recorded_perplexity_on_the_q4_0_file() {
    let fx = fixture();
    let case = fx.results.iter().find(|c| c.gguf_type == "q4_0").expect("q4_0 recorded");
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("smollm2-q4_0.gguf");
    let src = crate::common::smollm2_gguf();
    let args = [
        "quantize",
        "--model",
        src.to_str().unwrap(),
        "--format",
        "gguf",
        "--scheme",
        "w4a16",
        "--gguf-type",
        "q4_0",
        "--out",
        gguf.to_str().unwrap(),
    ];
    let (ok, _, stderr) = crate::common::qtool(&args);
    assert!(ok, "{stderr}");
    let spec = KldSpec {
        base: gguf.clone(),
        base_dtype: None,
        model: gguf,
        model_dtype: None,
        backend: "cpu".into(),
        text: TextSource::Gsm8kSolutions(crate::common::gsm8k_test()),
        ctx: fx.ctx,
        chunks: Some(fx.chunks),
        top_k: eval::kld::DEFAULT_TOP_K,
        batch: None,
        cache: Some(dir.path().join("base.qkld")),
    };
    let r = eval::kld::run(&spec, &mut Silent).expect("kld run");
    let ppl = r.summary.ppl_model.mean;
    println!("q4_0 today: PPL {ppl:.4} (recorded {:.4}, llama.cpp {:.4})", case.qtool_ppl, case.llamacpp_ppl);
    assert_eq!(r.tokens_sha256, case.qtool_tokens_sha256, "the scored tokens changed");
    assert!((ppl - case.qtool_ppl).abs() / case.qtool_ppl < 1e-4, "PPL {ppl} != recorded {}", case.qtool_ppl);
    assert!((ppl - case.llamacpp_ppl).abs() / case.llamacpp_ppl < 0.01);
}

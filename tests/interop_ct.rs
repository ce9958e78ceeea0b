//! qtool's own packed execution of the compressed-tensors checkpoints it writes, against Hugging
//! Face transformers + compressed-tensors running the same checkpoint. The fixtures under
//! tests/fixtures/interop/ were written by scripts/interop/ct_transformers.py, which ran the same
//! `qtool quantize` command and loaded the folder with `AutoModelForCausalLM.from_pretrained`.
//! The test re-runs that command, loads the folder with qtool (weights stay packed) and compares
//! the full last-position logits and the reference top-20 logits at every position, with the
//! Foundation issue's rule: max |diff| / max |logit| <= 1e-3.
//!
//! W8A8: compressed-tensors' python forward quantizes activations with scale = absmax / 127.5,
//! vLLM's int8 kernel (and qtool's scheme) with absmax / 127. The script therefore also records the
//! transformers forward with the activation quantizer patched to vLLM's divisor (`vllm_scale`).
//! SmolLM2 under per-token int8 activations is numerically chaotic: nudging every activation scale
//! by one f32 ulp moves the python logits by ~15% of their range (the script measures this floor,
//! `ulp_nudge_rel_diff`). So for W8A8 the 1e-3 rule is applied where it can discriminate, to every
//! Linear of layers 0, 14 and 29 fed the very inputs transformers saw (`linears_vllm_scale`: a
//! wrong divisor, rounding mode or weight scale fails it), and the end-to-end logits must stay
//! within twice the measured floor with the same argmax wherever the python forward's own argmax
//! survives the nudges.

use crate::common::{qtool, smollm2_gguf};
use model::linear::Linear;
use model::load::load_checkpoint;
use model::{LogitRows, Model, SeqChunk};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const TOL: f32 = 1e-3;

#[derive(Deserialize)]
struct Top {
    ids: Vec<u32>,
    logits: Vec<f32>,
}

#[derive(Deserialize)]
struct Sequence {
    name: String,
    ids: Vec<u32>,
    top20: Vec<Top>,
    last_logits_file: String,
    /// Present for W8A8: the same forward with activation scale = absmax / 127 (vLLM's divisor).
    #[serde(default)]
    vllm_scale: Option<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    top20: Vec<Top>,
    last_logits_file: String,
    /// Largest rel err between this forward and itself with every activation scale nudged by 1e-7
    /// or 1e-6 relative.
    ulp_nudge_rel_diff: f32,
    /// Positions whose argmax every nudged forward kept.
    argmax_stable_positions: Vec<usize>,
    /// Argmax per position.
    argmax: Vec<u32>,
}

/// Inputs and outputs of single Linears captured in the python forward.
#[derive(Deserialize)]
struct Linears {
    file: String,
    index: Vec<LinearCase>,
}

#[derive(Deserialize)]
struct LinearCase {
    module: String,
    rows: usize,
    k: usize,
    n: usize,
    /// In f32 elements: x (rows × k), then y (rows × n).
    offset: usize,
}

#[derive(Deserialize)]
struct Fixture {
    scheme: String,
    sequences: Vec<Sequence>,
    decompressed_vs_qtool_dequantized: Decompressed,
    #[serde(default)]
    linears_vllm_scale: Option<Linears>,
}

#[derive(Deserialize)]
struct Decompressed {
    linears: usize,
    bit_equal_in_bf16: usize,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interop")
}

fn read_f32(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// max |a - b| / max |b|.
fn rel_err(ours: &[f32], reference: &[f32]) -> f32 {
    assert_eq!(ours.len(), reference.len());
    let scale = reference.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = ours.iter().zip(reference).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale
}

/// Worst rel err of the last-position logits and of the top-20 logits at every position.
fn compare(logits: &[f32], vocab: usize, last_file: &str, top20: &[Top]) -> (f32, f32) {
    let t = logits.len() / vocab;
    let reference = read_f32(&fixture_dir().join(last_file));
    let e_last = rel_err(&logits[(t - 1) * vocab..], &reference);
    let mut e_top = 0f32;
    for (pos, top) in top20.iter().enumerate() {
        let ours: Vec<f32> = top.ids.iter().map(|&i| logits[pos * vocab + i as usize]).collect();
        e_top = e_top.max(rel_err(&ours, &top.logits));
    }
    (e_last, e_top)
}

fn check(scheme_file: &str, flags: &[&str]) {
    let path = fixture_dir().join(format!("ct_{scheme_file}.json"));
    let fx: Fixture = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let d = &fx.decompressed_vs_qtool_dequantized;
    assert_eq!(d.bit_equal_in_bf16, d.linears, "{}: the fixture records mismatched decompressed weights", fx.scheme);

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ct");
    let src = smollm2_gguf();
    let mut args = vec!["quantize", "--model", src.to_str().unwrap(), "--format", "compressed-tensors"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let (ok, _, stderr) = qtool(&args);
    assert!(ok, "qtool {args:?}:\n{stderr}");

    if let Some(lin) = &fx.linears_vllm_scale {
        check_linears(&out, lin);
    }
    let ck = load_checkpoint(&out, None).expect("qtool loads its compressed-tensors folder");
    let model = Model::new(ck, kernels::cpu_backend()).unwrap();
    let vocab = model.config.vocab_size;
    for s in &fx.sequences {
        let mut cache = model.new_cache(1, s.ids.len());
        let logits = model.forward(&[SeqChunk { slot: 0, tokens: &s.ids }], &mut cache, LogitRows::All).unwrap();
        let (e_last, e_top) = compare(&logits, vocab, &s.last_logits_file, &s.top20);
        println!("{}/{}: vs transformers: last-logits rel err {e_last:.2e}, top-20 {e_top:.2e}", fx.scheme, s.name);
        let Some(v) = &s.vllm_scale else {
            assert!(e_last <= TOL && e_top <= TOL, "{}/{}: {e_last} / {e_top} > {TOL}", fx.scheme, s.name);
            continue;
        };
        let (v_last, v_top) = compare(&logits, vocab, &v.last_logits_file, &v.top20);
        let bound = TOL.max(2.0 * v.ulp_nudge_rel_diff);
        println!(
            "{}/{}: vs transformers with absmax/127 activations: last {v_last:.2e}, top-20 {v_top:.2e} \
             (python against itself with scales nudged by an ulp: {:.2e}; bound {bound:.2e})",
            fx.scheme, s.name, v.ulp_nudge_rel_diff
        );
        assert!(v_last <= bound && v_top <= bound, "{}/{}: {v_last} / {v_top} > {bound}", fx.scheme, s.name);
        for &pos in &v.argmax_stable_positions {
            let row = &logits[pos * vocab..(pos + 1) * vocab];
            let ours = (0..vocab).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap() as u32;
            assert_eq!(ours, v.argmax[pos], "{}/{}: argmax at position {pos}", fx.scheme, s.name);
        }
    }
}

/// Every captured Linear of the folder at `out`, run by qtool on the captured input, against the
/// captured output.
fn check_linears(out: &Path, lin: &Linears) {
    let data = read_f32(&fixture_dir().join(&lin.file));
    let mut ck = load_checkpoint(out, None).expect("qtool loads its compressed-tensors folder");
    let backend = kernels::cpu_backend();
    let mut worst = (0f32, String::new());
    for c in &lin.index {
        let x = &data[c.offset..c.offset + c.rows * c.k];
        let want = &data[c.offset + c.rows * c.k..c.offset + c.rows * (c.k + c.n)];
        let linear = Linear::take(&mut ck, &c.module, c.n, c.k, false).unwrap();
        assert!(linear.act.is_some(), "{}: no activation quantization loaded", c.module);
        let mut y = vec![0f32; c.rows * c.n];
        linear.forward(backend.as_ref(), x, c.rows, &mut y).unwrap();
        let e = rel_err(&y, want);
        assert!(e <= TOL, "{}: rel err {e} > {TOL} against transformers' output", c.module);
        if e >= worst.0 {
            worst = (e, c.module.clone());
        }
    }
    println!("w8a8: {} Linears fed transformers' inputs: worst rel err {:.2e} ({})", lin.index.len(), worst.0, worst.1);
}

#[test]
fn compressed_tensors_w4a16_logits_match_transformers() {
    check("w4a16-g64", &["--scheme", "w4a16", "--group-size", "64"]);
}

#[test]
fn compressed_tensors_w8a8_logits_match_transformers() {
    check("w8a8", &["--scheme", "w8a8"]);
}

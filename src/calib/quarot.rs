//! QuaRot's offline rotation (Ashkboos et al. 2024): turn an f32 model into one that computes the
//! same function with outlier-free activations, every rotation folded into the weights except
//! the online ones of [`model::rotation`]. With `Q = H_dᵀ·D` (`H_d` an orthonormal Hadamard
//! matrix of order d, `D` random ±1 signs from the seed; rows are row vectors, `x' = x·Q`):
//!
//! ```text
//! 1. untie lm_head from the embeddings (they are rotated differently)
//! 2. fold every RMSNorm weight g into the Linears that read it: W ← W·diag(g), g ← 1
//!    (q/k/v ← input_layernorm, gate/up ← post_attention_layernorm, lm_head ← norm)
//! 3. residual stream:  embed ← E·Q;  readers (q, k, v, gate, up, lm_head) W ← W·Q;
//!    writers (o_proj, down_proj) W ← Qᵀ·W   (rms_norm(x·Q) = rms_norm(x)·Q once g = 1)
//! 4. values per head: v_proj rows (and bias) of each head ← H_hd·(rows);
//!    o_proj columns of each head ← (columns)·H_hdᵀ, so attention outputs are rotated back
//! 5. down_proj ← down_proj·H_fᵀ, matched by the online u ← H_f·u before it
//! 6. queries and keys: online H_hd per head after RoPE (no weight change)
//! ```
//!
//! Every product is computed with the fast transform (`Backend::hadamard`, `x ← H·x` per row,
//! i.e. `X ← X·Hᵀ`): `W·Q` is the transform of W's rows then the signs on its columns, `Qᵀ·W` the
//! same on Wᵀ, and the per-head V rotation the transform of v_proj's transposed blocks. Every step
//! is exact in real arithmetic; in f32 the logits move by rounding only (a test
//! checks ≤ 1e-4 relative). Biases of q/k/v are outputs-side and unchanged by step 3.

use super::weights::{dense_f32 as dense, set_dense as set};
use anyhow::Context;
use kernels::hadamard::Hadamard;
use model::linear::Linear;
use model::linear_weight::LinearWeight;
use model::rotation::RotationPlan;
use model::weights::Tensor;
use model::Model;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Settings of the rotation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuarotOptions {
    /// Seed of the random signs of the residual rotation.
    pub seed: u64,
    /// Rotate the residual stream (steps 1–3); off for a KV-only QuaRot-KV run, which needs
    /// only steps 4 and 6.
    pub residual: bool,
    /// Rotate down_proj's input online (step 5).
    pub online_down: bool,
    /// Rotate queries and keys per head online (step 6; QuaRot-KV).
    pub rotate_qk: bool,
}

impl Default for QuarotOptions {
    fn default() -> QuarotOptions {
        QuarotOptions { seed: 0, residual: true, online_down: true, rotate_qk: true }
    }
}

/// The residual rotation: Hadamard of order d and the ±1 signs `D`.
pub struct ResidualRotation {
    /// `H_d`.
    pub h: Hadamard,
    /// `D`'s diagonal.
    pub signs: Vec<f32>,
}

impl ResidualRotation {
    /// For width `d` with signs drawn from `seed`.
    pub fn new(d: usize, seed: u64) -> anyhow::Result<ResidualRotation> {
        let h = Hadamard::new(d).with_context(|| format!("QuaRot: the residual width {d}"))?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let signs = (0..d).map(|_| if rng.random::<bool>() { -1.0 } else { 1.0 }).collect();
        Ok(ResidualRotation { h, signs })
    }

    /// `X[rows, d] ← X·Q = (X·Hᵀ)·D`.
    pub fn apply_rows(&self, x: &mut [f32]) -> anyhow::Result<()> {
        let d = self.signs.len();
        had_rows(x, x.len() / d, &self.h)?;
        for row in x.chunks_exact_mut(d) {
            row.iter_mut().zip(&self.signs).for_each(|(v, s)| *v *= s);
        }
        Ok(())
    }

    /// `Q` as a dense `[d, d]` matrix (tests).
    #[cfg(test)]
    pub fn matrix(&self) -> Vec<f32> {
        let d = self.signs.len();
        let h = self.h.matrix();
        (0..d * d).map(|ij| h[(ij % d) * d + ij / d] * self.signs[ij % d]).collect()
    }
}

/// `X[rows, n] ← X·Hᵀ` (each row `x ← H·x`) with the CPU kernel.
fn had_rows(x: &mut [f32], rows: usize, h: &Hadamard) -> anyhow::Result<()> {
    kernels::cpu_backend().hadamard(x, rows, h).context("Hadamard transform")
}

/// `[r, c]` row-major to `[c, r]`.
fn transpose(x: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut t = vec![0f32; r * c];
    for i in 0..r {
        for j in 0..c {
            t[j * r + i] = x[i * c + j];
        }
    }
    t
}

/// `W[n, k] ← W·diag(g)`.
fn fold_norm(l: &mut Linear, g: &[f32], what: &str) -> anyhow::Result<()> {
    let mut w = dense(&l.weight, what)?;
    for row in w.chunks_exact_mut(l.k) {
        row.iter_mut().zip(g).for_each(|(x, s)| *x *= s);
    }
    set(l, w);
    Ok(())
}

/// Rotates `model` in place (see the module docs) and switches on its online rotations.
pub fn rotate_model(model: &mut Model, o: &QuarotOptions) -> anyhow::Result<RotationPlan> {
    let c = model.config.clone();
    let (d, hd, f) = (c.hidden_size, c.head_dim, c.intermediate_size);
    let plan = RotationPlan { down_proj: o.online_down, qk_heads: o.rotate_qk };
    // Check every size first, so an unsupported one changes nothing.
    let q = o.residual.then(|| ResidualRotation::new(d, o.seed)).transpose()?;
    let h_hd = Hadamard::new(hd).with_context(|| format!("QuaRot: the head dim {hd}"))?;
    let h_f = match o.online_down {
        true => Some(Hadamard::new(f).with_context(|| format!("QuaRot: the intermediate size {f}"))?),
        false => None,
    };
    model.set_rotation(Some(plan))?;
    if let Some(q) = &q {
        rotate_residual(model, q)?;
    }
    for (i, l) in model.layers.iter_mut().enumerate() {
        let p = format!("model.layers.{i}");
        // 4. Values per head: W_v block ← H·block, i.e. the transform of Wᵀ's row blocks.
        let (kvd, dk) = (l.v_proj.n, l.v_proj.k);
        let mut vt = transpose(&dense(&l.v_proj.weight, &format!("{p}.v_proj"))?, kvd, dk);
        had_rows(&mut vt, dk * kvd / hd, &h_hd)?;
        set(&mut l.v_proj, transpose(&vt, dk, kvd));
        if let Some(b) = l.v_proj.bias.as_mut() {
            had_rows(b, kvd / hd, &h_hd)?;
        }
        // o_proj: each row's head blocks ← H·block (columns times Hᵀ).
        let mut w_o = dense(&l.o_proj.weight, &format!("{p}.o_proj"))?;
        let rows = w_o.len() / hd;
        had_rows(&mut w_o, rows, &h_hd)?;
        set(&mut l.o_proj, w_o);
        // 5. down_proj · H_fᵀ: the transform of its rows.
        if let Some(h_f) = &h_f {
            let mut w = dense(&l.down_proj.weight, &format!("{p}.down_proj"))?;
            had_rows(&mut w, d, h_f)?;
            set(&mut l.down_proj, w);
        }
    }
    Ok(plan)
}

/// Steps 1–3: untie, fold the norms, rotate the residual stream by `q`.
fn rotate_residual(model: &mut Model, q: &ResidualRotation) -> anyhow::Result<()> {
    let c = model.config.clone();
    let d = c.hidden_size;
    // 1. Untie.
    let mut embed = dense(&model.embed_tokens, "model.embed_tokens")?;
    if model.lm_head.is_none() {
        let w = LinearWeight::Dense(Tensor::from_f32(vec![c.vocab_size, d], embed.clone()));
        model.lm_head = Some(Linear::new(w, None));
        model.config.tie_word_embeddings = false;
    }
    // 3. Embeddings.
    q.apply_rows(&mut embed)?;
    model.embed_tokens = LinearWeight::Dense(Tensor::from_f32(vec![c.vocab_size, d], embed));
    let ones = vec![1f32; d];
    for (i, l) in model.layers.iter_mut().enumerate() {
        let p = format!("model.layers.{i}");
        // 2. Fold norms.
        for (lin, name) in [(&mut l.q_proj, "q_proj"), (&mut l.k_proj, "k_proj"), (&mut l.v_proj, "v_proj")] {
            fold_norm(lin, &l.input_layernorm, &format!("{p}.self_attn.{name}"))?;
        }
        for (lin, name) in [(&mut l.gate_proj, "gate_proj"), (&mut l.up_proj, "up_proj")] {
            fold_norm(lin, &l.post_attention_layernorm, &format!("{p}.mlp.{name}"))?;
        }
        l.input_layernorm = ones.clone();
        l.post_attention_layernorm = ones.clone();
        // 3. Readers W·Q, writers Qᵀ·W = (Wᵀ·Q)ᵀ.
        let readers = [
            (&mut l.q_proj, "q_proj"),
            (&mut l.k_proj, "k_proj"),
            (&mut l.v_proj, "v_proj"),
            (&mut l.gate_proj, "gate_proj"),
            (&mut l.up_proj, "up_proj"),
        ];
        for (lin, name) in readers {
            let mut w = dense(&lin.weight, &format!("{p}.{name}"))?;
            q.apply_rows(&mut w)?;
            set(lin, w);
        }
        for (lin, name) in [(&mut l.o_proj, "o_proj"), (&mut l.down_proj, "down_proj")] {
            let mut wt = transpose(&dense(&lin.weight, &format!("{p}.{name}"))?, d, lin.k);
            q.apply_rows(&mut wt)?;
            set(lin, transpose(&wt, lin.k, d));
        }
    }
    // 2 + 3 for lm_head.
    let lm = model.lm_head.as_mut().expect("untied above");
    fold_norm(lm, &model.norm, "lm_head")?;
    model.norm = ones;
    let mut w = dense(&lm.weight, "lm_head")?;
    q.apply_rows(&mut w)?;
    set(lm, w);
    Ok(())
}

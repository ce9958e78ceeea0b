//! QuaRot's online rotations (Ashkboos et al. 2024, "QuaRot: Outlier-Free 4-Bit Inference in
//! Rotated LLMs"): the parts of a rotated model that cannot be folded into weights and run at
//! inference time as fast Walsh–Hadamard transforms (`Backend::hadamard`), `x ← H·x` per row with
//! `H` orthonormal:
//!
//! ```text
//! down_proj   u = silu(gate) ⊙ up [T, f]      u ← H_f·u   (down_proj's weight holds W·H_fᵀ)
//! q/k heads   q [T·H, hd], k [T·Hkv, hd]      after RoPE, q ← H_hd·q, k ← H_hd·k per head
//!             (scores are unchanged: (Hq)·(Hk) = q·k; the cached keys are rotated, which is
//!             what QuaRot-KV quantizes)
//! ```
//!
//! The residual-stream rotation and the per-head V/O rotation are folded into the weights by
//! `qtool quantize --method quarot` and need nothing here. A checkpoint asks for these through
//! `quantization_config.rotation` (qtool fake-quant folders).

use crate::error::{ModelError, Result};
use kernels::hadamard::Hadamard;

/// Which online rotations a checkpoint needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RotationPlan {
    /// `u ← H_f·u` before down_proj.
    pub down_proj: bool,
    /// `q ← H_hd·q`, `k ← H_hd·k` per head after RoPE.
    pub qk_heads: bool,
}

/// The transforms, built once for the model's sizes.
pub struct OnlineRotation {
    /// Order f (intermediate size), when rotating down_proj's input.
    pub down: Option<Hadamard>,
    /// Order hd (head dim), when rotating queries and keys.
    pub qk: Option<Hadamard>,
}

impl OnlineRotation {
    /// The transforms `plan` asks for, for intermediate size `f` and head dim `hd`; an error
    /// names the size no Hadamard construction covers.
    pub fn new(plan: RotationPlan, f: usize, hd: usize) -> Result<OnlineRotation> {
        let build = |n: usize, what: &str| {
            Hadamard::new(n).map_err(|e| ModelError::Request(format!("online Hadamard for {what} ({n}): {e}")))
        };
        Ok(OnlineRotation {
            down: plan.down_proj.then(|| build(f, "down_proj's input")).transpose()?,
            qk: plan.qk_heads.then(|| build(hd, "query/key heads")).transpose()?,
        })
    }

    /// What this rotates.
    pub fn plan(&self) -> RotationPlan {
        RotationPlan { down_proj: self.down.is_some(), qk_heads: self.qk.is_some() }
    }
}

//! Rotary position embedding: the precomputed [`RopeTable`] every backend reads, and
//! `rope_ref`, the HF "rotate_half" convention (pairs `(i, i + head_dim/2)` in each head).

/// Frequencies and a `cos`/`sin` table for rotary embeddings of one head size.
///
/// `inv_freq[i]` (`i < head_dim/2`) is the angle per position of pair `i`; for plain RoPE it
/// is `theta^(-2i/head_dim)`. The table holds `cos(p · inv_freq[i])` and `sin(...)` for every
/// position `p < max_positions`, computed in `f64` and rounded to `f32` (HF computes the
/// angle in `f32`, which drifts by up to ~1e-3 rad at positions near 32k; ours does not).
/// Scaled variants (Llama 3 `rope_scaling`, YaRN) are built with [`RopeTable::from_inv_freq`].
#[derive(Clone, Debug)]
pub struct RopeTable {
    head_dim: usize,
    max_positions: usize,
    inv_freq: Vec<f64>,
    /// `cos[p * head_dim/2 + i]`
    cos: Vec<f32>,
    /// `sin[p * head_dim/2 + i]`
    sin: Vec<f32>,
}

impl RopeTable {
    /// Plain RoPE with base `theta` (`rope_theta` in HF `config.json`). `head_dim` must be
    /// even.
    pub fn new(head_dim: usize, max_positions: usize, theta: f64) -> Self {
        let inv_freq: Vec<f64> = (0..head_dim / 2).map(|i| theta.powf(-((2 * i) as f64) / head_dim as f64)).collect();
        Self::from_inv_freq(head_dim, max_positions, inv_freq)
    }

    /// A table from explicit frequencies (`head_dim/2` of them), for scaled RoPE variants.
    ///
    /// # Panics
    /// If `inv_freq.len() != head_dim / 2` or `head_dim` is odd.
    pub fn from_inv_freq(head_dim: usize, max_positions: usize, inv_freq: Vec<f64>) -> Self {
        assert!(head_dim.is_multiple_of(2), "RopeTable: head_dim {head_dim} is odd");
        assert_eq!(inv_freq.len(), head_dim / 2, "RopeTable: expected head_dim/2 frequencies");
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(max_positions * half);
        let mut sin = Vec::with_capacity(max_positions * half);
        for p in 0..max_positions {
            for &f in &inv_freq {
                let (s, c) = (p as f64 * f).sin_cos();
                cos.push(c as f32);
                sin.push(s as f32);
            }
        }
        RopeTable { head_dim, max_positions, inv_freq, cos, sin }
    }

    /// The head size this table was built for.
    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    /// The number of positions covered (`0..max_positions`).
    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// The `head_dim/2` frequencies.
    pub fn inv_freq(&self) -> &[f64] {
        &self.inv_freq
    }

    /// `cos(pos · inv_freq[i])` for `i < head_dim/2`.
    pub fn cos_row(&self, pos: usize) -> &[f32] {
        let half = self.head_dim / 2;
        &self.cos[pos * half..(pos + 1) * half]
    }

    /// `sin(pos · inv_freq[i])` for `i < head_dim/2`.
    pub fn sin_row(&self, pos: usize) -> &[f32] {
        let half = self.head_dim / 2;
        &self.sin[pos * half..(pos + 1) * half]
    }
}

/// Reference RoPE in place on `x[m, n_heads * head_dim]`: for row `r`, head `h` and `i <
/// head_dim/2`, with `a = positions[r] · inv_freq[i]` computed in `f64` (not read from the
/// `f32` table), `(x1, x2) = (x[i], x[i + head_dim/2])` becomes `(x1·cos a − x2·sin a,
/// x2·cos a + x1·sin a)`.
pub fn rope_ref(x: &mut [f32], m: usize, n_heads: usize, head_dim: usize, positions: &[usize], table: &RopeTable) {
    let half = head_dim / 2;
    for r in 0..m {
        for h in 0..n_heads {
            let head = &mut x[(r * n_heads + h) * head_dim..][..head_dim];
            for i in 0..half {
                let (s, c) = (positions[r] as f64 * table.inv_freq[i]).sin_cos();
                let x1 = f64::from(head[i]);
                let x2 = f64::from(head[i + half]);
                head[i] = (x1 * c - x2 * s) as f32;
                head[i + half] = (x2 * c + x1 * s) as f32;
            }
        }
    }
}

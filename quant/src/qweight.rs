//! `QuantizedWeight`: the one output every weight quantizer (RTN, GPTQ, AWQ) produces and every
//! packer reads. Struct of arrays, unpacked, validated on construction.
//!
//! For `W[n, k]` (n = out_features, k = in_features) with group size `g` (k when per-channel) and
//! `G = ceil(k / g)` groups per row (the last one shorter when `g` does not divide `k`):
//! - `codes`  `[n, k]` u8, stored (unsigned) codes `0..=2^b - 1`, row-major;
//! - `scales` `[n, G]` f32, each exactly a value of `scale_dtype` (what writers store: f16 for
//!   GPTQ, the model's dtype, usually bf16, for compressed-tensors), positive and finite;
//! - `zeros`  `[n, G]` u8 in code units, asymmetric formats only (symmetric: `2^(b-1)`);
//! - `g_idx`  `[k]` u32, the group of each input column, only with act-order; without it column
//!   `j` is in group `j / g` (a `g_idx` equal to that is dropped on construction).
//!
//! `W[r, j] ~= (codes[r, j] - zero[r, G_j]) * scales[r, G_j]`.

use crate::format::{ScaleDtype, WeightFormat};
use crate::QuantError;

/// A quantized Linear weight, unpacked.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedWeight {
    format: WeightFormat,
    scale_dtype: ScaleDtype,
    n: usize,
    k: usize,
    codes: Vec<u8>,
    scales: Vec<f32>,
    zeros: Option<Vec<u8>>,
    g_idx: Option<Vec<u32>>,
}

/// The parts of a [`QuantizedWeight`], for algorithms that build or take one apart.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedParts {
    /// The format the codes follow.
    pub format: WeightFormat,
    /// The dtype every scale is exactly representable in.
    pub scale_dtype: ScaleDtype,
    /// Output features (rows).
    pub n: usize,
    /// Input features (columns).
    pub k: usize,
    /// `[n, k]` stored codes.
    pub codes: Vec<u8>,
    /// `[n, n_groups]` scales.
    pub scales: Vec<f32>,
    /// `[n, n_groups]` zero points, `Some` exactly when the format is asymmetric.
    pub zeros: Option<Vec<u8>>,
    /// `[k]` group of each input column (act-order), or `None` for `j / group_size`.
    pub g_idx: Option<Vec<u32>>,
}

impl QuantizedWeight {
    /// Validates and wraps the parts: lengths match the shape, codes and zeros are within the
    /// format's range, zeros are present exactly when asymmetric, scales are positive, finite
    /// and exact in `scale_dtype`, and g_idx names existing groups.
    pub fn new(p: QuantizedParts) -> Result<QuantizedWeight, QuantError> {
        let bad = |what: String| Err(QuantError::BadQuantized { what });
        p.format.validate()?;
        let (n, k) = (p.n, p.k);
        if n == 0 || k == 0 {
            return bad(format!("shape [{n}, {k}] is empty"));
        }
        let n_groups = p.format.n_groups(k);
        let max = p.format.int().code_max();
        if p.codes.len() != n * k {
            return bad(format!("{} codes for shape [{n}, {k}]", p.codes.len()));
        }
        if let Some(i) = p.codes.iter().position(|&c| c > max) {
            return bad(format!("code {} at [{}, {}] exceeds {max}", p.codes[i], i / k, i % k));
        }
        if p.scales.len() != n * n_groups {
            return bad(format!("{} scales, expected [{n}, {n_groups}]", p.scales.len()));
        }
        if let Some(i) = p.scales.iter().position(|&s| !(s > 0.0 && p.scale_dtype.holds(s))) {
            return bad(format!(
                "scale {} at [{}, {}] is not a positive finite {} value",
                p.scales[i],
                i / n_groups,
                i % n_groups,
                p.scale_dtype.name()
            ));
        }
        match (&p.zeros, p.format.symmetric()) {
            (Some(_), true) => return bad("zero points given for a symmetric format".into()),
            (None, false) => return bad("asymmetric format without zero points".into()),
            (Some(z), false) => {
                if z.len() != n * n_groups {
                    return bad(format!("{} zero points, expected [{n}, {n_groups}]", z.len()));
                }
                if let Some(i) = z.iter().position(|&v| v > max) {
                    return bad(format!("zero point {} at [{}, {}] exceeds {max}", z[i], i / n_groups, i % n_groups));
                }
            }
            (None, true) => {}
        }
        if let Some(g) = &p.g_idx {
            if g.len() != k {
                return bad(format!("g_idx has {} entries, expected k = {k}", g.len()));
            }
            if let Some(j) = g.iter().position(|&v| v as usize >= n_groups) {
                return bad(format!("g_idx[{j}] = {} but there are {n_groups} groups", g[j]));
            }
        }
        // A g_idx that says what the default says is dropped, so each weight has one form.
        let g = p.format.group_size(k);
        let trivial = p.g_idx.as_ref().is_some_and(|x| x.iter().enumerate().all(|(j, &v)| v as usize == j / g));
        let QuantizedParts { format, scale_dtype, codes, scales, zeros, mut g_idx, .. } = p;
        if trivial {
            g_idx = None;
        }
        Ok(QuantizedWeight { format, scale_dtype, n, k, codes, scales, zeros, g_idx })
    }

    /// Gives the parts back.
    pub fn into_parts(self) -> QuantizedParts {
        let QuantizedWeight { format, scale_dtype, n, k, codes, scales, zeros, g_idx } = self;
        QuantizedParts { format, scale_dtype, n, k, codes, scales, zeros, g_idx }
    }

    /// The format.
    pub fn format(&self) -> &WeightFormat {
        &self.format
    }

    /// The dtype every scale is exact in.
    pub fn scale_dtype(&self) -> ScaleDtype {
        self.scale_dtype
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Group size (`k` when per-channel).
    pub fn group_size(&self) -> usize {
        self.format.group_size(self.k)
    }

    /// Groups per row, `ceil(k / group_size)`.
    pub fn n_groups(&self) -> usize {
        self.format.n_groups(self.k)
    }

    /// `[n, k]` stored codes.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// `[n, n_groups]` scales.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// `[n, n_groups]` zero points (asymmetric only).
    pub fn zeros(&self) -> Option<&[u8]> {
        self.zeros.as_deref()
    }

    /// `[k]` act-order group indices, if any.
    pub fn g_idx(&self) -> Option<&[u32]> {
        self.g_idx.as_deref()
    }

    /// The group input column `j` belongs to.
    #[inline]
    pub fn group_of(&self, j: usize) -> usize {
        match &self.g_idx {
            Some(g) => g[j] as usize,
            None => j / self.group_size(),
        }
    }

    /// The zero point of (row, group), implied `2^(b-1)` when symmetric.
    #[inline]
    pub fn zero(&self, row: usize, group: usize) -> u8 {
        match &self.zeros {
            Some(z) => z[row * self.n_groups() + group],
            None => self.format.int().offset(),
        }
    }

    /// `[n, k]` f32: every code times its scale, zero point subtracted.
    pub fn dequantize(&self) -> Vec<f32> {
        let (k, ng) = (self.k, self.n_groups());
        let groups: Vec<usize> = (0..k).map(|j| self.group_of(j)).collect();
        let mut out = Vec::with_capacity(self.n * k);
        for r in 0..self.n {
            for (j, &g) in groups.iter().enumerate() {
                let z = self.zero(r, g) as i32;
                out.push((self.codes[r * k + j] as i32 - z) as f32 * self.scales[r * ng + g]);
            }
        }
        out
    }
}

//! Act-order: GPTQ quantizes columns with the largest `diag(H)` (the most active inputs) first.
//! `perm[p]` is the input column at sweep position `p`; `invperm[j]` the position of column `j`.
//! Ties keep the natural order (a stable sort), so the order is deterministic.
//!
//! Groups are formed over sweep positions (`p / g`), so a GPTQ checkpoint stores, per input
//! column `j`, `g_idx[j] = invperm[j] / g` (the reference's `g_idx[invperm]`), and scales in the
//! order the sweep met the groups. With static groups they are natural-order groups and
//! `g_idx[j] = j / g`.

/// Positions by descending `diag`, ties in column order.
pub fn act_order_perm(diag: &[f64]) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..diag.len()).collect();
    perm.sort_by(|&a, &b| diag[b].total_cmp(&diag[a]));
    perm
}

/// `invperm[perm[p]] = p`.
pub fn invert(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (p, &j) in perm.iter().enumerate() {
        inv[j] = p;
    }
    inv
}

/// `H'[a, b] = H[perm[a], perm[b]]` for `H[k, k]` row-major.
pub fn permute_symmetric(h: &[f64], k: usize, perm: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(k * k);
    for &pa in perm {
        out.extend(perm.iter().map(|&pb| h[pa * k + pb]));
    }
    out
}

/// `W'[r, p] = W[r, perm[p]]` for `W[n, k]` row-major.
pub fn permute_columns(w: &[f64], k: usize, perm: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(w.len());
    for row in w.chunks(k) {
        out.extend(perm.iter().map(|&j| row[j]));
    }
    out
}

/// `g_idx[j] = invperm[j] / g`: the group each input column was quantized in.
pub fn act_order_g_idx(invperm: &[usize], g: usize) -> Vec<u32> {
    invperm.iter().map(|&p| (p / g) as u32).collect()
}

//! `attention_ref`: causal scaled-dot-product attention of `m` new queries over one layer's KV
//! cache ([`crate::kv::KvView`], f16 or int8/int4 codes), with grouped-query heads.

use crate::kv::KvView;

/// `q[m, n_heads, head_dim]` are the queries of the last `m` cached positions (query `i` sits
/// at position `len − m + i` and sees positions `0..=len − m + i`); query head `h` reads KV head
/// `h / (n_heads / n_kv_heads)`. `out[m, n_heads, head_dim] = softmax(q·Kᵀ / √head_dim) · V`,
/// K and V dequantized through [`crate::kv::KvTensor::value`], sums and exponentials in f64.
pub fn attention_ref(q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) {
    let (hd, len, kv_dim) = (kv.head_dim, kv.len, kv.kv_dim());
    let group = n_heads / kv.n_kv_heads;
    let scale = 1.0 / (hd as f64).sqrt();
    for i in 0..m {
        let last = len - m + i;
        for h in 0..n_heads {
            let c0 = (h / group) * hd;
            let qh = &q[(i * n_heads + h) * hd..][..hd];
            let scores: Vec<f64> = (0..=last)
                .map(|t| {
                    let dot: f64 = (0..hd)
                        .map(|d| f64::from(qh[d]) * f64::from(kv.k.value(t, c0 + d, kv_dim, kv.n_kv_heads)))
                        .sum();
                    dot * scale
                })
                .collect();
            let max = scores.iter().fold(f64::NEG_INFINITY, |a, &s| a.max(s));
            let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let sum: f64 = exps.iter().sum();
            let o = &mut out[(i * n_heads + h) * hd..][..hd];
            for (d, od) in o.iter_mut().enumerate() {
                let acc: f64 = exps
                    .iter()
                    .enumerate()
                    .map(|(t, e)| e * f64::from(kv.v.value(t, c0 + d, kv_dim, kv.n_kv_heads)))
                    .sum();
                *od = (acc / sum) as f32;
            }
        }
    }
}

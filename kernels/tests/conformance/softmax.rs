//! Softmax conformance against `softmax_ref`, with masked (`-inf`) entries and large logits.

use crate::util::{check, seed, Rng};
use kernels::ops::softmax_ref;
use kernels::{Backend, KernelError};

pub fn sweep(be: &dyn Backend) {
    for &n in &[1usize, 2, 7, 64, 131, 1000, 4099] {
        for &m in &[1usize, 3, 17, 64] {
            let mut rng = Rng::new(seed(&[m, n]));
            let mut x = rng.vec(m * n, -30.0, 30.0);
            // Causal-style masking: row r keeps at least its first entry.
            for r in 0..m {
                for v in &mut x[r * n + 1 + rng.below(n)..(r + 1) * n] {
                    *v = f32::NEG_INFINITY;
                }
            }
            let mut want = x.clone();
            softmax_ref(&mut want, m, n);
            let mut got = x;
            be.softmax(&mut got, m, n).unwrap();
            check(&format!("{} softmax m={m} n={n}", be.name()), &got, &want, 1e-12);
            for r in 0..m {
                let s: f32 = got[r * n..(r + 1) * n].iter().sum();
                assert!((s - 1.0).abs() < 1e-4, "{} softmax row {r} sums to {s}", be.name());
            }
        }
    }
    let r = be.softmax(&mut [0.0; 5], 2, 3);
    assert!(matches!(r, Err(KernelError::Shape { op: "softmax", .. })), "{r:?}");
}

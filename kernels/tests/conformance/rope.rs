//! RoPE conformance against `rope_ref` (which computes angles in `f64`), for Qwen- and
//! Llama-like head sizes and bases, plus a hand-checked rotation and shape errors.

use crate::util::{check, seed, Rng};
use kernels::ops::{rope_ref, RopeTable};
use kernels::{Backend, KernelError};

pub fn sweep(be: &dyn Backend) {
    let cases: [(usize, usize, usize, f64); 5] = [
        (1, 1, 2, 10_000.0),
        (3, 14, 64, 1_000_000.0),
        (17, 2, 128, 500_000.0),
        (64, 12, 64, 1_000_000.0),
        (8, 3, 6, 10_000.0),
    ];
    for (m, n_heads, head_dim, theta) in cases {
        let table = RopeTable::new(head_dim, 8192, theta);
        let mut rng = Rng::new(seed(&[m, n_heads, head_dim]));
        let x = rng.vec(m * n_heads * head_dim, -2.0, 2.0);
        let positions: Vec<usize> = (0..m).map(|_| rng.below(8192)).collect();
        let mut want = x.clone();
        rope_ref(&mut want, m, n_heads, head_dim, &positions, &table);
        let mut got = x;
        be.rope(&mut got, m, n_heads, head_dim, &positions, &table).unwrap();
        let case = format!("{} rope m={m} heads={n_heads} head_dim={head_dim}", be.name());
        check(&case, &got, &want, 1e-12);
    }
    // head_dim 4, position 1, theta 1: pair 0 turns by 1 rad, pair 1 by 1 rad · 1^(-1/2) = 1.
    let table = RopeTable::new(4, 2, 1.0);
    let mut x = [1.0f32, 0.0, 0.0, 1.0];
    be.rope(&mut x, 1, 1, 4, &[1], &table).unwrap();
    let (s, c) = 1f32.sin_cos();
    let want = [c, -s, s, c];
    for (g, w) in x.iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{} rope by hand: {x:?} vs {want:?}", be.name());
    }
    let r = be.rope(&mut [0.0; 8], 2, 1, 4, &[0, 2], &table);
    assert!(matches!(r, Err(KernelError::Shape { op: "rope", .. })), "{r:?}");
    let r = be.rope(&mut [0.0; 8], 1, 1, 8, &[0], &table);
    assert!(matches!(r, Err(KernelError::Shape { op: "rope", .. })), "{r:?}");
}

//! SwiGLU gate conformance against `silu_mul_ref`, including large |gate| (exp overflow).

use crate::util::{check, seed, Rng};
use kernels::ops::silu_mul_ref;
use kernels::{Backend, KernelError};

pub fn sweep(be: &dyn Backend) {
    for &len in &[0usize, 1, 7, 8, 1000, 8960, 17 * 8960] {
        let mut rng = Rng::new(seed(&[len]));
        let mut gate = rng.vec(len, -8.0, 8.0);
        if len > 4 {
            gate[..4].copy_from_slice(&[-100.0, 100.0, -1e30, 0.0]);
        }
        let up = rng.vec(len, -2.0, 2.0);
        let mut want = vec![0f32; len];
        silu_mul_ref(&gate, &up, &mut want);
        let mut got = vec![f32::NAN; len];
        be.silu_mul(&gate, &up, &mut got).unwrap();
        check(&format!("{} silu_mul len={len}", be.name()), &got, &want, 1e-12);
    }
    let r = be.silu_mul(&[0.0; 4], &[0.0; 3], &mut [0.0; 4]);
    assert!(matches!(r, Err(KernelError::Shape { op: "silu_mul", .. })), "{r:?}");
}

//! RMSNorm conformance against `rms_norm_ref`.

use crate::util::{check, seed, Rng};
use kernels::ops::rms_norm_ref;
use kernels::{Backend, KernelError};

pub fn sweep(be: &dyn Backend) {
    for &d in &[1usize, 7, 64, 97, 576, 1536, 8960] {
        for &m in &[1usize, 2, 3, 17, 64] {
            let mut rng = Rng::new(seed(&[m, d]));
            let x = rng.vec(m * d, -3.0, 3.0);
            let weight = rng.vec(d, 0.5, 1.5);
            let mut want = vec![0f32; m * d];
            rms_norm_ref(&x, m, d, &weight, 1e-6, &mut want);
            let mut got = vec![f32::NAN; m * d];
            be.rms_norm(&x, m, d, &weight, 1e-6, &mut got).unwrap();
            check(&format!("{} rms_norm m={m} d={d}", be.name()), &got, &want, 1e-12);
        }
    }
    // A zero row must give zeros (eps keeps it finite).
    let mut out = vec![f32::NAN; 8];
    be.rms_norm(&[0.0; 8], 1, 8, &[1.0; 8], 1e-6, &mut out).unwrap();
    assert_eq!(out, vec![0.0; 8], "{} rms_norm of zeros", be.name());
    let r = be.rms_norm(&[0.0; 8], 2, 4, &[1.0; 3], 1e-6, &mut [0.0; 8]);
    assert!(matches!(r, Err(KernelError::Shape { op: "rms_norm", .. })), "{r:?}");
}

//! `add` conformance against `add_ref` (exact: one rounding per element either way).

use crate::util::{seed, Rng};
use kernels::ops::add_ref;
use kernels::{Backend, KernelError};

pub fn sweep(be: &dyn Backend) {
    for &len in &[0usize, 1, 9, 1536, 64 * 1536] {
        let mut rng = Rng::new(seed(&[len]));
        let x = rng.vec(len, -5.0, 5.0);
        let y = rng.vec(len, -5.0, 5.0);
        let mut want = x.clone();
        add_ref(&mut want, &y);
        let mut got = x;
        be.add(&mut got, &y).unwrap();
        let first = got.iter().zip(&want).position(|(a, b)| a.to_bits() != b.to_bits());
        assert!(first.is_none(), "{} add len={len}: differs at {first:?}", be.name());
    }
    let r = be.add(&mut [0.0; 3], &[0.0; 2]);
    assert!(matches!(r, Err(KernelError::Shape { op: "add", .. })), "{r:?}");
}

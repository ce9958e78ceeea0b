//! Hadamard rotation conformance against `hadamard_ref` (dense, O(n²) per row: its outputs
//! are computed once per case and shared by every backend's test in this binary).

use crate::util::{check, seed, Rng};
use kernels::ops::hadamard_ref;
use kernels::{Backend, Hadamard, KernelError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Orders: plain powers of two, Paley II (36, 28) and Paley I (12, 140) bases, with and without
/// a power-of-two part; 12 has none, 28 · 4 a small one.
const ORDERS: [usize; 6] = [64, 576, 1536, 8960, 12, 28 * 4];
const ROWS: [usize; 4] = [1, 2, 3, 17];

type Case = (Vec<f32>, Vec<f32>);
/// One case, computed by whichever test asks first (the others wait for it).
type Slot = Arc<OnceLock<Arc<Case>>>;

/// `(x, hadamard_ref(x))` for `x[rows, n]` with seeded uniform values in [-3, 3).
fn case(n: usize, rows: usize) -> Arc<Case> {
    static CACHE: OnceLock<Mutex<HashMap<(usize, usize), Slot>>> = OnceLock::new();
    let slot = CACHE.get_or_init(Default::default).lock().unwrap().entry((n, rows)).or_default().clone();
    slot.get_or_init(|| {
        let x = Rng::new(seed(&[0x4ada, n, rows])).vec(rows * n, -3.0, 3.0);
        let mut want = x.clone();
        hadamard_ref(&mut want, rows, &Hadamard::new(n).unwrap());
        Arc::new((x, want))
    })
    .clone()
}

pub fn sweep(be: &dyn Backend) {
    let mut worst = 0f64;
    for n in ORDERS {
        let h = Hadamard::new(n).unwrap();
        for rows in ROWS {
            let c = case(n, rows);
            let (x, want) = (&c.0, &c.1);
            let mut got = x.clone();
            be.hadamard(&mut got, rows, &h).unwrap();
            let m = h.base_order();
            worst = worst.max(check(&format!("{} hadamard n={n} (m={m}) rows={rows}", be.name()), &got, want, 1e-12));
        }
    }
    eprintln!("{} hadamard: worst nmse {worst:.2e}", be.name());
    // No rows: nothing to do.
    be.hadamard(&mut [], 0, &Hadamard::new(64).unwrap()).unwrap();
    let r = be.hadamard(&mut [0.0; 100], 2, &Hadamard::new(64).unwrap());
    match r {
        Err(KernelError::Shape { op: "hadamard", what }) => assert!(what.contains("128"), "{what}"),
        other => panic!("{} hadamard with 100 values for [2, 64]: {other:?}", be.name()),
    }
}

//! CPU matmul `y[m, n] = x[m, k] · W[n, k]ᵀ`: the variants side by side, selected by
//! [`MatmulVariant`], all built on the microkernel in [`tile`] and therefore bit-identical to
//! each other for the same [`Isa`] (see `tile`'s header).

pub mod streams;
pub mod tile;
pub mod v1_rows;
pub mod v2_tiled;
pub mod v3_panel;

use crate::backend::DenseWeight;
use crate::cpu::simd::{Isa, WeightElem};

/// Which CPU matmul implementation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MatmulVariant {
    /// One output at a time, one x row at a time; rayon over W rows. W is streamed once per
    /// x row. The baseline.
    V1Rows,
    /// Register tiles (1×4 or 1×8 for `m = 1`, 3×4 otherwise) over cache-sized blocks of W
    /// rows, whose rows are read as a few long sequential streams; rayon over W blocks, each
    /// block reused for every x row while it sits in L2.
    V2Tiled,
    /// v2's tiles for prefill over a per-thread `f32` panel of each W block (widened once),
    /// with the next block prefetched during the sweeps; `f32` W, `m < 32` and `k > 3072` run
    /// v2.
    #[default]
    V3Panel,
}

impl MatmulVariant {
    /// Every variant, oldest first.
    pub const ALL: [MatmulVariant; 3] = [MatmulVariant::V1Rows, MatmulVariant::V2Tiled, MatmulVariant::V3Panel];

    /// A short name: `v1`, `v2`, `v3`.
    pub fn name(self) -> &'static str {
        match self {
            MatmulVariant::V1Rows => "v1",
            MatmulVariant::V2Tiled => "v2",
            MatmulVariant::V3Panel => "v3",
        }
    }
}

/// Runs `variant` on already-validated shapes; `isa` must be available.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    variant: MatmulVariant,
    isa: Isa,
    x: &[f32],
    m: usize,
    k: usize,
    w: DenseWeight<'_>,
    n: usize,
    y: &mut [f32],
) {
    #[allow(clippy::too_many_arguments)]
    fn go<W: WeightElem>(
        variant: MatmulVariant,
        isa: Isa,
        x: &[f32],
        m: usize,
        k: usize,
        w: &[W],
        n: usize,
        y: &mut [f32],
    ) {
        match variant {
            MatmulVariant::V1Rows => v1_rows::matmul(isa, x, m, k, w, n, y),
            MatmulVariant::V2Tiled => v2_tiled::matmul(isa, x, m, k, w, n, y),
            MatmulVariant::V3Panel => v3_panel::matmul(isa, x, m, k, w, n, y),
        }
    }
    match w {
        DenseWeight::F32(w) => go(variant, isa, x, m, k, w, n, y),
        DenseWeight::BF16(w) => go(variant, isa, x, m, k, w, n, y),
        DenseWeight::F16(w) => go(variant, isa, x, m, k, w, n, y),
    }
}

/// A raw output pointer shared by rayon tasks that write disjoint elements.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(*mut f32);

// SAFETY: tasks holding a SyncPtr write disjoint elements (each variant documents how), and
// the buffer outlives the parallel region.
unsafe impl Send for SyncPtr {}
// SAFETY: as above.
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    pub(crate) fn new(y: &mut [f32]) -> Self {
        SyncPtr(y.as_mut_ptr())
    }
    /// Wraps a pointer into a buffer whose disjoint parts rayon tasks write.
    pub(crate) fn new_raw(p: *mut f32) -> Self {
        SyncPtr(p)
    }
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

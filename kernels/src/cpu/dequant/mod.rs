//! CPU matmul over quantized weights, dequantized in the loop: `y[m, n] = x[m, k] ·
//! dequant(W)[n, k]ᵀ` for qtool's packed layout ([`packed`]) and GGML blocks ([`gguf`]). The
//! int8-activation paths of `cpu-q8` have drivers of their own: [`packed_q8`] (with
//! `packed_q8_codes`, `packed_q8_vnni`, and `packed_q8_act` for act-order) for int2/3/4/8
//! packed weights, [`gguf_q8`] (with `gguf_q8_tile`, `gguf_q8_heads`, `gguf_q8_height`,
//! `gguf_q8_32`, `gguf_q8_k`, `gguf_q8_zmm`) for GGML blocks.
//!
//! A row decoder ([`RowDecoder`]) turns a span of a packed row into `f32` lanes, eight values
//! at a time, in order. One driver serves every format: rayon splits the `n` rows of W into
//! tasks of consecutive rows, and a task runs one of two paths:
//! - `m ≤` [`SPAN_MAX_M`] (decode): rows go in groups of `R` (8 for `m = 1`, else 4); spans of
//!   [`SPAN`] values of the `R` rows are decoded into a small L1 buffer and at once multiplied
//!   into `m × R` register accumulators, chunk by chunk across the rows, so that `R`
//!   independent multiply-add chains hide the FMA latency (one row at a time would wait on it);
//! - larger `m` (prefill): the task's rows are decoded, a few at a time, into a per-thread `f32`
//!   panel of about [`PANEL_BYTES`], which the dense matmul's `3×4` register tiles then sweep
//!   for every group of x rows, so each row is decoded once and reused by all `m` rows.
//!
//! Both paths add, per output, exactly as the dense tile microkernel does (eight lane
//! accumulators over the chunks in order, fused on AVX2; `hsum` in its fixed order; then the
//! `k mod 8` leftovers one by one), and the decoders produce exactly the scalar references'
//! values, so results do not depend on `m`, the path or the thread count, and equal the dense
//! `f32` matmul of the dequantized weight bit for bit on the same [`Isa`].

mod blocks_32;
mod blocks_k;
pub mod gguf;
pub mod gguf_q8;
#[cfg(target_arch = "x86_64")]
mod gguf_q8_32;
#[cfg(target_arch = "x86_64")]
mod gguf_q8_heads;
#[cfg(target_arch = "x86_64")]
mod gguf_q8_height;
#[cfg(target_arch = "x86_64")]
mod gguf_q8_k;
#[cfg(target_arch = "x86_64")]
mod gguf_q8_tile;
#[cfg(target_arch = "x86_64")]
mod gguf_q8_zmm;
mod lanes;
pub mod packed;
pub mod packed_q8;
pub(crate) mod packed_q8_act;
#[cfg(target_arch = "x86_64")]
mod packed_q8_codes;
pub(crate) mod packed_q8_vnni;

use crate::cpu::matmul::tile::{tile_dyn, Prefetch, TileArgs};
use crate::cpu::matmul::v2_tiled::{MR, NR};
use crate::cpu::matmul::SyncPtr;
use crate::cpu::simd::{self, Isa, Lanes, LanesFn};
use rayon::prelude::*;
use std::cell::RefCell;

/// Largest `m` that runs the span path.
pub const SPAN_MAX_M: usize = 4;
/// Values per span of the span path (a multiple of every GGML block size).
pub const SPAN: usize = 256;
/// Target bytes of one decoded `f32` panel: L1-sized, so the tiles re-read it from L1 while
/// the x rows come from L2 (one thread, Q4_1/Q8_0 1536×576: m = 8 from 23 to 28–32 Gw/s,
/// m = 64 from 36 to 46 Gw/s against 128 KiB panels).
pub const PANEL_BYTES: usize = 32 * 1024;
/// Rows per task are a multiple of this.
const ROW_QUANTUM: usize = 8;
/// Tasks per thread to aim for, so that uneven tasks still balance.
const TASKS_PER_THREAD: usize = 4;

thread_local! {
    /// Each thread's panel, reused across calls.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Decodes rows of a quantized `W[n, k]`. Implementations are `#[inline(always)]` so that
/// they compile for the instruction set of the kernel that calls them.
pub(crate) trait RowDecoder: Sync {
    /// Hands row `r`'s values `start .. end` to `sink(offset, lanes)`, eight at a time, in order
    /// of `offset`. `start` is a multiple of [`SPAN`] and `end` is `start + SPAN` or `k / 8 * 8`.
    ///
    /// # Safety
    /// `V`'s instruction set must be present.
    unsafe fn chunks<V: Lanes>(&self, r: usize, start: usize, end: usize, sink: &mut impl FnMut(usize, V));

    /// Writes row `r`'s last `k mod 8` values into `out` (nothing when `k` is a multiple of 8).
    fn tail(&self, r: usize, out: &mut [f32]);
}

/// One GGML block type: `BS` values from `TS` bytes.
pub(crate) trait BlockKind {
    /// Values per block.
    const BS: usize;
    /// Bytes per block.
    const TS: usize;
    /// Hands the block's values (`b` is `TS` bytes) to `sink(base + offset, lanes)` in order.
    ///
    /// # Safety
    /// `V`'s instruction set must be present.
    unsafe fn decode<V: Lanes>(b: &[u8], base: usize, sink: &mut impl FnMut(usize, V));
}

/// One task: outputs `y[0..m, j0..j0 + rows]`.
struct Task<'a, D> {
    dec: &'a D,
    x: &'a [f32],
    m: usize,
    k: usize,
    j0: usize,
    rows: usize,
    /// Rows per panel (prefill path).
    pr: usize,
    panel: &'a mut [f32],
    /// `y` at column `j0` of row 0; row stride `ldy`.
    y: SyncPtr,
    ldy: usize,
}

impl<D: RowDecoder> Task<'_, D> {
    /// Decode path: `M = m` x rows, `R` W rows at a time.
    #[inline(always)]
    unsafe fn spans<V: Lanes, const M: usize, const R: usize>(&self) {
        let Task { dec, x, k, j0, rows, y, ldy, .. } = *self;
        assert!(x.len() >= M * k);
        let k8 = k / 8 * 8;
        let mut buf = [[0f32; SPAN]; R];
        let mut tail = [[0f32; 8]; R];
        let mut jr = 0;
        while jr < rows {
            let nr = R.min(rows - jr);
            // SAFETY (whole block): V's instruction set is present; sink offsets o satisfy
            // start <= o < end <= k8, so buffer stores stay in the span and x loads in row
            // i < M; y's columns jr.. < rows belong to this task.
            unsafe {
                let mut acc = [[V::zero(); R]; M];
                let mut start = 0;
                while start < k8 {
                    let end = (start + SPAN).min(k8);
                    for (r, b) in buf.iter_mut().enumerate().take(nr) {
                        let p = b.as_mut_ptr();
                        dec.chunks::<V>(j0 + jr + r, start, end, &mut |o, w: V| w.store(p.add(o - start)));
                    }
                    for c in (0..end - start).step_by(8) {
                        let xv: [V; M] = std::array::from_fn(|i| V::load(x.as_ptr().add(i * k + start + c)));
                        for (r, b) in buf.iter().enumerate() {
                            let wv = V::load(b.as_ptr().add(c));
                            for (a, xi) in acc.iter_mut().zip(&xv) {
                                a[r] = a[r].mul_add(*xi, wv);
                            }
                        }
                    }
                    start = end;
                }
                for (r, t) in tail.iter_mut().enumerate().take(nr) {
                    dec.tail(j0 + jr + r, &mut t[..k - k8]);
                }
                for (i, a) in acc.iter().enumerate() {
                    for r in 0..nr {
                        let mut s = a[r].hsum();
                        for (kk, &t) in (k8..k).zip(&tail[r]) {
                            s += x[i * k + kk] * t;
                        }
                        *y.get().add(i * ldy + jr + r) = s;
                    }
                }
            }
            jr += nr;
        }
    }

    /// Prefill path: decode a panel of rows, sweep it with register tiles.
    #[inline(always)]
    unsafe fn panelled<V: Lanes>(self) {
        let Task { dec, x, m, k, j0, rows, pr, panel, y, ldy } = self;
        assert!(x.len() >= m * k && panel.len() >= pr * k);
        let k8 = k / 8 * 8;
        let mut jb = 0;
        while jb < rows {
            let pn = pr.min(rows - jb);
            for (r, out) in panel[..pn * k].chunks_exact_mut(k).enumerate() {
                let p = out.as_mut_ptr();
                // SAFETY: V's instruction set is present; sink offsets are < k8 <= k.
                unsafe { dec.chunks::<V>(j0 + jb + r, 0, k8, &mut |o, w: V| w.store(p.add(o))) };
                dec.tail(j0 + jb + r, &mut out[k8..]);
            }
            let mut i = 0;
            while i < m {
                let mr = MR.min(m - i);
                let mut j = 0;
                while j < pn {
                    let nr = NR.min(pn - j);
                    // SAFETY: rows i..i + mr < m of x and rows j..j + nr < pn of the panel
                    // (asserted lengths); y's columns jb + j.. < rows belong to this task.
                    unsafe {
                        let t = TileArgs {
                            x: x.as_ptr().add(i * k),
                            ldx: k,
                            w: panel.as_ptr().add(j * k),
                            ldw: k,
                            k,
                            y: y.get().add(i * ldy + jb + j),
                            ldy,
                            ldyj: 1,
                            prefetch: Prefetch::None,
                        };
                        tile_dyn::<V, f32>(mr, nr, &t);
                    }
                    j += nr;
                }
                i += mr;
            }
            jb += pn;
        }
    }
}

impl<D: RowDecoder> LanesFn for Task<'_, D> {
    #[inline(always)]
    unsafe fn call<V: Lanes>(self) {
        // SAFETY: `simd::run` runs this with V's instruction set.
        unsafe {
            match self.m {
                1 => self.spans::<V, 1, 8>(),
                2 => self.spans::<V, 2, 4>(),
                3 => self.spans::<V, 3, 4>(),
                4 => self.spans::<V, 4, 4>(),
                _ => self.panelled::<V>(),
            }
        }
    }
}

/// Rows per panel for rows of `k` values: about [`PANEL_BYTES`], at least one register tile.
pub fn panel_rows(k: usize) -> usize {
    (PANEL_BYTES / (4 * k.max(1))).max(ROW_QUANTUM) / ROW_QUANTUM * ROW_QUANTUM
}

/// Runs the driver on validated shapes (`x[m, k]`, `y[m, n]`); `isa` must be available.
pub(crate) fn matmul<D: RowDecoder>(isa: Isa, dec: &D, x: &[f32], m: usize, k: usize, n: usize, y: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        y.fill(0.0);
        return;
    }
    let threads = rayon::current_num_threads().max(1);
    let pr = panel_rows(k);
    let per_task = n.div_ceil(threads * TASKS_PER_THREAD).div_ceil(ROW_QUANTUM) * ROW_QUANTUM;
    let per_task = per_task.clamp(ROW_QUANTUM, 4 * pr);
    let yp = SyncPtr::new(y);
    (0..n.div_ceil(per_task)).into_par_iter().for_each(|t| {
        let j0 = t * per_task;
        let rows = per_task.min(n - j0);
        let pr = if m <= SPAN_MAX_M { 0 } else { pr.min(rows) };
        PANEL.with_borrow_mut(|panel| {
            if panel.len() < pr * k {
                panel.resize(pr * k, 0.0);
            }
            let task = Task {
                dec,
                x,
                m,
                k,
                j0,
                rows,
                pr,
                panel: &mut panel[..pr * k],
                // SAFETY: j0 < n, so the offset is inside y; task t alone writes columns
                // j0..j0 + rows of every row.
                y: SyncPtr::new_raw(unsafe { yp.get().add(j0) }),
                ldy: n,
            };
            // SAFETY: the caller checked that `isa` is available.
            unsafe { simd::run(isa, task) };
        });
    });
}

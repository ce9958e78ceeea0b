//! The block driver of the encoders: `values` split into blocks of `BS` elements, each encoded
//! into `TS` bytes, in parallel over runs of blocks. A block's bytes depend on that block only.

use rayon::prelude::*;

/// Roughly how many input elements one rayon task encodes.
const ELEMENTS_PER_TASK: usize = 1 << 15;

/// Calls `encode(block_values, block_bytes)` for every block; the caller has checked that
/// `values.len()` is a multiple of `BS`.
pub fn encode_blocks<const BS: usize, const TS: usize, F>(values: &[f32], encode: F) -> Vec<u8>
where
    F: Fn(&[f32; BS], &mut [u8; TS]) + Sync,
{
    debug_assert_eq!(values.len() % BS, 0);
    let mut out = vec![0u8; values.len() / BS * TS];
    let per_task = (ELEMENTS_PER_TASK / BS).max(1);
    out.par_chunks_mut(TS * per_task).zip(values.par_chunks(BS * per_task)).for_each(|(o, v)| {
        for (ob, vb) in o.chunks_exact_mut(TS).zip(v.chunks_exact(BS)) {
            encode(vb.try_into().expect("BS-element chunk"), ob.try_into().expect("TS-byte chunk"));
        }
    });
    out
}

//! The block driver shared by every dequantizer: splits a tensor into runs of whole blocks and
//! decodes the runs in parallel with rayon. Each output element depends only on its own block,
//! so the result does not depend on how the work is split or scheduled.

use rayon::prelude::*;

/// Roughly how many output elements one rayon task decodes.
const ELEMENTS_PER_TASK: usize = 1 << 16;

/// Calls `decode(block_bytes, block_out)` for every block. `BS` is elements per block, `TS` bytes
/// per block; the caller has checked that `bytes.len() / TS == out.len() / BS` exactly.
pub fn for_each_block<const BS: usize, const TS: usize, F>(bytes: &[u8], out: &mut [f32], decode: F)
where
    F: Fn(&[u8; TS], &mut [f32; BS]) + Sync,
{
    debug_assert_eq!(bytes.len() % TS, 0);
    debug_assert_eq!(bytes.len() / TS * BS, out.len());
    let per_task = (ELEMENTS_PER_TASK / BS).max(1);
    out.par_chunks_mut(BS * per_task).zip(bytes.par_chunks(TS * per_task)).for_each(|(o, b)| {
        for (ob, bb) in o.chunks_exact_mut(BS).zip(b.chunks_exact(TS)) {
            decode(bb.try_into().expect("TS-byte chunk"), ob.try_into().expect("BS-element chunk"));
        }
    });
}

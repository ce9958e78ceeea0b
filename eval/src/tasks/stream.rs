//! The random stream of an item: a hash of its id, so that an item's samples depend only on
//! (seed, item id), not on its position, the batch it shares or the other tasks of the run.

/// FNV-1a 64 of the item id: the sampler's stream for that item.
pub fn item_stream(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

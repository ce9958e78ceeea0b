//! Key/value cache: per layer and slot (one slot per sequence in flight) the K and V rows of
//! the positions written so far, `[position][kv_heads * head_dim]`. Memory grows on demand with
//! the tokens actually cached (amortized doubling), up to `max_seq` positions per slot; a
//! cleared slot keeps its memory for the next sequence. So a runner may promise a context of
//! 32768 tokens per slot and pay only for what its sequences use.

/// K/V storage for `n_slots` sequences of up to `max_seq` tokens.
pub struct KvCache {
    n_layers: usize,
    n_slots: usize,
    max_seq: usize,
    kv_dim: usize,
    /// `[layer * n_slots + slot]` → `[len, kv_dim]` rows.
    k: Vec<Vec<f32>>,
    /// Like `k`.
    v: Vec<Vec<f32>>,
    lens: Vec<usize>,
}

impl KvCache {
    /// An empty cache; nothing is allocated until positions are written.
    pub fn new(n_layers: usize, n_slots: usize, max_seq: usize, kv_dim: usize) -> Self {
        let n = n_layers * n_slots;
        KvCache {
            n_layers,
            n_slots,
            max_seq,
            kv_dim,
            k: vec![Vec::new(); n],
            v: vec![Vec::new(); n],
            lens: vec![0; n_slots],
        }
    }

    /// Tokens a slot can hold.
    pub fn max_seq(&self) -> usize {
        self.max_seq
    }
    /// Number of slots.
    pub fn n_slots(&self) -> usize {
        self.n_slots
    }
    /// Tokens cached for `slot`.
    pub fn len(&self, slot: usize) -> usize {
        self.lens[slot]
    }
    /// Whether `slot` holds no tokens.
    pub fn is_empty(&self, slot: usize) -> bool {
        self.lens[slot] == 0
    }
    /// Forgets a slot's tokens so a new sequence can use it (its memory is kept for reuse).
    pub fn clear(&mut self, slot: usize) {
        self.lens[slot] = 0;
        for layer in 0..self.n_layers {
            let i = self.index(layer, slot);
            self.k[i].clear();
            self.v[i].clear();
        }
    }
    /// Records that `n` more tokens were written to `slot` (after all layers wrote them).
    pub fn advance(&mut self, slot: usize, n: usize) {
        self.lens[slot] += n;
        debug_assert!(self.lens[slot] <= self.max_seq);
    }

    /// Bytes of K/V memory held (allocated capacity), for reports.
    pub fn bytes_allocated(&self) -> usize {
        self.k.iter().chain(&self.v).map(|b| b.capacity() * 4).sum()
    }

    fn index(&self, layer: usize, slot: usize) -> usize {
        debug_assert!(layer < self.n_layers && slot < self.n_slots);
        layer * self.n_slots + slot
    }

    /// Writes K and V rows for position `pos` (`< max_seq`) of `slot` in `layer`.
    pub fn write(&mut self, layer: usize, slot: usize, pos: usize, k: &[f32], v: &[f32]) {
        debug_assert!(pos < self.max_seq);
        let (i, d) = (self.index(layer, slot), self.kv_dim);
        let o = pos * d;
        for (buf, rows) in [(&mut self.k[i], k), (&mut self.v[i], v)] {
            if buf.len() < o + d {
                buf.resize(o + d, 0.0);
            }
            buf[o..o + d].copy_from_slice(rows);
        }
    }

    /// K and V of `slot` in `layer` for positions `0..n` (all written): `[n, kv_dim]` each.
    pub fn view(&self, layer: usize, slot: usize, n: usize) -> (&[f32], &[f32]) {
        let i = self.index(layer, slot);
        (&self.k[i][..n * self.kv_dim], &self.v[i][..n * self.kv_dim])
    }
}

#[cfg(test)]
mod tests {
    use super::KvCache;

    #[test]
    fn memory_grows_with_the_tokens_written_and_is_reused_after_clear() {
        let mut c = KvCache::new(2, 3, 32768, 4);
        assert_eq!(c.bytes_allocated(), 0, "nothing up front for a 32768-token promise");
        for pos in 0..10 {
            for layer in 0..2 {
                c.write(layer, 1, pos, &[pos as f32; 4], &[-(pos as f32); 4]);
            }
            c.advance(1, 1);
        }
        let held = c.bytes_allocated();
        assert!((2 * 2 * 10 * 4 * 4..2 * 2 * 64 * 4 * 4).contains(&held), "{held} bytes for 10 tokens");
        let (k, v) = c.view(1, 1, 10);
        assert_eq!((k[4 * 9], v[4 * 9]), (9.0, -9.0));
        c.clear(1);
        assert_eq!(c.len(1), 0);
        assert_eq!(c.bytes_allocated(), held, "a cleared slot keeps its memory");
        c.write(0, 1, 0, &[7.0; 4], &[8.0; 4]);
        assert_eq!(c.view(0, 1, 1).0, &[7.0; 4]);
    }
}

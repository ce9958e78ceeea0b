//! Preallocated key/value cache: `[layer][slot][position][kv_heads * head_dim]` for K and V, one
//! slot per sequence in flight.

/// K/V storage for `n_slots` sequences of up to `max_seq` tokens.
pub struct KvCache {
    n_layers: usize,
    n_slots: usize,
    max_seq: usize,
    kv_dim: usize,
    k: Vec<f32>,
    v: Vec<f32>,
    lens: Vec<usize>,
}

impl KvCache {
    /// Allocates the whole cache up front.
    pub fn new(n_layers: usize, n_slots: usize, max_seq: usize, kv_dim: usize) -> Self {
        let n = n_layers * n_slots * max_seq * kv_dim;
        KvCache { n_layers, n_slots, max_seq, kv_dim, k: vec![0.0; n], v: vec![0.0; n], lens: vec![0; n_slots] }
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
    /// Forgets a slot's tokens so a new sequence can use it.
    pub fn clear(&mut self, slot: usize) {
        self.lens[slot] = 0;
    }
    /// Records that `n` more tokens were written to `slot` (after all layers wrote them).
    pub fn advance(&mut self, slot: usize, n: usize) {
        self.lens[slot] += n;
        debug_assert!(self.lens[slot] <= self.max_seq);
    }

    fn base(&self, layer: usize, slot: usize) -> usize {
        debug_assert!(layer < self.n_layers && slot < self.n_slots);
        (layer * self.n_slots + slot) * self.max_seq * self.kv_dim
    }

    /// Writes K and V rows for position `pos` of `slot` in `layer`.
    pub fn write(&mut self, layer: usize, slot: usize, pos: usize, k: &[f32], v: &[f32]) {
        let o = self.base(layer, slot) + pos * self.kv_dim;
        self.k[o..o + self.kv_dim].copy_from_slice(k);
        self.v[o..o + self.kv_dim].copy_from_slice(v);
    }

    /// K and V of `slot` in `layer` for positions `0..n`: `[n, kv_dim]` each.
    pub fn view(&self, layer: usize, slot: usize, n: usize) -> (&[f32], &[f32]) {
        let o = self.base(layer, slot);
        (&self.k[o..o + n * self.kv_dim], &self.v[o..o + n * self.kv_dim])
    }
}

//! Key/value cache: per layer and slot (one slot per sequence in flight) the K and V rows of
//! the positions written so far, `[position][kv_heads * head_dim]`. Memory grows on demand with
//! the tokens actually cached (amortized doubling), up to `max_seq` positions per slot; a
//! cleared slot keeps its memory for the next sequence. So a runner may promise a context of
//! 32768 tokens per slot and pay only for what its sequences use.
//!
//! Rows are stored as f32, or as f16 ([`KvCacheDtype`]: half the memory, llama.cpp's default
//! cache type; each value rounded to nearest once as it is written), and read by the backend's
//! `attention` op as the matching [`KvTensor`].

use half::slice::HalfFloatSliceExt;
use kernels::kv::KvTensor;

/// The element type K and V rows are stored in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KvCacheDtype {
    /// 32-bit floats, the values exactly as computed.
    #[default]
    F32,
    /// IEEE half: half the memory; values rounded to f16 (the attention reads them exactly).
    F16,
}

impl KvCacheDtype {
    /// `f32` or `f16`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(KvCacheDtype::F32),
            "f16" => Some(KvCacheDtype::F16),
            _ => None,
        }
    }
}

/// One layer-slot's rows, `[len, kv_dim]`.
#[derive(Clone)]
enum Rows {
    F32(Vec<f32>),
    /// f16 bit patterns.
    F16(Vec<u16>),
}

impl Rows {
    fn new(dtype: KvCacheDtype) -> Rows {
        match dtype {
            KvCacheDtype::F32 => Rows::F32(Vec::new()),
            KvCacheDtype::F16 => Rows::F16(Vec::new()),
        }
    }
    fn clear(&mut self) {
        match self {
            Rows::F32(v) => v.clear(),
            Rows::F16(v) => v.clear(),
        }
    }
    fn capacity_bytes(&self) -> usize {
        match self {
            Rows::F32(v) => v.capacity() * 4,
            Rows::F16(v) => v.capacity() * 2,
        }
    }
    /// Stores `row` at element offset `o` (growing the rows as needed).
    fn write(&mut self, o: usize, row: &[f32]) {
        let end = o + row.len();
        match self {
            Rows::F32(v) => {
                if v.len() < end {
                    v.resize(end, 0.0);
                }
                v[o..end].copy_from_slice(row);
            }
            Rows::F16(v) => {
                if v.len() < end {
                    v.resize(end, 0);
                }
                // Round to nearest, ties to even (half's conversion, vectorized where it can).
                let out: &mut [half::f16] = bytemuck::cast_slice_mut(&mut v[o..end]);
                out.convert_from_f32_slice(row);
            }
        }
    }
    /// The first `n` elements.
    fn view(&self, n: usize) -> KvTensor<'_> {
        match self {
            Rows::F32(v) => KvTensor::F32(&v[..n]),
            Rows::F16(v) => KvTensor::F16(&v[..n]),
        }
    }
}

/// K/V storage for `n_slots` sequences of up to `max_seq` tokens.
pub struct KvCache {
    n_layers: usize,
    n_slots: usize,
    max_seq: usize,
    kv_dim: usize,
    dtype: KvCacheDtype,
    /// `[layer * n_slots + slot]` → `[len, kv_dim]` rows.
    k: Vec<Rows>,
    /// Like `k`.
    v: Vec<Rows>,
    lens: Vec<usize>,
}

impl KvCache {
    /// An empty f32 cache; nothing is allocated until positions are written.
    pub fn new(n_layers: usize, n_slots: usize, max_seq: usize, kv_dim: usize) -> Self {
        Self::with_dtype(n_layers, n_slots, max_seq, kv_dim, KvCacheDtype::F32)
    }

    /// An empty cache storing `dtype`; nothing is allocated until positions are written.
    pub fn with_dtype(n_layers: usize, n_slots: usize, max_seq: usize, kv_dim: usize, dtype: KvCacheDtype) -> Self {
        let n = n_layers * n_slots;
        KvCache {
            n_layers,
            n_slots,
            max_seq,
            kv_dim,
            dtype,
            k: vec![Rows::new(dtype); n],
            v: vec![Rows::new(dtype); n],
            lens: vec![0; n_slots],
        }
    }

    /// The element type rows are stored in.
    pub fn dtype(&self) -> KvCacheDtype {
        self.dtype
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
        self.k.iter().chain(&self.v).map(Rows::capacity_bytes).sum()
    }

    fn index(&self, layer: usize, slot: usize) -> usize {
        debug_assert!(layer < self.n_layers && slot < self.n_slots);
        layer * self.n_slots + slot
    }

    /// Writes K and V rows (`[kv_dim]` each) for position `pos` (`< max_seq`) of `slot` in
    /// `layer`, rounded to the cache's dtype.
    pub fn write(&mut self, layer: usize, slot: usize, pos: usize, k: &[f32], v: &[f32]) {
        debug_assert!(pos < self.max_seq && k.len() == self.kv_dim && v.len() == self.kv_dim);
        let i = self.index(layer, slot);
        let o = pos * self.kv_dim;
        self.k[i].write(o, k);
        self.v[i].write(o, v);
    }

    /// K and V of `slot` in `layer` for positions `0..n` (all written): `[n, kv_dim]` each, as
    /// the `attention` op reads them.
    pub fn view(&self, layer: usize, slot: usize, n: usize) -> (KvTensor<'_>, KvTensor<'_>) {
        let i = self.index(layer, slot);
        (self.k[i].view(n * self.kv_dim), self.v[i].view(n * self.kv_dim))
    }
}

#[cfg(test)]
mod tests {
    use super::{KvCache, KvCacheDtype};
    use kernels::kv::KvTensor;

    fn f32s(t: KvTensor<'_>) -> Vec<f32> {
        match t {
            KvTensor::F32(v) => v.to_vec(),
            KvTensor::F16(h) => h.iter().map(|&b| half::f16::from_bits(b).to_f32()).collect(),
            KvTensor::Int { .. } => panic!("the cache stores no codes"),
        }
    }

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
        assert_eq!((f32s(k)[4 * 9], f32s(v)[4 * 9]), (9.0, -9.0));
        c.clear(1);
        assert_eq!(c.len(1), 0);
        assert_eq!(c.bytes_allocated(), held, "a cleared slot keeps its memory");
        c.write(0, 1, 0, &[7.0; 4], &[8.0; 4]);
        assert_eq!(f32s(c.view(0, 1, 1).0), &[7.0; 4]);
    }

    #[test]
    fn f16_cache_halves_the_memory_and_rounds_each_value_once() {
        let (mut a, mut h) = (KvCache::new(1, 1, 64, 8), KvCache::with_dtype(1, 1, 64, 8, KvCacheDtype::F16));
        assert_eq!(h.dtype(), KvCacheDtype::F16);
        let row: Vec<f32> = (0..8).map(|i| 0.1 + i as f32 / 3.0).collect();
        let neg: Vec<f32> = row.iter().map(|v| -v * 1000.0).collect();
        for pos in 0..10 {
            a.write(0, 0, pos, &row, &neg);
            h.write(0, 0, pos, &row, &neg);
        }
        assert_eq!(2 * h.bytes_allocated(), a.bytes_allocated());
        let (k, v) = h.view(0, 0, 10);
        assert!(matches!(k, KvTensor::F16(_)) && matches!(v, KvTensor::F16(_)));
        let want = |x: &[f32]| x.iter().map(|&v| half::f16::from_f32(v).to_f32()).collect::<Vec<_>>();
        assert_eq!(&f32s(k)[72..], want(&row));
        assert_eq!(&f32s(v)[72..], want(&neg));
        assert_ne!(want(&row), row, "the values are not all exact in f16, so rounding is exercised");
        assert_eq!(KvCacheDtype::parse("f16"), Some(KvCacheDtype::F16));
        assert_eq!(KvCacheDtype::parse("int8"), None);
    }
}

//! What calibration gathers from one decoder layer, through the model's [`LayerObserver`] hook:
//! per distinct Linear input (q/k/v share one, gate/up share one, o_proj and down_proj have their
//! own) a GPTQ Hessian and/or per-channel statistics with a row sample (AWQ, SmoothQuant), and
//! the range of the pre-RoPE keys per channel (KVQuant-style KV calibration); plus the time spent
//! accumulating them. Hessian rows are buffered and added [`HESSIAN_BATCH_ROWS`] at a time (one
//! pass over `H` per batch, not per sample); [`LayerStats::finish`] adds what is left.

use model::kv_quant::KeyRange;
use model::{LayerObserver, LinearInput, ModelError};
use quant::gptq::Hessian;
use quant::stats::ChannelStats;
use std::time::{Duration, Instant};

/// What to gather.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gather {
    /// GPTQ Hessians.
    pub hessians: bool,
    /// Channel statistics keeping up to this many rows (0: none).
    pub channel_rows: usize,
    /// Pre-RoPE key ranges.
    pub keys: bool,
}

impl Gather {
    /// Whether anything is gathered.
    pub fn any(&self) -> bool {
        self.hessians || self.channel_rows > 0 || self.keys
    }
}

/// Rows gathered before they are added to a Hessian: one `XᵀX` of 2048 rows makes better use of
/// the matrix product than four of 512, and `H` (up to 8960² f64 for Qwen's down_proj) is read
/// and written once instead of four times.
pub const HESSIAN_BATCH_ROWS: usize = 2048;

/// The statistics of one layer's four Linear inputs.
pub struct LayerStats {
    /// Indexed like [`LinearInput::ALL`]: `[d, d]`, `[H·hd, H·hd]`, `[d, d]`, `[f, f]`.
    hessians: Option<Vec<Hessian>>,
    /// Per Hessian, rows observed but not yet added (`[rows, k]` row-major).
    pending: Vec<Vec<f32>>,
    /// Indexed like [`LinearInput::ALL`].
    channels: Option<Vec<ChannelStats>>,
    /// Running per-channel min/max of the pre-RoPE keys `[Hkv·hd]`.
    keys: Option<KeyRange>,
    /// Time spent accumulating.
    pub elapsed: Duration,
}

/// The index of `site` in [`LinearInput::ALL`].
pub fn slot(site: LinearInput) -> usize {
    LinearInput::ALL.iter().position(|&s| s == site).expect("every site is in ALL")
}

impl LayerStats {
    /// Empty statistics for inputs of `d` (attention and MLP in), `qd` (o_proj) and `f`
    /// (down_proj) features and keys of `kvd` channels.
    pub fn new(g: Gather, d: usize, qd: usize, f: usize, kvd: usize) -> LayerStats {
        let widths = [d, qd, d, f];
        LayerStats {
            hessians: g.hessians.then(|| widths.iter().map(|&k| Hessian::new(k)).collect()),
            pending: vec![Vec::new(); widths.len()],
            channels: (g.channel_rows > 0)
                .then(|| widths.iter().map(|&k| ChannelStats::new(k, g.channel_rows)).collect()),
            keys: g.keys.then(|| KeyRange { min: vec![f32::INFINITY; kvd], max: vec![f32::NEG_INFINITY; kvd] }),
            elapsed: Duration::ZERO,
        }
    }

    /// Adds the buffered rows to the Hessians; call once all samples went through the layer.
    pub fn finish(&mut self) -> Result<(), ModelError> {
        let t0 = Instant::now();
        if let Some(hs) = self.hessians.as_mut() {
            for (h, rows) in hs.iter_mut().zip(self.pending.iter_mut()) {
                h.add_batch(rows).map_err(ModelError::from)?;
                *rows = Vec::new();
            }
        }
        self.elapsed += t0.elapsed();
        Ok(())
    }

    /// The Hessian of `site`, if gathered ([`LayerStats::finish`] must have run since the last
    /// observation).
    pub fn hessian(&self, site: LinearInput) -> Option<&Hessian> {
        debug_assert!(self.pending.iter().all(|p| p.is_empty()), "LayerStats::finish was not called");
        self.hessians.as_ref().map(|h| &h[slot(site)])
    }

    /// Replaces the Hessian of `site` (after a transform of its input).
    pub fn set_hessian(&mut self, site: LinearInput, h: Hessian) {
        if let Some(hs) = self.hessians.as_mut() {
            hs[slot(site)] = h;
        }
    }

    /// The channel statistics of `site`, if gathered.
    pub fn channels(&self, site: LinearInput) -> Option<&ChannelStats> {
        self.channels.as_ref().map(|c| &c[slot(site)])
    }

    /// Replaces the channel statistics of `site` (after a transform of its input).
    pub fn set_channels(&mut self, site: LinearInput, c: ChannelStats) {
        if let Some(cs) = self.channels.as_mut() {
            cs[slot(site)] = c;
        }
    }

    /// The key range, if gathered and any key was seen.
    pub fn take_keys(&mut self) -> Option<KeyRange> {
        self.keys.take().filter(|k| k.min.iter().all(|v| v.is_finite()))
    }
}

impl LayerObserver for LayerStats {
    fn observe(&mut self, site: LinearInput, x: &[f32], _rows: usize) -> model::Result<()> {
        let t0 = Instant::now();
        if let Some(h) = self.hessians.as_mut() {
            let (i, k) = (slot(site), h[slot(site)].k());
            let rows = &mut self.pending[i];
            rows.extend_from_slice(x);
            if rows.len() >= HESSIAN_BATCH_ROWS * k {
                h[i].add_batch(rows).map_err(ModelError::from)?;
                rows.clear();
            }
        }
        if let Some(c) = self.channels.as_mut() {
            c[slot(site)].add(x).map_err(ModelError::from)?;
        }
        self.elapsed += t0.elapsed();
        Ok(())
    }

    fn observe_keys(&mut self, k: &[f32], _rows: usize) -> model::Result<()> {
        if let Some(r) = self.keys.as_mut() {
            let c = r.min.len();
            for row in k.chunks_exact(c) {
                for ((lo, hi), &v) in r.min.iter_mut().zip(r.max.iter_mut()).zip(row) {
                    *lo = lo.min(v);
                    *hi = hi.max(v);
                }
            }
        }
        Ok(())
    }
}

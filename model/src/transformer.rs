//! The decoder-only transformer shared by Llama and Qwen2 (they differ only in q/k/v biases and
//! in whether lm_head is tied, both read from `ModelConfig`). Every projection is a [`Linear`]
//! (dense, packed or GGML blocks, optionally quantizing its input), so every quantization scheme
//! runs this one code path. Shapes, with d = hidden_size, hd = head_dim, H = query heads, Hkv =
//! key/value heads, f = intermediate_size, V = vocab, T = tokens in the step (all sequences of
//! the batch, concatenated):
//!
//! ```text
//! embed_tokens [V, d] -> x [T, d]
//! per layer:  h = rms_norm(x) · input_layernorm [d]
//!             q = h·Wqᵀ (+bq) [T, H·hd]   k, v = h·Wk/vᵀ (+b) [T, Hkv·hd]   RoPE on q, k
//!             (calibrated KV formats: K fake-quantized per channel before RoPE; QuaRot: q, k
//!             rotated per head after RoPE, see `rotation`)
//!             K/V (fake-quantized when the checkpoint has a KV format) appended to each
//!             sequence's cache slot; causal attention per head (GQA)
//!             x += attn [T, H·hd] · Woᵀ [d, H·hd]
//!             h = rms_norm(x) · post_attention_layernorm
//!             x += (silu(h·Wgateᵀ) ⊙ h·Wupᵀ) [T, f] · Wdownᵀ [d, f]   (QuaRot: Hadamard
//!             of the [T, f] rows before down_proj)
//! norm [d], lm_head [V, d] (or embed_tokens when tied) -> logits [rows, V]
//! ```
//!
//! [`Model::layer_forward`] runs one layer alone over one sequence with an optional
//! [`LayerObserver`] on the Linear inputs (layer-by-layer calibration); `forward` runs the same
//! per-layer code, so both give the same numbers.

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use crate::kv_cache::{KvCache, KvCacheDtype};
use crate::kv_quant::{key_range_names, KeyRange, KvQuant};
use crate::linear::{take_tensor, take_weight, Linear};
use crate::linear_weight::LinearWeight;
use crate::load::Checkpoint;
use crate::observer::{LayerObserver, LinearInput};
use crate::prepared::PreparedSlot;
use crate::rotation::{OnlineRotation, RotationPlan};
use kernels::kv::KvView;
use kernels::Backend;
use kernels::RopeTable;
use quant::KvFormat;
use std::sync::{Arc, Mutex};

/// Positions the RoPE table covers at first (fewer when the context is shorter).
const INITIAL_ROPE_POSITIONS: usize = 4096;

/// One decoder layer's weights.
pub struct Layer {
    /// [d]
    pub input_layernorm: Vec<f32>,
    /// [H·hd, d]
    pub q_proj: Linear,
    /// [Hkv·hd, d]
    pub k_proj: Linear,
    /// [Hkv·hd, d]
    pub v_proj: Linear,
    /// [d, H·hd]
    pub o_proj: Linear,
    /// [d]
    pub post_attention_layernorm: Vec<f32>,
    /// [f, d]
    pub gate_proj: Linear,
    /// [f, d]
    pub up_proj: Linear,
    /// [d, f]
    pub down_proj: Linear,
}

/// A loaded model ready to run.
pub struct Model {
    /// Architecture.
    pub config: ModelConfig,
    /// [V, d] (dense, packed or GGML blocks; rows are looked up, and it is the output
    /// projection when tied)
    pub embed_tokens: LinearWeight,
    /// Decoder layers.
    pub layers: Vec<Layer>,
    /// Final norm [d].
    pub norm: Vec<f32>,
    /// Untied output projection [V, d]; `None` when tied to `embed_tokens`.
    pub lm_head: Option<Linear>,
    /// KV-cache fake quantization, if any.
    pub kv_quant: Option<KvQuant>,
    /// What [`Model::new_cache`] stores K/V rows as (f32 unless set).
    pub kv_cache_dtype: KvCacheDtype,
    /// QuaRot's online Hadamard transforms, if the weights are rotated for them.
    pub rotation: Option<OnlineRotation>,
    /// How the checkpoint stores its Linears (from the loader).
    pub quant_description: String,
    /// RoPE angles for the positions used so far (grown on demand up to the context, so a
    /// model with a long context pays only for the positions it runs).
    rope: Mutex<Arc<RopeTable>>,
    backend: Box<dyn Backend>,
    /// `embed_tokens` as the backend prepared it, when it is the (tied) lm_head.
    embed_prepared: Option<PreparedSlot>,
}

/// The tokens one sequence adds in a forward step.
#[derive(Debug, Clone, Copy)]
pub struct SeqChunk<'a> {
    /// KV-cache slot of the sequence.
    pub slot: usize,
    /// New tokens (the whole prompt at prefill, one token per decode step).
    pub tokens: &'a [u32],
}

/// Which positions get logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogitRows {
    /// Only the last new token of each chunk (generation).
    Last,
    /// Every new token (perplexity, KLD, reference checks).
    All,
}

impl Model {
    /// Builds the model from a loaded checkpoint, running on `backend`.
    pub fn new(mut ck: Checkpoint, backend: Box<dyn Backend>) -> Result<Self> {
        let c = ck.config.clone();
        let ck = &mut ck;
        let (d, hd) = (c.hidden_size, c.head_dim);
        let (qd, kvd) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
        let vec = |ck: &mut Checkpoint, name: &str, n: usize| {
            take_tensor(&mut ck.weights, name, &[n]).map(|t| t.to_f32_vec())
        };
        let embed_tokens = take_weight(ck, "model.embed_tokens.weight", [c.vocab_size, d])?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let p = format!("model.layers.{i}");
            layers.push(Layer {
                input_layernorm: vec(ck, &format!("{p}.input_layernorm.weight"), d)?,
                q_proj: Linear::take(ck, &format!("{p}.self_attn.q_proj"), qd, d, c.attention_bias)?,
                k_proj: Linear::take(ck, &format!("{p}.self_attn.k_proj"), kvd, d, c.attention_bias)?,
                v_proj: Linear::take(ck, &format!("{p}.self_attn.v_proj"), kvd, d, c.attention_bias)?,
                o_proj: Linear::take(ck, &format!("{p}.self_attn.o_proj"), d, qd, false)?,
                post_attention_layernorm: vec(ck, &format!("{p}.post_attention_layernorm.weight"), d)?,
                gate_proj: Linear::take(ck, &format!("{p}.mlp.gate_proj"), c.intermediate_size, d, false)?,
                up_proj: Linear::take(ck, &format!("{p}.mlp.up_proj"), c.intermediate_size, d, false)?,
                down_proj: Linear::take(ck, &format!("{p}.mlp.down_proj"), d, c.intermediate_size, false)?,
            });
        }
        let norm = vec(ck, "model.norm.weight", d)?;
        let key_ranges = take_key_ranges(ck, c.num_hidden_layers, kvd)?;
        let lm_head = if c.tie_word_embeddings {
            ck.weights.remove("lm_head.weight");
            ck.linears.remove("lm_head.weight");
            None
        } else {
            Some(Linear::take(ck, "lm_head", c.vocab_size, d, false)?)
        };
        if let Some(extra) = ck.weights.keys().chain(ck.linears.keys()).min() {
            return Err(ModelError::Tensor {
                tensor: extra.clone(),
                what: format!(
                    "not used by the {:?} architecture ({} unused tensors)",
                    c.arch,
                    ck.weights.len() + ck.linears.len()
                ),
            });
        }
        let kv_quant = match (ck.quant.kv, &key_ranges) {
            (Some(f), Some(r)) => Some(KvQuant::calibrated(f, r, kvd)?),
            (Some(f), None) => Some(KvQuant::new(f)?),
            (None, _) => None,
        };
        let rotation = ck.quant.rotation.map(|p| OnlineRotation::new(p, c.intermediate_size, hd)).transpose()?;
        let quant_description = std::mem::take(&mut ck.quant.description);
        let rope = RopeTable::new(hd, c.max_position_embeddings.min(INITIAL_ROPE_POSITIONS), c.rope_theta);
        let mut model = Model {
            config: c,
            embed_tokens,
            layers,
            norm,
            lm_head,
            kv_quant,
            kv_cache_dtype: KvCacheDtype::F32,
            rotation,
            quant_description,
            rope: Mutex::new(Arc::new(rope)),
            backend,
            embed_prepared: None,
        };
        model.prepare_weights()?;
        Ok(model)
    }

    /// Prepares every Linear's weight (and the tied embedding's, which serves as lm_head) on the
    /// model's backend: a GPU backend uploads them once here instead of on every call; `cpu-q8`
    /// on AVX-512 VNNI repacks its int4 weights into interleaved tiles; `cpu` prepares nothing.
    /// [`Model::new`] calls it; call it again after replacing weights.
    pub fn prepare_weights(&mut self) -> Result<()> {
        let be = self.backend.as_ref();
        for lin in linears_of(&mut self.layers, &mut self.lm_head) {
            lin.prepare(be)?;
        }
        if self.lm_head.is_none() {
            self.embed_prepared = PreparedSlot::prepare(be, &self.embed_tokens)?;
        }
        Ok(())
    }

    /// Sets (or clears) KV-cache fake quantization; per-channel keys use the RTN fallback (see
    /// [`crate::kv_quant`]).
    pub fn set_kv_quant(&mut self, format: Option<KvFormat>) -> Result<()> {
        self.kv_quant = format.map(KvQuant::new).transpose()?;
        Ok(())
    }

    /// Sets (or clears) the online rotations (QuaRot; the weights must have been rotated to match).
    pub fn set_rotation(&mut self, plan: Option<RotationPlan>) -> Result<()> {
        let c = &self.config;
        self.rotation = plan.map(|p| OnlineRotation::new(p, c.intermediate_size, c.head_dim)).transpose()?;
        Ok(())
    }

    /// Sets KV-cache fake quantization with calibrated pre-RoPE key ranges, one per layer.
    pub fn set_kv_quant_calibrated(&mut self, format: KvFormat, ranges: &[KeyRange]) -> Result<()> {
        if ranges.len() != self.layers.len() {
            return Err(ModelError::Request(format!(
                "{} calibrated key ranges for {} layers",
                ranges.len(),
                self.layers.len()
            )));
        }
        let kvd = self.config.num_key_value_heads * self.config.head_dim;
        self.kv_quant = Some(KvQuant::calibrated(format, ranges, kvd)?);
        Ok(())
    }

    /// Every Linear of the model (layers in order, then the untied lm_head), for callers that
    /// inspect or change them (e.g. to set activation quantization). What the backend
    /// prepared of their weights is dropped ([`Model::prepare_weights`] makes it again).
    pub fn linears_mut(&mut self) -> impl Iterator<Item = &mut Linear> {
        linears_of(&mut self.layers, &mut self.lm_head).map(Linear::unprepared)
    }

    /// The backend the model runs on.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// A KV cache sized for `n_slots` sequences of up to `max_seq` tokens (clamped to the
    /// context), storing [`Model::kv_cache_dtype`].
    pub fn new_cache(&self, n_slots: usize, max_seq: usize) -> KvCache {
        let c = &self.config;
        KvCache::with_dtype(
            c.num_hidden_layers,
            n_slots,
            max_seq.min(c.max_position_embeddings),
            c.num_key_value_heads * c.head_dim,
            self.kv_cache_dtype,
        )
    }

    /// Bytes of weights the model reads per decode step (all linears + embeddings row).
    pub fn weight_bytes(&self) -> usize {
        let mut b = 0;
        for l in &self.layers {
            for lin in [&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj] {
                b += lin.weight.n_bytes();
            }
        }
        b + match &self.lm_head {
            Some(l) => l.weight.n_bytes(),
            None => self.embed_tokens.n_bytes(),
        }
    }

    /// A RoPE table covering positions `0..positions` (at most the context), grown (to a power
    /// of two) when the one at hand is shorter.
    fn rope_for(&self, positions: usize) -> Arc<RopeTable> {
        let mut table = self.rope.lock().unwrap_or_else(|e| e.into_inner());
        if table.max_positions() < positions {
            let c = &self.config;
            let n = positions.next_power_of_two().min(c.max_position_embeddings).max(positions);
            *table = Arc::new(RopeTable::new(c.head_dim, n, c.rope_theta));
        }
        table.clone()
    }

    fn embed(&self, token: u32, out: &mut [f32]) {
        self.embed_tokens.row_f32(token as usize, out);
    }

    /// Runs one step: appends each chunk's tokens to its cache slot and returns logits
    /// `[rows, V]` for the rows `which` selects (in chunk order).
    pub fn forward(&self, chunks: &[SeqChunk<'_>], cache: &mut KvCache, which: LogitRows) -> Result<Vec<f32>> {
        if self.backend.host_parallel() {
            // The whole step on a rayon worker: the ops' splits inside are then local pushes.
            rayon::scope(|_| self.forward_step(chunks, cache, which))
        } else {
            self.forward_step(chunks, cache, which)
        }
    }

    fn forward_step(&self, chunks: &[SeqChunk<'_>], cache: &mut KvCache, which: LogitRows) -> Result<Vec<f32>> {
        let c = &self.config;
        let (d, hd, nh, nkv) = (c.hidden_size, c.head_dim, c.num_attention_heads, c.num_key_value_heads);
        let (qd, kvd, f) = (nh * hd, nkv * hd, c.intermediate_size);
        // Validate the request before touching the cache.
        let mut positions = Vec::new(); // (slot, pos) per row
        let mut needed = 0;
        for ch in chunks {
            if ch.slot >= cache.n_slots() {
                return Err(ModelError::Request(format!("slot {} out of range ({} slots)", ch.slot, cache.n_slots())));
            }
            let start = cache.len(ch.slot);
            let end = start + ch.tokens.len();
            let limit = cache.max_seq().min(c.max_position_embeddings);
            if end > limit {
                return Err(ModelError::Request(format!(
                    "sequence needs {end} positions ({start} cached + {} new) but the context is {limit} tokens",
                    ch.tokens.len()
                )));
            }
            if let Some(&bad) = ch.tokens.iter().find(|&&t| t as usize >= c.vocab_size) {
                return Err(ModelError::Request(format!(
                    "token id {bad} is outside the vocabulary ({})",
                    c.vocab_size
                )));
            }
            positions.extend((start..end).map(|p| (ch.slot, p)));
            needed = needed.max(end);
        }
        let t = positions.len();
        if t == 0 {
            return Ok(Vec::new());
        }
        let be = self.backend.as_ref();
        let eps = c.rms_norm_eps as f32;
        let mut x = vec![0f32; t * d];
        for (row, tok) in x.chunks_exact_mut(d).zip(chunks.iter().flat_map(|ch| ch.tokens.iter())) {
            self.embed(*tok, row);
        }
        let mut s = Scratch::new(t, d, qd, kvd, f);
        let pos_list: Vec<usize> = positions.iter().map(|&(_, p)| p).collect();
        let rope = self.rope_for(needed);
        for li in 0..self.layers.len() {
            self.layer_step(li, li, &mut x, &positions, &pos_list, &rope, cache, &mut s, None)?;
        }
        for ch in chunks {
            cache.advance(ch.slot, ch.tokens.len());
        }
        // Rows that get logits.
        let rows: Vec<usize> = match which {
            LogitRows::All => (0..t).collect(),
            LogitRows::Last => {
                let mut end = 0;
                chunks
                    .iter()
                    .filter_map(|ch| {
                        end += ch.tokens.len();
                        (!ch.tokens.is_empty()).then_some(end - 1)
                    })
                    .collect()
            }
        };
        let mut sel = vec![0f32; rows.len() * d];
        for (i, &r) in rows.iter().enumerate() {
            sel[i * d..(i + 1) * d].copy_from_slice(&x[r * d..(r + 1) * d]);
        }
        let mut normed = vec![0f32; sel.len()];
        be.rms_norm(&sel, rows.len(), d, &self.norm, eps, &mut normed)?;
        let vocab = c.vocab_size;
        let mut logits = vec![0f32; rows.len() * vocab];
        match &self.lm_head {
            Some(head) => head.forward(be, &normed, rows.len(), &mut logits)?,
            None => {
                self.embed_tokens.matmul_with(be, self.embed_prepared.as_ref(), &normed, rows.len(), &mut logits)?
            }
        }
        Ok(logits)
    }
}

impl Model {
    /// Token embeddings `[tokens.len(), d]` (the residual stream before layer 0).
    pub fn embed_rows(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let (d, vocab) = (self.config.hidden_size, self.config.vocab_size);
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(ModelError::Request(format!("token id {bad} is outside the vocabulary ({vocab})")));
        }
        let mut x = vec![0f32; tokens.len() * d];
        for (row, &tok) in x.chunks_exact_mut(d).zip(tokens) {
            self.embed(tok, row);
        }
        Ok(x)
    }

    /// Runs decoder layer `li` alone over one sequence of `t` tokens at positions `0..t`, with
    /// a cache of its own: `x [t, d]` (the residual stream entering the layer) becomes the
    /// stream leaving it, exactly as [`Model::forward`] computes it from an empty cache.
    /// `observer` sees the inputs of the layer's Linears (calibration).
    pub fn layer_forward(&self, li: usize, x: &mut [f32], observer: Option<&mut dyn LayerObserver>) -> Result<()> {
        let c = &self.config;
        let (d, hd) = (c.hidden_size, c.head_dim);
        let (qd, kvd, f) = (c.num_attention_heads * hd, c.num_key_value_heads * hd, c.intermediate_size);
        if li >= self.layers.len() {
            return Err(ModelError::Request(format!("layer {li} out of range ({} layers)", self.layers.len())));
        }
        if !x.len().is_multiple_of(d) {
            return Err(ModelError::Request(format!("{} values are not whole rows of d = {d}", x.len())));
        }
        let t = x.len() / d;
        let limit = c.max_position_embeddings;
        if t > limit {
            return Err(ModelError::Request(format!("sequence of {t} tokens but the context is {limit} tokens")));
        }
        if t == 0 {
            return Ok(());
        }
        let positions: Vec<(usize, usize)> = (0..t).map(|p| (0, p)).collect();
        let pos_list: Vec<usize> = (0..t).collect();
        let mut cache = KvCache::new(1, 1, t, kvd);
        let mut s = Scratch::new(t, d, qd, kvd, f);
        let rope = self.rope_for(t);
        self.layer_step(li, 0, x, &positions, &pos_list, &rope, &mut cache, &mut s, observer)
    }

    /// Decoder layer `li` on the residual stream `x [T, d]` (rows at `positions`), its K/V
    /// written to layer `cache_layer` of `cache`; the observer sees the Linear inputs.
    #[allow(clippy::too_many_arguments)]
    fn layer_step(
        &self,
        li: usize,
        cache_layer: usize,
        x: &mut [f32],
        positions: &[(usize, usize)],
        pos_list: &[usize],
        rope: &RopeTable,
        cache: &mut KvCache,
        s: &mut Scratch,
        mut obs: Option<&mut dyn LayerObserver>,
    ) -> Result<()> {
        let c = &self.config;
        let (d, hd, nh, nkv) = (c.hidden_size, c.head_dim, c.num_attention_heads, c.num_key_value_heads);
        let kvd = nkv * hd;
        let t = positions.len();
        let be = self.backend.as_ref();
        let eps = c.rms_norm_eps as f32;
        let l = &self.layers[li];
        be.rms_norm(x, t, d, &l.input_layernorm, eps, &mut s.h)?;
        if let Some(o) = obs.as_deref_mut() {
            o.observe(LinearInput::AttnIn, &s.h, t)?;
        }
        l.q_proj.forward(be, &s.h, t, &mut s.q)?;
        l.k_proj.forward(be, &s.h, t, &mut s.k)?;
        l.v_proj.forward(be, &s.h, t, &mut s.v)?;
        if let Some(o) = obs.as_deref_mut() {
            o.observe_keys(&s.k, t)?;
        }
        if let Some(kq) = &self.kv_quant {
            kq.apply_keys_before_rope(li, &mut s.k, kvd)?;
        }
        be.rope(&mut s.q, t, nh, hd, pos_list, rope)?;
        be.rope(&mut s.k, t, nkv, hd, pos_list, rope)?;
        if let Some(h) = self.rotation.as_ref().and_then(|r| r.qk.as_ref()) {
            be.hadamard(&mut s.q, t * nh, h)?;
            be.hadamard(&mut s.k, t * nkv, h)?;
        }
        if let Some(kq) = &self.kv_quant {
            kq.apply(&mut s.k, &mut s.v, kvd)?;
        }
        for (r, &(slot, pos)) in positions.iter().enumerate() {
            cache.write(cache_layer, slot, pos, &s.k[r * kvd..(r + 1) * kvd], &s.v[r * kvd..(r + 1) * kvd]);
        }
        attention(be, cache, cache_layer, positions, &s.q, &mut s.att, nh, nkv, hd)?;
        if let Some(o) = obs.as_deref_mut() {
            o.observe(LinearInput::AttnOut, &s.att, t)?;
        }
        l.o_proj.forward(be, &s.att, t, &mut s.o)?;
        be.add(x, &s.o)?;
        be.rms_norm(x, t, d, &l.post_attention_layernorm, eps, &mut s.h)?;
        if let Some(o) = obs.as_deref_mut() {
            o.observe(LinearInput::MlpIn, &s.h, t)?;
        }
        l.gate_proj.forward(be, &s.h, t, &mut s.g)?;
        l.up_proj.forward(be, &s.h, t, &mut s.u)?;
        be.silu_mul(&s.g, &s.u, &mut s.gu)?;
        if let Some(h) = self.rotation.as_ref().and_then(|r| r.down.as_ref()) {
            be.hadamard(&mut s.gu, t, h)?;
        }
        if let Some(o) = obs {
            o.observe(LinearInput::MlpDown, &s.gu, t)?;
        }
        l.down_proj.forward(be, &s.gu, t, &mut s.o)?;
        be.add(x, &s.o)?;
        Ok(())
    }
}

/// The calibrated pre-RoPE key ranges (`model.layers.{i}.self_attn.k_cache_min/max`, `[Hkv·hd]`
/// each) when the checkpoint has them for every layer; some layers only is an error.
fn take_key_ranges(ck: &mut Checkpoint, layers: usize, kvd: usize) -> Result<Option<Vec<KeyRange>>> {
    let present = (0..layers).filter(|&i| ck.weights.contains_key(&key_range_names(i)[0])).count();
    if present == 0 {
        return Ok(None);
    }
    if present != layers {
        return Err(ModelError::Tensor {
            tensor: "model.layers.*.self_attn.k_cache_min".into(),
            what: format!("calibrated key ranges for {present} of {layers} layers; expected all or none"),
        });
    }
    let mut out = Vec::with_capacity(layers);
    for i in 0..layers {
        let [lo, hi] = key_range_names(i);
        let min = take_tensor(&mut ck.weights, &lo, &[kvd])?.to_f32_vec();
        let max = take_tensor(&mut ck.weights, &hi, &[kvd])?.to_f32_vec();
        out.push(KeyRange { min, max });
    }
    Ok(Some(out))
}

/// Activations of one layer step over T rows, allocated once per forward.
struct Scratch {
    /// [T, d]
    h: Vec<f32>,
    /// [T, H·hd]
    q: Vec<f32>,
    /// [T, Hkv·hd]
    k: Vec<f32>,
    /// [T, Hkv·hd]
    v: Vec<f32>,
    /// [T, H·hd]
    att: Vec<f32>,
    /// [T, d]
    o: Vec<f32>,
    /// [T, f]
    g: Vec<f32>,
    /// [T, f]
    u: Vec<f32>,
    /// [T, f]
    gu: Vec<f32>,
}

impl Scratch {
    fn new(t: usize, d: usize, qd: usize, kvd: usize, f: usize) -> Scratch {
        Scratch {
            h: vec![0.0; t * d],
            q: vec![0.0; t * qd],
            k: vec![0.0; t * kvd],
            v: vec![0.0; t * kvd],
            att: vec![0.0; t * qd],
            o: vec![0.0; t * d],
            g: vec![0.0; t * f],
            u: vec![0.0; t * f],
            gu: vec![0.0; t * f],
        }
    }
}

/// Causal attention of every new row over its own sequence's cache, through the backend's
/// `attention` op (`kernels::kv`, the cache's f32 or f16 rows as they are): rows come in runs of one slot at
/// consecutive positions (a prefill chunk, or one decode row), and each run is the last rows of
/// its slot's cache, so row r at position p attends to positions 0..=p of its slot. q [T, H·hd]
/// -> out [T, H·hd]; query head h reads key/value head h / (H / Hkv) (GQA).
#[allow(clippy::too_many_arguments)]
fn attention(
    be: &dyn Backend,
    cache: &KvCache,
    layer: usize,
    positions: &[(usize, usize)],
    q: &[f32],
    out: &mut [f32],
    nh: usize,
    nkv: usize,
    hd: usize,
) -> Result<()> {
    let qd = nh * hd;
    let mut r = 0;
    while r < positions.len() {
        let slot = positions[r].0;
        let mut e = r + 1;
        while e < positions.len() && positions[e] == (slot, positions[e - 1].1 + 1) {
            e += 1;
        }
        let len = positions[e - 1].1 + 1;
        let (k, v) = cache.view(layer, slot, len);
        let kv = KvView { k, v, len, n_kv_heads: nkv, head_dim: hd };
        be.attention(&q[r * qd..e * qd], e - r, nh, &kv, &mut out[r * qd..e * qd])?;
        r = e;
    }
    Ok(())
}

/// Every Linear of `layers` in order, then the untied `lm_head`.
fn linears_of<'a>(layers: &'a mut [Layer], lm_head: &'a mut Option<Linear>) -> impl Iterator<Item = &'a mut Linear> {
    layers
        .iter_mut()
        .flat_map(|l| {
            [
                &mut l.q_proj,
                &mut l.k_proj,
                &mut l.v_proj,
                &mut l.o_proj,
                &mut l.gate_proj,
                &mut l.up_proj,
                &mut l.down_proj,
            ]
        })
        .chain(lm_head.as_mut())
}

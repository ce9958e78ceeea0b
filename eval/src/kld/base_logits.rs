//! The base model's side of a KLD run, held flat: the chunks it saw and, per scored position,
//! its top-K ids and log-probabilities, the log of its tail mass and the log-probability of the
//! true next token. This is what the cache file stores.

use crate::kld::chunks::Chunks;
use crate::kld::dist::{BaseRecord, RecordRef};

/// The base's records of every scored position, in chunk order.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseLogits {
    /// The chunks, as fed to the base (and to be fed to the model).
    pub chunks: Chunks,
    /// Ids kept per position (K, at most the vocabulary).
    pub k: usize,
    /// The base's logit width.
    pub vocab: usize,
    /// The base tokenizer's vocabulary size.
    pub tokenizer_vocab: usize,
    /// The BOS id substituted at chunk starts, if the tokenizer adds BOS.
    pub bos: Option<u32>,
    /// `[positions, k]` top-K ids.
    pub ids: Vec<u32>,
    /// `[positions, k]` their log-probabilities.
    pub logp: Vec<f32>,
    /// `[positions]` log of the tail mass.
    pub log_tail: Vec<f32>,
    /// `[positions]` log-probability of the true next token.
    pub target_logp: Vec<f32>,
}

impl BaseLogits {
    /// An empty set of records for `chunks`.
    pub fn new(chunks: Chunks, k: usize, vocab: usize, tokenizer_vocab: usize, bos: Option<u32>) -> Self {
        let n = chunks.n_scored();
        BaseLogits {
            chunks,
            k,
            vocab,
            tokenizer_vocab,
            bos,
            ids: Vec::with_capacity(n * k),
            logp: Vec::with_capacity(n * k),
            log_tail: Vec::with_capacity(n),
            target_logp: Vec::with_capacity(n),
        }
    }

    /// Appends the next position's record.
    pub fn push(&mut self, r: &BaseRecord) {
        assert_eq!(r.ids.len(), self.k, "record has K = {}", self.k);
        self.ids.extend_from_slice(&r.ids);
        self.logp.extend_from_slice(&r.logp);
        self.log_tail.push(r.log_tail);
        self.target_logp.push(r.target_logp);
    }

    /// Positions recorded so far.
    pub fn len(&self) -> usize {
        self.log_tail.len()
    }

    /// Whether no position is recorded.
    pub fn is_empty(&self) -> bool {
        self.log_tail.is_empty()
    }

    /// Whether every scored position of the chunks is recorded.
    pub fn is_complete(&self) -> bool {
        self.len() == self.chunks.n_scored()
    }

    /// The record of position `i`.
    pub fn record(&self, i: usize) -> RecordRef<'_> {
        let r = i * self.k..(i + 1) * self.k;
        RecordRef {
            ids: &self.ids[r.clone()],
            logp: &self.logp[r],
            log_tail: self.log_tail[i],
            target_logp: self.target_logp[i],
        }
    }
}

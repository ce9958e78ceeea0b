//! Running a model over the chunks: groups of `batch` chunks go through one ragged forward
//! (each chunk in its own KV-cache slot, emptied first), and the scored rows of each chunk's
//! logits become base records or scores against them, in parallel over positions.

use crate::error::{EvalError, Result};
use crate::kld::base_logits::BaseLogits;
use crate::kld::chunks::Chunks;
use crate::kld::dist::{score, BaseRecord, PositionScore};
use crate::kld::progress::Observer;
use model::{LogitRows, Model, SeqChunk};
use rayon::prelude::*;

/// Logits budget of one forward when the batch is chosen automatically.
const AUTO_LOGIT_BYTES: usize = 512 << 20;
/// Tokens per forward when the batch is chosen automatically. On the CPU backend batching
/// only pays for short chunks: SmolLM2 on 2 cores ran ctx 32 about 10-25% faster with 8 chunks
/// per forward, ctx 128 no faster with 8, and ctx 512 slower with 2 or 4 than with 1.
const AUTO_TOKENS: usize = 256;

/// Chunks per forward: up to `AUTO_TOKENS` tokens, as long as the `[tokens, vocab]` f32
/// logits stay within `AUTO_LOGIT_BYTES`; at least one.
pub fn auto_batch(ctx: usize, vocab: usize) -> usize {
    (AUTO_TOKENS / ctx).min(AUTO_LOGIT_BYTES / (ctx * vocab * 4).max(1)).max(1)
}

/// Runs `model` over every chunk, `batch` chunks per forward, handing chunk `i`'s logits
/// `[ctx, vocab]` to `each` in order.
pub fn for_each_chunk(
    model: &Model,
    chunks: &Chunks,
    batch: usize,
    obs: &mut dyn Observer,
    mut each: impl FnMut(usize, &[f32]) -> Result<()>,
) -> Result<()> {
    let (ctx, vocab) = (chunks.ctx, model.config.vocab_size);
    if ctx > model.config.max_position_embeddings {
        return Err(EvalError::BadOption(format!(
            "--ctx {ctx} is longer than the model's context ({} tokens)",
            model.config.max_position_embeddings
        )));
    }
    let batch = batch.clamp(1, chunks.len().max(1));
    let mut cache = model.new_cache(batch, ctx);
    for start in (0..chunks.len()).step_by(batch) {
        let end = (start + batch).min(chunks.len());
        (0..batch).for_each(|s| cache.clear(s));
        let seqs: Vec<SeqChunk<'_>> =
            (start..end).enumerate().map(|(slot, i)| SeqChunk { slot, tokens: chunks.chunk(i) }).collect();
        let logits = model.forward(&seqs, &mut cache, LogitRows::All)?;
        for (j, i) in (start..end).enumerate() {
            each(i, &logits[j * ctx * vocab..(j + 1) * ctx * vocab])?;
        }
        obs.advance(end - start);
    }
    Ok(())
}

/// The scored rows of one chunk's logits with the token each predicts.
fn scored_rows<'a>(chunks: &'a Chunks, i: usize, logits: &'a [f32], vocab: usize) -> Vec<(&'a [f32], u32)> {
    let toks = chunks.chunk(i);
    (chunks.first_scored()..chunks.ctx - 1).map(|j| (&logits[j * vocab..(j + 1) * vocab], toks[j + 1])).collect()
}

/// Runs the base and keeps its top-`k` records of every scored position.
pub fn base_records(
    model: &Model,
    chunks: &Chunks,
    k: usize,
    batch: usize,
    tokenizer_vocab: usize,
    bos: Option<u32>,
    obs: &mut dyn Observer,
) -> Result<BaseLogits> {
    let vocab = model.config.vocab_size;
    let k = k.min(vocab);
    let mut out = BaseLogits::new(chunks.clone(), k, vocab, tokenizer_vocab, bos);
    for_each_chunk(model, chunks, batch, obs, |i, logits| {
        let recs: Vec<BaseRecord> = scored_rows(chunks, i, logits, vocab)
            .into_par_iter()
            .map(|(row, target)| BaseRecord::from_logits(row, target, k))
            .collect();
        recs.iter().for_each(|r| out.push(r));
        Ok(())
    })?;
    Ok(out)
}

/// Runs the model under test and scores every position against the base's records.
pub fn model_scores(
    model: &Model,
    base: &BaseLogits,
    batch: usize,
    obs: &mut dyn Observer,
) -> Result<Vec<PositionScore>> {
    let vocab = model.config.vocab_size;
    if vocab != base.vocab {
        return Err(EvalError::VocabMismatch(format!(
            "the base has {} logits per position, the model {vocab}",
            base.vocab
        )));
    }
    let per = base.chunks.scored_per_chunk();
    let mut out = Vec::with_capacity(base.len());
    for_each_chunk(model, &base.chunks, batch, obs, |i, logits| {
        let rows = scored_rows(&base.chunks, i, logits, vocab);
        let s: Vec<PositionScore> = rows
            .into_par_iter()
            .enumerate()
            .map(|(j, (row, target))| score(row, target, base.record(i * per + j)))
            .collect();
        out.extend(s);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn auto_batch_fills_short_chunks_only() {
        use super::auto_batch;
        assert_eq!([32, 64, 128, 256, 512, 4096].map(|c| auto_batch(c, 49152)), [8, 4, 2, 1, 1, 1]);
        // A huge vocabulary caps the batch by the logits budget (512 MiB / (32 * 4M * 4 B) = 1).
        assert_eq!(auto_batch(32, 4 << 20), 1);
    }
}

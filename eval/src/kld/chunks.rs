//! Cutting a token stream into evaluation chunks, as llama.cpp's perplexity tool does: the
//! whole text is tokenized once (with BOS when the tokenizer adds one), cut into consecutive
//! non-overlapping chunks of `ctx` tokens (the remainder is dropped), each chunk's first token
//! is replaced by BOS when the tokenizer adds BOS, each chunk runs from an empty cache, and only
//! the logits at positions `ctx/2 .. ctx-1` are scored: the logit row at position `j` predicts
//! token `j + 1`, so a chunk scores `ctx - 1 - ctx/2` tokens and the first half is context.

use crate::error::{EvalError, Result};

/// The smallest context accepted (a chunk must score at least a few tokens).
pub const MIN_CTX: usize = 8;

/// The chunks of one evaluation, as they are fed to both models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunks {
    /// Tokens per chunk.
    pub ctx: usize,
    /// `n_chunks * ctx` tokens, chunk after chunk, BOS already substituted.
    pub tokens: Vec<u32>,
}

/// Checks `ctx` and the chunk limit before anything is loaded.
pub fn validate(ctx: usize, max_chunks: Option<usize>) -> Result<()> {
    if ctx < MIN_CTX {
        return Err(EvalError::BadOption(format!(
            "--ctx {ctx} is too small: at least {MIN_CTX} tokens (half of each chunk is context)"
        )));
    }
    if max_chunks == Some(0) {
        return Err(EvalError::BadOption("--chunks 0: at least one chunk is needed (omit it to use all)".into()));
    }
    Ok(())
}

impl Chunks {
    /// Cuts `tokens` (the whole text, tokenized with special tokens) into at most `max_chunks`
    /// chunks of `ctx`; `bos` is substituted at each chunk start when given.
    pub fn cut(tokens: &[u32], ctx: usize, max_chunks: Option<usize>, bos: Option<u32>) -> Result<Self> {
        validate(ctx, max_chunks)?;
        let available = tokens.len() / ctx;
        if available == 0 {
            return Err(EvalError::TextTooShort { tokens: tokens.len(), ctx });
        }
        let n = max_chunks.map_or(available, |m| m.min(available));
        let mut out = tokens[..n * ctx].to_vec();
        if let Some(b) = bos {
            out.iter_mut().step_by(ctx).for_each(|t| *t = b);
        }
        Ok(Chunks { ctx, tokens: out })
    }

    /// Lowercase hex sha256 of the tokens as u32 little-endian bytes.
    pub fn tokens_sha256(&self) -> String {
        let bytes: Vec<u8> = self.tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
        crate::kld::text::sha256_hex(&bytes)
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.tokens.len() / self.ctx
    }

    /// Whether there are no chunks.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Chunk `i`'s tokens.
    pub fn chunk(&self, i: usize) -> &[u32] {
        &self.tokens[i * self.ctx..(i + 1) * self.ctx]
    }

    /// The first scored logit row of a chunk (`ctx / 2`).
    pub fn first_scored(&self) -> usize {
        self.ctx / 2
    }

    /// Scored positions per chunk (`ctx - 1 - ctx/2`).
    pub fn scored_per_chunk(&self) -> usize {
        scored_per_chunk(self.ctx)
    }

    /// Scored positions over all chunks.
    pub fn n_scored(&self) -> usize {
        self.len() * self.scored_per_chunk()
    }
}

/// Scored positions per chunk of `ctx` tokens.
pub fn scored_per_chunk(ctx: usize) -> usize {
    ctx - 1 - ctx / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_whole_chunks_and_substitutes_bos() {
        let toks: Vec<u32> = (100..125).collect(); // 25 tokens
        let c = Chunks::cut(&toks, 8, None, Some(1)).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.chunk(0), &[1, 101, 102, 103, 104, 105, 106, 107]);
        assert_eq!(c.chunk(2), &[1, 117, 118, 119, 120, 121, 122, 123]);
        assert_eq!((c.first_scored(), c.scored_per_chunk(), c.n_scored()), (4, 3, 9));
        let c = Chunks::cut(&toks, 8, Some(2), None).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.chunk(1)[0], 108);
        assert_eq!(scored_per_chunk(512), 255);
        assert_eq!(scored_per_chunk(9), 4);
        // sha256 of the bytes 01 00 00 00 (one token, id 1), as `printf '\x01\0\0\0' | sha256sum` gives.
        let one = Chunks { ctx: 1, tokens: vec![1] };
        assert_eq!(one.tokens_sha256(), "67abdd721024f0ff4e0b3f4c2fc13bc5bad42d0b7851d456d88d203d15aaa450");
    }

    #[test]
    fn rejects_bad_options_and_short_text() {
        let toks: Vec<u32> = (0..20).collect();
        assert!(matches!(Chunks::cut(&toks, 7, None, None), Err(EvalError::BadOption(_))));
        assert!(matches!(Chunks::cut(&toks, 8, Some(0), None), Err(EvalError::BadOption(_))));
        let e = Chunks::cut(&toks, 32, None, None).unwrap_err();
        assert!(matches!(e, EvalError::TextTooShort { tokens: 20, ctx: 32 }));
        assert!(e.to_string().contains("fewer than one chunk"), "{e}");
    }
}

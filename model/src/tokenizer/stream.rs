//! Incremental decoding for printing tokens as they are generated. A byte-level token can hold
//! part of a UTF-8 character, so text is only released once it decodes without a trailing
//! replacement character; each step decodes a short window that starts one emitted chunk back,
//! so decoders that treat a sequence's first token specially see the same context as in a full
//! decode.

use super::Tokenizer;
use crate::error::Result;

/// Turns a stream of token ids into text chunks whose concatenation equals the full decode.
#[derive(Debug)]
pub struct StreamDecoder<'a> {
    tokenizer: &'a Tokenizer,
    skip_special: bool,
    ids: Vec<u32>,
    /// Start of the decode window (the first id of the previously emitted chunk).
    prefix: usize,
    /// End of what has been emitted.
    read: usize,
}

impl<'a> StreamDecoder<'a> {
    /// A decoder over `tokenizer`; `skip_special` drops special tokens as [`Tokenizer::decode`].
    pub fn new(tokenizer: &'a Tokenizer, skip_special: bool) -> Self {
        StreamDecoder { tokenizer, skip_special, ids: Vec::new(), prefix: 0, read: 0 }
    }

    fn pending_text(&self) -> Result<(String, String)> {
        let done = self.tokenizer.decode(&self.ids[self.prefix..self.read], self.skip_special)?;
        let all = self.tokenizer.decode(&self.ids[self.prefix..], self.skip_special)?;
        Ok((done, all))
    }

    fn emit(&mut self, done: &str, all: &str) -> Option<String> {
        let new = match all.strip_prefix(done) {
            Some(rest) => rest.to_owned(),
            // The decoder rewrote earlier text: emit what follows the common prefix.
            None => {
                let common = done
                    .char_indices()
                    .zip(all.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(done.len().min(all.len()), |((i, _), _)| i);
                all.get(common..).unwrap_or_default().to_owned()
            }
        };
        self.prefix = self.read;
        self.read = self.ids.len();
        (!new.is_empty()).then_some(new)
    }

    /// Adds one token; returns the text it completes, if any.
    pub fn push(&mut self, id: u32) -> Result<Option<String>> {
        self.ids.push(id);
        let (done, all) = self.pending_text()?;
        if all.len() > done.len() && !all.ends_with('\u{FFFD}') {
            Ok(self.emit(&done, &all))
        } else {
            Ok(None)
        }
    }

    /// Releases whatever is held back (e.g. an incomplete character at the end of the stream,
    /// as replacement characters, exactly as the full decode shows it).
    pub fn finish(&mut self) -> Result<Option<String>> {
        if self.read == self.ids.len() {
            return Ok(None);
        }
        let (done, all) = self.pending_text()?;
        Ok(self.emit(&done, &all))
    }

    /// All ids pushed so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }
}

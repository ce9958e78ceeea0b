//! Text of one sequence as it is generated: token ids go through the tokenizer's stream
//! decoder, and stop strings are matched on the decoded text. What is released is safe to
//! send: the last `longest stop - 1` bytes are held back until they cannot start a stop
//! string, and a matched stop string (and anything after it) is never released, so the
//! concatenated deltas equal the final text whether a client streams or not.

use model::tokenizer::{StreamDecoder, Tokenizer};

/// One sequence's decoded text and stop-string state.
pub struct TextStream<'t> {
    decoder: StreamDecoder<'t>,
    stops: Vec<String>,
    hold: usize,
    text: String,
    released: usize,
    stopped: bool,
}

impl<'t> TextStream<'t> {
    /// A stream over `tokenizer` (special tokens skipped) that ends at any of `stops` (empty
    /// strings are ignored).
    pub fn new(tokenizer: &'t Tokenizer, stops: Vec<String>) -> Self {
        let stops: Vec<String> = stops.into_iter().filter(|s| !s.is_empty()).collect();
        let hold = stops.iter().map(|s| s.len()).max().unwrap_or(1) - 1;
        TextStream {
            decoder: tokenizer.stream_decoder(true),
            stops,
            hold,
            text: String::new(),
            released: 0,
            stopped: false,
        }
    }

    /// Whether a stop string matched.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Adds one token; returns the text now safe to send (possibly empty).
    pub fn push(&mut self, id: u32) -> model::Result<String> {
        if let Some(piece) = self.decoder.push(id)? {
            self.text.push_str(&piece);
        }
        Ok(self.release(false))
    }

    /// Ends the sequence; returns whatever is left to send.
    pub fn finish(&mut self) -> model::Result<String> {
        if !self.stopped {
            if let Some(piece) = self.decoder.finish()? {
                self.text.push_str(&piece);
            }
        }
        Ok(self.release(true))
    }

    fn release(&mut self, all: bool) -> String {
        if self.stopped {
            return String::new();
        }
        // No stop string starts before `released` (anything released was checked), so the
        // search starts there.
        let found = self.stops.iter().filter_map(|s| self.text[self.released..].find(s.as_str())).min();
        let end = match found {
            Some(at) => {
                self.stopped = true;
                self.text.truncate(self.released + at);
                self.text.len()
            }
            None if all => self.text.len(),
            None => {
                let mut end = self.text.len().saturating_sub(self.hold).max(self.released);
                while !self.text.is_char_boundary(end) {
                    end -= 1;
                }
                end
            }
        };
        let out = self.text[self.released..end].to_string();
        self.released = end;
        out
    }
}

//! How a KLD run reports progress without drawing anything itself: the caller passes an
//! `Observer` (the CLI draws an indicatif bar; tests pass `Silent`).

/// Receives progress events of a run.
pub trait Observer {
    /// A stage that processes `total` chunks starts (`base` or `model`).
    fn stage(&mut self, _name: &str, _total: usize) {}
    /// `n` more chunks of the current stage are done.
    fn advance(&mut self, _n: usize) {}
    /// The current stage is over.
    fn finish_stage(&mut self) {}
    /// A one-line message for the user (cache decisions).
    fn note(&mut self, _msg: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}

//! How a run reports progress without drawing anything itself: the CLI passes an observer that
//! draws an indicatif bar; tests pass [`Quiet`].

use super::record::Record;

/// Receives a run's events.
pub trait Progress {
    /// The run starts: `total` (task, seed, item) jobs, `done` of them already in the file.
    fn start(&mut self, _total: usize, _done: usize) {}
    /// One item finished and was written.
    fn finished(&mut self, _record: &Record) {}
    /// A one-line note for the user (resume decisions).
    fn note(&mut self, _msg: &str) {}
}

/// Ignores everything.
pub struct Quiet;

impl Progress for Quiet {}

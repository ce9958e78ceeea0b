//! `eval` crate.

//! `model` crate.

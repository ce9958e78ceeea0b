//! `kernels` crate.

//! Calibration: choose calibration samples (`source`, `guard`, `samples`), then quantize the
//! model's decoder Linears layer by layer in sequence (`sequential`), the inputs of layer i
//! coming from layers < i already quantized (GPTQ's sequential mode).
//!
//! Why here, in the root package: calibration needs both `model` (to run layers, with the
//! [`model::LayerObserver`] hook on Linear inputs) and `quant` (Hessians, GPTQ, RTN), and neither
//! crate may depend on the other in that direction (ARCHITECTURE.md: `quant` never runs a model,
//! `model` knows no algorithm). `model` therefore only gained a per-layer entry point
//! (`Model::layer_forward`) and the observer trait; everything that decides what to gather and
//! how to quantize with it is in this module.
//!
//! Transforms: per layer AWQ or SmoothQuant scales (`transform`), or the whole model rotated
//! first (`quarot`); `recipe` parses `--method` into quantizer + transform.
//!
//! Memory: the residual stream of all samples for one layer, `n_samples × seqlen × d` f32, plus
//! one Hessian per distinct Linear input of the current layer (`k × k` f64, four of them) and one
//! sample's layer activations at a time; never the whole model's activations.

pub mod export;
pub mod guard;
pub mod holdout;
pub mod method;
pub mod quarot;
pub mod recipe;
pub mod samples;
pub mod sequential;
pub mod source;
pub mod stats;
pub mod transform;
pub mod weights;

#[cfg(test)]
mod quarot_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transform_tests;

pub use guard::EvalGuard;
pub use method::LinearMethod;
pub use recipe::{Recipe, TransformKind};
pub use samples::{build_samples, CalibSpec};
pub use sequential::{quantize_sequential, LayerReport, Pipeline};
pub use source::CalibSource;

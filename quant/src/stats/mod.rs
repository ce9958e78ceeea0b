//! Calibration statistics of a Linear's input `X[rows, k]` gathered batch by batch, for the
//! activation-aware methods ([`crate::awq`], [`crate::smooth`]): exact per-channel mean and max
//! of `|x|`, and a bounded, deterministic sample of whole rows on which a method evaluates the
//! output error of its candidates.

pub mod channel;

#[cfg(test)]
pub(crate) mod test_layers;
#[cfg(test)]
mod tests;

pub use channel::ChannelStats;

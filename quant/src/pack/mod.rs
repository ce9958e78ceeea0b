//! Packed layouts of a [`QuantizedWeight`](crate::qweight::QuantizedWeight): compressed-tensors
//! (pack-quantized and int-quantized), GPTQ v1/v2, and qtool's own kernel layout, all built on
//! one dense bit stream.

pub mod bitstream;
pub mod compressed_tensors;
pub mod gptq;
pub mod qtool_layout;

#[cfg(test)]
mod tests;

pub use compressed_tensors::{
    from_int_quantized_ct, int_quantized_ct, pack_ct, unpack_ct, CtIntQuantized, CtPackQuantized,
};
pub use gptq::{pack_gptq, unpack_gptq, GptqPacked, GptqVersion};
pub use qtool_layout::PackedWeight;

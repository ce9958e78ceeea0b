//! Scalar reference implementations (`*_ref`) of every op, written for clarity rather than
//! speed. Every backend is tested against these. They accumulate in `f64` (sums, dot products,
//! exponentials) and round to `f32` once per output, so their error is far below any
//! backend's; callers pass shapes that have already been validated by [`crate::shapes`].

pub mod add;
pub mod attention;
pub mod gguf_q8_blocks;
pub mod hadamard;
pub mod matmul;
pub mod matmul_gguf;
pub mod matmul_gguf_q8;
pub mod matmul_packed;
pub mod matmul_packed_q8;
pub mod matmul_w8a8;
pub mod rms_norm;
pub mod rope;
pub mod silu_mul;
pub mod softmax;

pub use add::add_ref;
pub use attention::attention_ref;
pub use hadamard::hadamard_ref;
pub use matmul::matmul_ref;
pub use matmul_gguf::matmul_gguf_ref;
pub use matmul_gguf_q8::{gguf_q8_supported, matmul_gguf_q8_ref};
pub use matmul_packed::matmul_packed_ref;
pub use matmul_packed_q8::{
    act_order_perm, gather_columns, matmul_packed_q8_ref, q8_supported, quantize_rows_q8_ref, Q8_BLOCK,
};
pub use matmul_w8a8::{matmul_w8a8_ref, quantize_rows_i8_ref, w8a8_packed_codes, w8a8_packed_supported};
pub use rms_norm::rms_norm_ref;
pub use rope::{rope_ref, RopeTable};
pub use silu_mul::silu_mul_ref;
pub use softmax::softmax_ref;

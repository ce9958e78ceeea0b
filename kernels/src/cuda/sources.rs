//! The CUDA C sources of the backend, embedded with `include_str!`: `kernels/common.cuh`
//! (types, exact f16/bf16 widening, warp and block reductions) is put before each
//! `kernels/<op>.cu` to make one NVRTC program per op. [`ALL`] lists every source, so the NVRTC
//! compile check (`tests/nvrtc.rs`) can compile each one without a GPU.

/// One kernel source file.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// The file's stem, e.g. `matmul_packed` for `kernels/matmul_packed.cu`.
    pub name: &'static str,
    /// The file's text.
    pub text: &'static str,
}

impl Source {
    /// The program NVRTC compiles: `common.cuh`, then this file.
    pub fn full_text(&self) -> String {
        format!("{COMMON}\n#line 1 \"{}.cu\"\n{}", self.name, self.text)
    }
}

/// `kernels/common.cuh`.
pub const COMMON: &str = include_str!("kernels/common.cuh");

macro_rules! source {
    ($name:literal) => {
        Source { name: $name, text: include_str!(concat!("kernels/", $name, ".cu")) }
    };
}

/// `attention.cu`.
pub const ATTENTION: Source = source!("attention");
/// `add.cu`.
pub const ADD: Source = source!("add");
/// `silu_mul.cu`.
pub const SILU_MUL: Source = source!("silu_mul");
/// `rms_norm.cu`.
pub const RMS_NORM: Source = source!("rms_norm");
/// `softmax.cu`.
pub const SOFTMAX: Source = source!("softmax");
/// `rope.cu`.
pub const ROPE: Source = source!("rope");
/// `hadamard.cu`.
pub const HADAMARD: Source = source!("hadamard");
/// `matmul.cu`.
pub const MATMUL: Source = source!("matmul");
/// `matmul_packed.cu`.
pub const MATMUL_PACKED: Source = source!("matmul_packed");
/// `matmul_gguf.cu`.
pub const MATMUL_GGUF: Source = source!("matmul_gguf");
/// `matmul_w4_mma.cu`.
pub const MATMUL_W4_MMA: Source = source!("matmul_w4_mma");
/// `matmul_w8a8.cu`.
pub const MATMUL_W8A8: Source = source!("matmul_w8a8");

/// Every `.cu` source of the backend.
pub const ALL: &[Source] = &[
    ADD,
    ATTENTION,
    SILU_MUL,
    RMS_NORM,
    SOFTMAX,
    ROPE,
    HADAMARD,
    MATMUL,
    MATMUL_PACKED,
    MATMUL_W4_MMA,
    MATMUL_GGUF,
    MATMUL_W8A8,
];

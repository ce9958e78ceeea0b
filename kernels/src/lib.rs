//! `kernels`: the [`Backend`] trait the model calls for every op, and its implementations:
//! `ref` (scalar, `f64` accumulation; the anchor every other backend is tested against) and
//! `cpu` (rayon + eight-lane SIMD) and, with the `wgpu` feature, `wgsl` (WGSL compute shaders
//! through wgpu; see [`wgsl`]) and, with the `cuda` feature, `cuda` (CUDA C kernels compiled
//! at run time by NVRTC; see `cuda`).
//!
//! ```
//! use kernels::{backend_by_name, DenseWeight};
//! let be = backend_by_name("cpu").unwrap();
//! let (x, w) = (vec![1.0f32; 2 * 3], vec![0.5f32; 4 * 3]);
//! let mut y = vec![0.0f32; 2 * 4];
//! be.matmul(&x, 2, 3, DenseWeight::F32(&w), 4, &mut y).unwrap();
//! assert_eq!(y, vec![1.5; 8]);
//! ```
#![warn(missing_docs)]

pub mod backend;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod error;
pub mod hadamard;
pub mod kv;
pub mod ops;
pub mod prepared;
pub mod reference;
pub mod shapes;
pub mod w4_mma_layout;
#[cfg(feature = "wgpu")]
pub mod wgsl;

pub use backend::{Backend, DenseWeight};
pub use cpu::{CpuBackend, Isa, MatmulVariant};
#[cfg(feature = "cuda")]
pub use cuda::CudaBackend;
pub use error::{KernelError, Result};
pub use hadamard::Hadamard;
pub use ops::RopeTable;
pub use prepared::{PreparedWeight, WeightView};
pub use reference::RefBackend;
#[cfg(feature = "wgpu")]
pub use wgsl::WgslBackend;

/// The names [`backend_by_name`] accepts (`wgsl`, `wgsl-gemv` and `wgsl-tiled` only when
/// built with the `wgpu` feature, `cuda`, `cuda-wide`, `cuda-tuned` and `cuda-simple` only with the
/// `cuda` feature).
pub const BACKEND_NAMES: &[&str] = &[
    "auto",
    "cpu",
    "ref",
    "cpu-v1",
    "cpu-v2",
    "cpu-v3",
    "cpu-portable",
    "cpu-q8",
    #[cfg(feature = "wgpu")]
    "wgsl",
    #[cfg(feature = "wgpu")]
    "wgsl-gemv",
    #[cfg(feature = "wgpu")]
    "wgsl-tiled",
    #[cfg(feature = "cuda")]
    "cuda",
    #[cfg(feature = "cuda")]
    "cuda-wide",
    #[cfg(feature = "cuda")]
    "cuda-tuned",
    #[cfg(feature = "cuda")]
    "cuda-simple",
];

/// The CPU backend with its default variant and the best instruction set of this CPU: the
/// exact `f32` path (backend `cpu`), the reference twin of the fast one.
pub fn cpu_backend() -> Box<dyn Backend> {
    Box::new(CpuBackend::new())
}

/// The backend `auto` picks, what the CLI runs a model on unless told otherwise: the CPU with
/// int8 activations for quantized weights (`cpu-q8`: GGML blocks of every type the model loads,
/// int4 packed weights; W8A8 in integers on every CPU backend), llama.cpp's approach, with the
/// exact f32 path (`cpu`) kept as its reference twin. Its approximation is bounded per op in
/// the conformance tests and end to end by the model tests.
pub fn auto_backend() -> Box<dyn Backend> {
    Box::new(CpuBackend::new().with_int8_activations(true))
}

/// The CUDA backend on device 0 (tuned int4 kernel, automatic dense kernel). A machine
/// without the NVIDIA driver, a device or NVRTC gets [`KernelError::Device`], not a panic.
#[cfg(feature = "cuda")]
pub fn cuda_backend() -> Result<Box<dyn Backend>> {
    Ok(Box::new(CudaBackend::new()?))
}

/// Without the `cuda` feature: always [`KernelError::Unsupported`] saying how to build it in.
#[cfg(not(feature = "cuda"))]
pub fn cuda_backend() -> Result<Box<dyn Backend>> {
    Err(no_cuda())
}

#[cfg(not(feature = "cuda"))]
fn no_cuda() -> KernelError {
    KernelError::Unsupported {
        op: "backend",
        what: "backend 'cuda': this binary was built without the CUDA backend; rebuild with `--features cuda`"
            .to_string(),
    }
}

/// The scalar reference backend.
pub fn ref_backend() -> Box<dyn Backend> {
    Box::new(RefBackend)
}

/// A backend by name: `auto` ([`auto_backend`]: today `cpu-q8`), `cpu` (default variant, best
/// instruction set, exact f32), `ref`, `cpu-v1` /
/// `cpu-v2` / `cpu-v3` (a given matmul variant), `cpu-portable` (default variant without
/// AVX2), `cpu-q8` (default variant, int8 activations for int2/3/4/8 packed and GGML block weights: see
/// [`CpuBackend::with_int8_activations`]), `wgsl` / `wgsl-gemv` / `wgsl-tiled` (the WGSL backend with the automatic, GEMV-only or
/// tiled-only dense matmul; feature `wgpu`), `cuda` / `cuda-wide` / `cuda-tuned` / `cuda-simple`
/// (the CUDA backend with the tensor-core int4 kernel (default), the wide decode kernel, the
/// tuned or the simple one: [`cuda::W4Variant`]; feature `cuda`, and without it an error saying
/// so). Unknown names give [`KernelError::UnknownBackend`] listing the known ones.
pub fn backend_by_name(name: &str) -> Result<Box<dyn Backend>> {
    let cpu = |variant, isa| -> Result<Box<dyn Backend>> { Ok(Box::new(CpuBackend::with(variant, isa)?)) };
    match name {
        "auto" => Ok(auto_backend()),
        "cpu" => Ok(cpu_backend()),
        "ref" => Ok(ref_backend()),
        "cpu-v1" => cpu(MatmulVariant::V1Rows, Isa::detect()),
        "cpu-v2" => cpu(MatmulVariant::V2Tiled, Isa::detect()),
        "cpu-v3" => cpu(MatmulVariant::V3Panel, Isa::detect()),
        "cpu-portable" => cpu(MatmulVariant::default(), Isa::Portable),
        "cpu-q8" => Ok(Box::new(CpuBackend::new().with_int8_activations(true))),
        #[cfg(feature = "wgpu")]
        "wgsl" => Ok(Box::new(WgslBackend::new()?)),
        #[cfg(feature = "wgpu")]
        "wgsl-gemv" => Ok(Box::new(WgslBackend::with_variant(wgsl::DenseVariant::Gemv)?)),
        #[cfg(feature = "wgpu")]
        "wgsl-tiled" => Ok(Box::new(WgslBackend::with_variant(wgsl::DenseVariant::Tiled)?)),
        #[cfg(feature = "cuda")]
        "cuda" => cuda_backend(),
        #[cfg(feature = "cuda")]
        "cuda-simple" => Ok(Box::new(CudaBackend::new()?.with_w4_variant(cuda::W4Variant::Simple))),
        #[cfg(feature = "cuda")]
        "cuda-tuned" => Ok(Box::new(CudaBackend::new()?.with_w4_variant(cuda::W4Variant::Tuned))),
        #[cfg(feature = "cuda")]
        "cuda-wide" => Ok(Box::new(CudaBackend::new()?.with_w4_variant(cuda::W4Variant::Wide))),
        #[cfg(not(feature = "cuda"))]
        "cuda" | "cuda-wide" | "cuda-tuned" | "cuda-simple" => Err(no_cuda()),
        _ => Err(KernelError::UnknownBackend { name: name.to_string(), known: BACKEND_NAMES.join(", ") }),
    }
}

//! Backend conformance (ggml test-backend-ops style): one test body per op in its own module,
//! instantiated for every backend by [`backend_tests!`]. A backend whose instruction set the
//! CPU lacks reports SKIP; `QTOOL_REQUIRE=cpu_v2,...` (labels below) turns SKIP into failure.
//! With `--features wgpu` the `wgsl` and `wgsl_tiled` backends run too (on lavapipe in CI) and
//! fail when no adapter is found unless `QTOOL_SKIP_WGSL=1`; `wgsl_only.rs` holds their extra tests.
//! With `--features cuda` the `cuda` and `cuda_simple` backends run when a CUDA device is
//! present and SKIP otherwise (`QTOOL_REQUIRE=cuda` turns that SKIP into failure);
//! `cuda_only.rs` holds their extra tests and `nvrtc.rs` compiles every CUDA source with NVRTC
//! alone (no GPU needed; SKIP without libnvrtc unless `QTOOL_REQUIRE` names `nvrtc`).

mod add;
mod attention;
mod cpu_bits;
#[cfg(feature = "cuda")]
mod cuda_only;
mod hadamard;
mod matmul;
mod matmul_gguf;
mod matmul_gguf_q8;
mod matmul_packed;
mod matmul_packed_q8;
mod matmul_packed_q8_bits;
mod matmul_w8a8;
#[cfg(feature = "cuda")]
mod nvrtc;
mod prepared;
mod rms_norm;
mod rope;
mod silu_mul;
mod softmax;
mod util;
#[cfg(feature = "wgpu")]
mod wgsl_only;

use kernels::{Backend, CpuBackend, Isa, KernelError, MatmulVariant, RefBackend};

/// `backend_tests!(label, ctor)`: a module `label` with one `#[test]` per op body, each
/// building the backend with `ctor: fn() -> Result<Box<dyn Backend>, KernelError>`.
macro_rules! backend_tests {
    ($label:ident, $ctor:expr) => {
        mod $label {
            use super::*;

            fn backend() -> Option<Box<dyn Backend>> {
                util::make(stringify!($label), $ctor)
            }

            #[test]
            fn attention() {
                if let Some(be) = backend() {
                    attention::sweep(&*be);
                }
            }
            #[test]
            fn matmul_f32() {
                if let Some(be) = backend() {
                    matmul::sweep(&*be, matmul::Dtype::F32);
                }
            }
            #[test]
            fn matmul_bf16() {
                if let Some(be) = backend() {
                    matmul::sweep(&*be, matmul::Dtype::Bf16);
                }
            }
            #[test]
            fn matmul_f16() {
                if let Some(be) = backend() {
                    matmul::sweep(&*be, matmul::Dtype::F16);
                }
            }
            #[test]
            fn matmul_deterministic() {
                if let Some(be) = backend() {
                    matmul::deterministic(&*be);
                }
            }
            #[test]
            fn matmul_shape_errors() {
                if let Some(be) = backend() {
                    matmul::shape_errors(&*be);
                }
            }
            #[test]
            fn matmul_packed() {
                if let Some(be) = backend() {
                    matmul_packed::sweep(&*be);
                }
            }
            #[test]
            fn matmul_packed_act_order() {
                if let Some(be) = backend() {
                    matmul_packed::act_order(&*be);
                }
            }
            #[test]
            fn matmul_packed_scale_dtypes() {
                if let Some(be) = backend() {
                    matmul_packed::scale_dtypes(&*be);
                }
            }
            #[test]
            fn matmul_packed_shape_errors() {
                if let Some(be) = backend() {
                    matmul_packed::shape_errors(&*be);
                }
            }
            #[test]
            fn matmul_gguf() {
                if let Some(be) = backend() {
                    matmul_gguf::sweep(&*be);
                }
            }
            #[test]
            fn matmul_gguf_shape_errors() {
                if let Some(be) = backend() {
                    matmul_gguf::shape_errors(&*be);
                }
            }
            #[test]
            fn matmul_quantized_deterministic() {
                if let Some(be) = backend() {
                    matmul_gguf::deterministic(&*be);
                }
            }
            #[test]
            fn matmul_w8a8() {
                if let Some(be) = backend() {
                    matmul_w8a8::sweep(&*be);
                }
            }
            #[test]
            fn matmul_w8a8_extremes() {
                if let Some(be) = backend() {
                    matmul_w8a8::extremes(&*be);
                }
            }
            #[test]
            fn matmul_w8a8_packed() {
                if let Some(be) = backend() {
                    matmul_w8a8::packed(&*be);
                }
            }
            #[test]
            fn matmul_w8a8_shape_errors() {
                if let Some(be) = backend() {
                    matmul_w8a8::shape_errors(&*be);
                }
            }
            #[test]
            fn prepared_same_as_plain() {
                if let Some(be) = backend() {
                    prepared::same_as_plain(&*be);
                }
            }
            #[test]
            fn prepared_errors() {
                if let Some(be) = backend() {
                    prepared::errors(&*be);
                }
            }
            #[test]
            fn prepared_w8a8() {
                if let Some(be) = backend() {
                    prepared::w8a8(&*be);
                }
            }
            #[test]
            fn rms_norm() {
                if let Some(be) = backend() {
                    rms_norm::sweep(&*be);
                }
            }
            #[test]
            fn silu_mul() {
                if let Some(be) = backend() {
                    silu_mul::sweep(&*be);
                }
            }
            #[test]
            fn softmax() {
                if let Some(be) = backend() {
                    softmax::sweep(&*be);
                }
            }
            #[test]
            fn rope() {
                if let Some(be) = backend() {
                    rope::sweep(&*be);
                }
            }
            #[test]
            fn add() {
                if let Some(be) = backend() {
                    add::sweep(&*be);
                }
            }
            #[test]
            fn hadamard() {
                if let Some(be) = backend() {
                    hadamard::sweep(&*be);
                }
            }
        }
    };
}

fn cpu(variant: MatmulVariant, isa: Isa) -> Result<Box<dyn Backend>, KernelError> {
    Ok(Box::new(CpuBackend::with(variant, isa)?))
}

backend_tests!(reference, || Ok(Box::new(RefBackend)));
backend_tests!(cpu_v1, || cpu(MatmulVariant::V1Rows, Isa::Avx2Fma));
backend_tests!(cpu_v2, || cpu(MatmulVariant::V2Tiled, Isa::Avx2Fma));
backend_tests!(cpu_v1_portable, || cpu(MatmulVariant::V1Rows, Isa::Portable));
backend_tests!(cpu_v2_portable, || cpu(MatmulVariant::V2Tiled, Isa::Portable));
backend_tests!(cpu_v3, || cpu(MatmulVariant::V3Panel, Isa::Avx2Fma));
backend_tests!(cpu_v3_portable, || cpu(MatmulVariant::V3Panel, Isa::Portable));
#[cfg(feature = "wgpu")]
backend_tests!(wgsl, || Ok(Box::new(kernels::WgslBackend::new()?)));
#[cfg(feature = "wgpu")]
backend_tests!(wgsl_tiled, || Ok(Box::new(kernels::WgslBackend::with_variant(kernels::wgsl::DenseVariant::Tiled)?)));
#[cfg(feature = "cuda")]
backend_tests!(cuda, kernels::cuda_backend);
#[cfg(feature = "cuda")]
backend_tests!(cuda_simple, || Ok(Box::new(
    kernels::CudaBackend::new()?.with_w4_variant(kernels::cuda::W4Variant::Simple)
)));
#[cfg(feature = "cuda")]
backend_tests!(cuda_wide, || Ok(Box::new(
    kernels::CudaBackend::new()?.with_w4_variant(kernels::cuda::W4Variant::Wide)
)));
#[cfg(feature = "cuda")]
backend_tests!(cuda_tuned, || Ok(Box::new(
    kernels::CudaBackend::new()?.with_w4_variant(kernels::cuda::W4Variant::Tuned)
)));

#[test]
fn backend_by_name_knows_its_names() {
    for name in kernels::BACKEND_NAMES {
        match kernels::backend_by_name(name) {
            Ok(_) | Err(KernelError::IsaUnavailable { .. }) => {}
            Err(KernelError::Device { backend: "cuda", .. }) if !util::required("cuda") => {}
            Err(KernelError::Device { .. }) if util::skip_wgsl() => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    let err = kernels::backend_by_name("cuda-ish").err().expect("unknown name");
    let msg = err.to_string();
    assert!(msg.contains("cuda-ish") && msg.contains("cpu"), "{msg}");
    #[cfg(not(feature = "cuda"))]
    {
        let msg = kernels::backend_by_name("cuda").err().expect("no cuda without the feature").to_string();
        assert!(msg.contains("--features cuda"), "{msg}");
    }
}

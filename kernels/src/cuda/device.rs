//! Context, stream and module cache of the CUDA backend: one [`CudaDevice`] per process
//! (device 0, shared by every [`super::CudaBackend`]), holding the driver context, one stream
//! every launch and copy goes through, and the modules compiled so far.
//!
//! Kernel sources (`kernels/*.cu`, each put after `kernels/common.cuh`) are compiled with
//! NVRTC at run time for the device's own architecture (`compute_XY` PTX, which the driver
//! JIT-compiles), once per process, and cached by a hash of the source text.
//!
//! cudarc loads `libcuda` and `libnvrtc` with `dlopen` and panics when one is missing, so every
//! first touch of a library is preceded by a presence probe and wrapped in
//! [`std::panic::catch_unwind`]: no driver, no device or no NVRTC is a
//! [`KernelError::Device`], never a panic.

use super::sources::Source;
use crate::error::{KernelError, Result};
use cudarc::driver::{CudaContext, CudaFunction, CudaModule, CudaStream};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

/// Shorthand for a [`KernelError::Device`] of this backend.
pub(crate) fn device_err(what: impl Into<String>) -> KernelError {
    KernelError::Device { backend: "cuda", what: what.into() }
}

/// Runs `f`, turning a panic inside cudarc (a missing library or symbol) into an error naming
/// `what`.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        Err(device_err(format!("{what}: cudarc panicked: {msg}")))
    })
}

/// Whether `libnvrtc` can be loaded (cudarc's own search: `libnvrtc.so`, `libnvrtc.so.13`, ...
/// through the dynamic loader, so `LD_LIBRARY_PATH` applies). Loads nothing else.
pub fn nvrtc_present() -> bool {
    guarded("probing libnvrtc", || Ok(unsafe { cudarc::nvrtc::sys::is_culib_present() })).unwrap_or(false)
}

/// Whether the CUDA driver library (`libcuda.so.1`) can be loaded.
pub fn driver_present() -> bool {
    guarded("probing libcuda", || Ok(unsafe { cudarc::driver::sys::is_culib_present() })).unwrap_or(false)
}

/// NVRTC's version `(major, minor)`; an error when `libnvrtc` is absent.
pub fn nvrtc_version() -> Result<(i32, i32)> {
    if !nvrtc_present() {
        return Err(no_nvrtc());
    }
    guarded("nvrtcVersion", || {
        let (mut major, mut minor) = (0, 0);
        let r = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        r.result().map_err(|e| device_err(format!("nvrtcVersion: {e:?}")))?;
        Ok((major, minor))
    })
}

fn no_nvrtc() -> KernelError {
    device_err(
        "libnvrtc not found (searched libnvrtc.so, libnvrtc.so.13, ... through the dynamic loader); \
         install the CUDA toolkit or the nvidia-cuda-nvrtc wheel and put its lib directory on LD_LIBRARY_PATH",
    )
}

/// Compiles `src` (a `.cu` source from [`super::sources::ALL`]) to PTX for `arch` (e.g. `compute_90`)
/// with NVRTC alone (no driver, no device needed). A compile error carries NVRTC's log.
pub fn compile_ptx(src: &Source, arch: &str) -> Result<cudarc::nvrtc::Ptx> {
    if !nvrtc_present() {
        return Err(no_nvrtc());
    }
    let code = src.full_text();
    guarded(&format!("compiling {}.cu", src.name), || {
        let opts = cudarc::nvrtc::CompileOptions {
            options: vec![format!("--gpu-architecture={arch}"), "--std=c++17".to_string()],
            name: Some(format!("{}.cu", src.name)),
            ..Default::default()
        };
        cudarc::nvrtc::compile_ptx_with_opts(&code, opts).map_err(|e| match e {
            cudarc::nvrtc::CompileError::CompileError { nvrtc, log, .. } => device_err(format!(
                "NVRTC failed on {}.cu for {arch} ({nvrtc:?}):\n{}",
                src.name,
                log.to_string_lossy()
            )),
            e => device_err(format!("NVRTC on {}.cu for {arch}: {e:?}", src.name)),
        })
    })
}

/// The device, its stream and the compiled modules.
pub struct CudaDevice {
    /// The driver context of device 0.
    pub ctx: Arc<CudaContext>,
    /// The stream every copy and launch of this backend goes through.
    pub stream: Arc<CudaStream>,
    /// The device's name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Compute capability `(major, minor)`.
    pub compute_capability: (i32, i32),
    /// Streaming multiprocessors (sizes split-K).
    pub sm_count: u32,
    /// Modules by hash of (source text, architecture).
    modules: Mutex<HashMap<u64, Arc<CudaModule>>>,
}

impl std::fmt::Debug for CudaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaDevice")
            .field("name", &self.name)
            .field("compute_capability", &self.compute_capability)
            .field("sm_count", &self.sm_count)
            .finish_non_exhaustive()
    }
}

impl CudaDevice {
    /// Opens device 0: the driver library, a device, and NVRTC must all be present.
    pub fn open() -> Result<CudaDevice> {
        if !driver_present() {
            return Err(device_err(
                "the CUDA driver library (libcuda.so.1) was not found: no NVIDIA driver on this machine",
            ));
        }
        if !nvrtc_present() {
            return Err(no_nvrtc());
        }
        guarded("opening the CUDA device", || {
            let count = CudaContext::device_count()
                .map_err(|e| device_err(format!("initialising the driver and counting devices: {e}")))?;
            if count < 1 {
                return Err(device_err("the CUDA driver reports no device"));
            }
            let ctx = CudaContext::new(0).map_err(|e| device_err(format!("creating a context on device 0: {e}")))?;
            let name = ctx.name().map_err(|e| device_err(format!("device name: {e}")))?;
            let compute_capability =
                ctx.compute_capability().map_err(|e| device_err(format!("compute capability: {e}")))?;
            let sm_count = ctx
                .attribute(cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
                .map_err(|e| device_err(format!("multiprocessor count: {e}")))?;
            // Every copy and launch of this backend goes through the one stream below, so
            // cudarc's cross-stream tracking (events recorded per argument of every launch,
            // which also stand in the way of CUDA graph capture) has nothing to order.
            // SAFETY: no CudaSlice of this context is ever used on another stream.
            unsafe { ctx.disable_event_tracking() };
            let stream = ctx.new_stream().map_err(|e| device_err(format!("creating a stream: {e}")))?;
            Ok(CudaDevice {
                ctx,
                stream,
                name,
                compute_capability,
                sm_count: sm_count.max(1) as u32,
                modules: Mutex::new(HashMap::new()),
            })
        })
    }

    /// The process-wide device, opened on first use; every later call gets the same device or
    /// the same error.
    pub fn shared() -> Result<Arc<CudaDevice>> {
        static SHARED: OnceLock<std::result::Result<Arc<CudaDevice>, String>> = OnceLock::new();
        let opened = SHARED.get_or_init(|| {
            CudaDevice::open().map(Arc::new).map_err(|e| match e {
                KernelError::Device { what, .. } => what,
                e => e.to_string(),
            })
        });
        opened.clone().map_err(device_err)
    }

    /// The PTX architecture kernels are compiled for: the device's own (`compute_90` on an H100).
    pub fn arch(&self) -> String {
        format!("compute_{}{}", self.compute_capability.0, self.compute_capability.1)
    }

    /// Kernel `name` of `src`, compiling and loading the source on first use.
    pub fn function(&self, src: &Source, name: &str) -> Result<CudaFunction> {
        let arch = self.arch();
        let key = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            src.full_text().hash(&mut h);
            arch.hash(&mut h);
            h.finish()
        };
        let module = {
            let mut map = self.modules.lock().map_err(|_| device_err("module cache poisoned"))?;
            match map.get(&key) {
                Some(m) => m.clone(),
                None => {
                    let ptx = compile_ptx(src, &arch)?;
                    let m = guarded("loading a module", || {
                        self.ctx.load_module(ptx).map_err(|e| {
                            device_err(format!(
                                "loading the PTX of {}.cu ({arch}): {e} (CUDA_ERROR_UNSUPPORTED_PTX_VERSION means \
                                     libnvrtc is newer than the driver: use an NVRTC no newer than the driver's CUDA)",
                                src.name
                            ))
                        })
                    })?;
                    map.insert(key, m.clone());
                    m
                }
            }
        };
        module.load_function(name).map_err(|e| device_err(format!("kernel {name} in {}.cu: {e}", src.name)))
    }

    /// Waits for the stream; an asynchronous kernel fault surfaces here, named by `op`.
    pub fn sync(&self, op: &str) -> Result<()> {
        self.stream.synchronize().map_err(|e| device_err(format!("{op}: {e}")))
    }

    /// How many modules have been compiled.
    pub fn modules_compiled(&self) -> usize {
        self.modules.lock().map(|m| m.len()).unwrap_or(0)
    }
}

//! Adapter and device setup for the WGSL backend: one [`Gpu`] per process (shared by every
//! [`super::WgslBackend`] made with `new`), holding the device, its queue, the features this
//! backend uses when the adapter offers them, and the pipeline cache. The absence of an adapter
//! (no Vulkan driver, no GPU, no lavapipe) is an error value, never a panic.

use super::pipelines::PipelineCache;
use crate::error::{KernelError, Result};
use std::sync::{Arc, OnceLock};

/// Shorthand for a [`KernelError::Device`] of this backend.
pub(crate) fn device_err(what: impl Into<String>) -> KernelError {
    KernelError::Device { backend: "wgsl", what: what.into() }
}

/// A device, its queue and what it offers.
pub struct Gpu {
    /// The wgpu device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Adapter name, driver and backend, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)`.
    pub description: String,
    /// Whether `shader-f16` was enabled (f16 group scales are then read as `array<f16>`).
    pub shader_f16: bool,
    /// Whether subgroup operations were enabled (the packed decode GEMV sums rows with them).
    pub subgroups: bool,
    /// Whether timestamp queries were enabled (benchmarks read GPU time from them).
    pub timestamps: bool,
    /// The largest storage-buffer binding, in bytes (wgpu's default limit is 128 MiB).
    pub max_binding: u64,
    /// The largest buffer, in bytes.
    pub max_buffer: u64,
    /// Compiled pipelines, per (shader, constants).
    pub pipelines: PipelineCache,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("description", &self.description)
            .field("shader_f16", &self.shader_f16)
            .field("max_binding", &self.max_binding)
            .finish_non_exhaustive()
    }
}

impl Gpu {
    /// Opens the best adapter wgpu finds (high-performance preference; `WGPU_BACKEND`,
    /// `WGPU_ADAPTER_NAME` and the other wgpu environment variables apply).
    pub fn open() -> Result<Gpu> {
        if wgpu::Instance::enabled_backend_features().is_empty() {
            return Err(device_err("wgpu was built without a backend for this platform"));
        }
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        };
        let adapter = pollster::block_on(instance.request_adapter(&options)).map_err(|e| {
            device_err(format!(
                "no GPU adapter ({e}); install a Vulkan driver (Debian: mesa-vulkan-drivers libvulkan1) \
                 or set QTOOL_SKIP_WGSL=1 to skip the WGSL tests"
            ))
        })?;
        let info = adapter.get_info();
        let offered = adapter.features();
        let wanted = wgpu::Features::SHADER_F16 | wgpu::Features::SUBGROUP | wgpu::Features::TIMESTAMP_QUERY;
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("qtool-wgsl"),
            required_features: offered & wanted,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| device_err(format!("request_device on {}: {e}", info.name)))?;
        let got = device.limits();
        Ok(Gpu {
            description: format!("{} ({}, {:?})", info.name, info.driver_info, info.backend),
            shader_f16: offered.contains(wgpu::Features::SHADER_F16),
            subgroups: offered.contains(wgpu::Features::SUBGROUP),
            timestamps: offered.contains(wgpu::Features::TIMESTAMP_QUERY),
            max_binding: got.max_storage_buffer_binding_size,
            max_buffer: got.max_buffer_size,
            device,
            queue,
            pipelines: PipelineCache::default(),
        })
    }

    /// The process-wide device, opened on first use; every later call gets the same device or
    /// the same error.
    pub fn shared() -> Result<Arc<Gpu>> {
        static SHARED: OnceLock<std::result::Result<Arc<Gpu>, String>> = OnceLock::new();
        let opened = SHARED.get_or_init(|| {
            Gpu::open().map(Arc::new).map_err(|e| match e {
                KernelError::Device { what, .. } => what,
                e => e.to_string(),
            })
        });
        opened.clone().map_err(device_err)
    }

    /// Runs `f` inside validation and out-of-memory error scopes and turns a captured error
    /// into [`KernelError::Device`] naming `what`.
    pub fn checked<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = v.or(o) {
            return Err(device_err(format!("{what}: {e}")));
        }
        out
    }
}

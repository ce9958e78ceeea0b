//! Compute pipelines compiled at run time from the `.wgsl` files in `shaders/` (embedded with
//! `include_str!`), one per (shader, prelude, override constants), cached in the [`Gpu`] they
//! were compiled for. Bind-group layouts are explicit (not derived from the shader), so a
//! binding that a specialisation leaves unused is still accepted.
//!
//! [`Gpu`]: super::device::Gpu

use super::device::device_err;
use crate::error::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How a shader uses one binding of group 0 (bindings are numbered in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// `var<uniform>` parameters.
    Uniform,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// One shader specialisation: its source file, an optional generated prelude put before it,
/// the override constants it is compiled with, and its bindings.
#[derive(Clone, Debug)]
pub struct ShaderSpec {
    /// Cache and debug name, e.g. `matmul_packed_gemv`.
    pub name: &'static str,
    /// The shader's WGSL source.
    pub source: &'static str,
    /// WGSL put before `source` (enable directives, binding declarations that vary).
    pub prelude: String,
    /// Override constants, by name.
    pub constants: Vec<(&'static str, f64)>,
    /// Bindings 0.. of group 0.
    pub slots: Vec<Slot>,
}

/// A compiled pipeline and its bind-group layout.
pub struct Pipeline {
    /// The pipeline.
    pub pipeline: wgpu::ComputePipeline,
    /// Layout of group 0.
    pub layout: wgpu::BindGroupLayout,
}

/// Pipelines by (name, prelude, constants).
#[derive(Default)]
pub struct PipelineCache {
    map: Mutex<HashMap<String, Arc<Pipeline>>>,
}

impl PipelineCache {
    /// The pipeline for `spec`, compiled on first use.
    pub fn get(&self, device: &wgpu::Device, spec: &ShaderSpec) -> Result<Arc<Pipeline>> {
        let key = format!("{}|{}|{:?}", spec.name, spec.prelude, spec.constants);
        let mut map = self.map.lock().map_err(|_| device_err("pipeline cache poisoned"))?;
        if let Some(p) = map.get(&key) {
            return Ok(p.clone());
        }
        let p = Arc::new(compile(device, spec)?);
        map.insert(key, p.clone());
        Ok(p)
    }

    /// How many pipelines have been compiled.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether none has been compiled yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn compile(device: &wgpu::Device, spec: &ShaderSpec) -> Result<Pipeline> {
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let source = format!("{}\n{}", spec.prelude, spec.source);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(spec.name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let entries: Vec<wgpu::BindGroupLayoutEntry> = spec
        .slots
        .iter()
        .enumerate()
        .map(|(i, slot)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match slot {
                    Slot::Uniform => wgpu::BufferBindingType::Uniform,
                    Slot::Read => wgpu::BufferBindingType::Storage { read_only: true },
                    Slot::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let layout =
        device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(spec.name), entries: &entries });
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(spec.name),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(spec.name),
        layout: Some(&pl),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions { constants: &spec.constants, ..Default::default() },
        cache: None,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(device_err(format!("compiling shader {} {:?}: {e}", spec.name, spec.constants)));
    }
    Ok(Pipeline { pipeline, layout })
}

//! Buffer helpers: storage buffers from host slices (padded to whole 4-byte words, never
//! empty, since WGSL binds `array<u32>` / `array<f32>`), uniform parameter blocks, one
//! encoder that records dispatches and a read-back, and the split of a weight's rows into
//! chunks that each fit one binding.

use super::device::{device_err, Gpu};
use super::pipelines::Pipeline;
use crate::error::Result;
use std::ops::Range;
use wgpu::util::DeviceExt;

/// A read-only storage buffer holding `bytes` (zero-padded to a multiple of 4, at least 4).
pub fn storage(gpu: &Gpu, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    let padded;
    let contents = if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        let mut v = bytes.to_vec();
        v.resize(bytes.len().div_ceil(4).max(1) * 4, 0);
        padded = v;
        &padded[..]
    } else {
        bytes
    };
    gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    })
}

/// A storage buffer of `f32`s.
pub fn storage_f32(gpu: &Gpu, label: &str, v: &[f32]) -> wgpu::Buffer {
    storage(gpu, label, bytemuck::cast_slice(v))
}

/// An uninitialised read-write storage buffer of `len` f32 outputs.
pub fn output_f32(gpu: &Gpu, label: &str, len: usize) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (len.max(1) * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// A uniform block of 32-bit words (padded to 16 bytes).
pub fn uniform(gpu: &Gpu, words: &[u32]) -> wgpu::Buffer {
    let mut v = words.to_vec();
    v.resize(words.len().div_ceil(4).max(1) * 4, 0);
    gpu.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("params"),
        contents: bytemuck::cast_slice(&v),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

/// Converts a `usize` shape value to the `u32` shaders index with.
pub fn u32_of(what: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| device_err(format!("{what} = {v} does not fit the shaders' u32 indices")))
}

/// A workgroup grid for `groups` workgroups: (x, y) with x at most 65535 (WebGPU's default
/// per-dimension limit); shaders linearise as `id.x + id.y * num_workgroups.x`.
pub fn grid(groups: usize) -> (u32, u32) {
    const MAX: usize = 65_535;
    if groups <= MAX {
        (groups.max(1) as u32, 1)
    } else {
        (MAX as u32, groups.div_ceil(MAX) as u32)
    }
}

/// Rows `0..n` split into chunks whose every per-row buffer (`row_bytes` lists each buffer's
/// bytes per row) fits in `max_binding` bytes.
pub fn row_chunks(n: usize, row_bytes: &[usize], max_binding: u64) -> Result<Vec<Range<usize>>> {
    let widest = row_bytes.iter().copied().max().unwrap_or(0).max(1) as u64;
    // Leave room for the 4-byte padding a 16-bit chunk may need.
    let rows = (max_binding.saturating_sub(4) / widest) as usize;
    if rows == 0 {
        return Err(device_err(format!(
            "one weight row of {widest} bytes exceeds the {max_binding}-byte binding limit"
        )));
    }
    Ok((0..n.div_ceil(rows)).map(|c| c * rows..((c + 1) * rows).min(n)).collect())
}

/// Records dispatches into one command encoder; `finish` submits them and reads back.
pub struct Batch<'g> {
    gpu: &'g Gpu,
    encoder: wgpu::CommandEncoder,
}

impl<'g> Batch<'g> {
    /// An empty batch.
    pub fn new(gpu: &'g Gpu) -> Self {
        let encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("qtool") });
        Batch { gpu, encoder }
    }

    /// Dispatches `pipe` over `groups` workgroups with `buffers` bound to bindings 0...
    pub fn dispatch(&mut self, pipe: &Pipeline, buffers: &[&wgpu::Buffer], groups: (u32, u32, u32)) {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
            .collect();
        let bind = self.gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipe.layout,
            entries: &entries,
        });
        let mut pass = self.encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(&pipe.pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    }

    /// Submits, waits, and copies the first `out.len()` f32s of `src` into `out`.
    pub fn finish_read(self, src: &wgpu::Buffer, out: &mut [f32]) -> Result<()> {
        let Batch { gpu, mut encoder } = self;
        if out.is_empty() {
            gpu.queue.submit([encoder.finish()]);
            return Ok(());
        }
        let bytes = (out.len() * 4) as u64;
        let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(src, 0, &staging, 0, bytes);
        gpu.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        gpu.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| device_err(format!("poll: {e}")))?;
        rx.recv()
            .map_err(|_| device_err("read-back callback never ran"))?
            .map_err(|e| device_err(format!("mapping the read-back buffer: {e}")))?;
        {
            let view = staging.get_mapped_range(..).map_err(|e| device_err(format!("mapped range: {e}")))?;
            out.copy_from_slice(bytemuck::cast_slice(&view));
        }
        staging.unmap();
        Ok(())
    }
}

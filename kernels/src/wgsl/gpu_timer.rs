//! GPU time of the dispatches recorded into one compute pass, read from timestamps the GPU
//! writes at the pass's start and end (`Features::TIMESTAMP_QUERY`, enabled when the adapter
//! offers it). Unlike a host clock around submit-and-wait, this leaves out the CPU's encoding
//! of the commands, the submission and the read-back. For benchmarks only.

use super::device::device_err;
use super::device::Gpu;
use crate::error::Result;

/// Seconds between the start and the end of one compute pass holding what `record` puts in
/// it, or `None` when the device has no timestamp queries.
pub fn time_pass(gpu: &Gpu, record: impl FnOnce(&mut wgpu::ComputePass<'_>)) -> Result<Option<f64>> {
    if !gpu.timestamps {
        return Ok(None);
    }
    let dev = &gpu.device;
    let queries = dev.create_query_set(&wgpu::QuerySetDescriptor {
        label: Some("pass time"),
        ty: wgpu::QueryType::Timestamp,
        count: 2,
    });
    let buffer = |usage| {
        dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage,
            mapped_at_creation: false,
        })
    };
    let resolved = buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC);
    let staging = buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
    let mut encoder = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("timed pass") });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("timed pass"),
            timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                query_set: &queries,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
        });
        record(&mut pass);
    }
    encoder.resolve_query_set(&queries, 0..2, &resolved, 0);
    encoder.copy_buffer_to_buffer(&resolved, 0, &staging, 0, 16);
    gpu.queue.submit([encoder.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    dev.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| device_err(format!("poll: {e}")))?;
    rx.recv()
        .map_err(|_| device_err("timestamp read-back callback never ran"))?
        .map_err(|e| device_err(format!("mapping the timestamps: {e}")))?;
    let ticks: [u64; 2] = {
        let view = staging.get_mapped_range(..).map_err(|e| device_err(format!("mapped range: {e}")))?;
        let words: &[u64] = bytemuck::cast_slice(&view);
        [words[0], words[1]]
    };
    staging.unmap();
    let ns = ticks[1].saturating_sub(ticks[0]) as f64 * f64::from(gpu.queue.get_timestamp_period());
    Ok(Some(ns * 1e-9))
}

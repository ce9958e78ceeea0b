//! Attention launcher (`attention.wgsl`): one workgroup per (query, head) over a KV cache in
//! [`crate::kv`] storage. Each of K and V travels as its
//! [`DeviceOperands`](crate::kv::DeviceOperands) (words and (scale, zero) pairs), so the shader
//! binds seven storage buffers (the default limit is eight).

use super::buffers::{self, grid, u32_of, Batch};
use super::device::Gpu;
use super::pipelines::{ShaderSpec, Slot};
use crate::error::Result;
use crate::kv::KvView;

/// `out[m, n_heads, head_dim]` (shapes already validated).
pub fn run(gpu: &Gpu, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()> {
    let spec = ShaderSpec {
        name: "attention",
        source: include_str!("shaders/attention.wgsl"),
        prelude: String::new(),
        constants: vec![],
        slots: vec![
            Slot::Uniform,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::Read,
            Slot::ReadWrite,
            Slot::ReadWrite,
        ],
    };
    let pipe = gpu.pipelines.get(&gpu.device, &spec)?;
    let (k, v) = (kv.k.device_operands(), kv.v.device_operands());
    let rows = m * n_heads;
    gpu.checked("attention", || {
        let words = [
            u32_of("m", m)?,
            u32_of("n_heads", n_heads)?,
            u32_of("len", kv.len)?,
            u32_of("n_kv_heads", kv.n_kv_heads)?,
            u32_of("head_dim", kv.head_dim)?,
            u32_of("group", n_heads / kv.n_kv_heads)?,
            k.mode,
            k.bits,
            k.axis,
            v.mode,
            v.bits,
            v.axis,
            (1.0 / (kv.head_dim as f32).sqrt()).to_bits(),
            0,
            0,
            0,
        ];
        let params = buffers::uniform(gpu, &words);
        let qb = buffers::storage_f32(gpu, "q", q);
        let kd = buffers::storage(gpu, "K words", bytemuck::cast_slice(&k.words));
        let ksz = buffers::storage_f32(gpu, "K scales and zeros", &k.scale_zero);
        let vd = buffers::storage(gpu, "V words", bytemuck::cast_slice(&v.words));
        let vsz = buffers::storage_f32(gpu, "V scales and zeros", &v.scale_zero);
        let scratch = buffers::output_f32(gpu, "attention scores", u32_of("scores", rows * kv.len)? as usize);
        let ob = buffers::output_f32(gpu, "out", out.len());
        let (gx, gy) = grid(rows);
        let mut batch = Batch::new(gpu);
        batch.dispatch(&pipe, &[&params, &qb, &kd, &ksz, &vd, &vsz, &scratch, &ob], (gx, gy, 1));
        batch.finish_read(&ob, out)
    })
}

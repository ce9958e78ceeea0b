//! `attention` launcher (`kernels/attention.cu`): one block per (query, head) over a KV cache in
//! [`crate::kv`] storage. Each of K and V is uploaded as its
//! [`DeviceOperands`](crate::kv::DeviceOperands), the same operands the WGSL shader reads.

use super::buffers::{self, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use crate::kv::KvView;
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// `out[m, n_heads, head_dim]` (shapes already validated).
pub fn run(dev: &CudaDevice, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()> {
    const OP: &str = "attention";
    let f = dev.function(&sources::ATTENTION, "attention_f32")?;
    let rows = m * n_heads;
    let (k, v) = (kv.k.device_operands(), kv.v.device_operands());
    let args = [
        u32_of(OP, "m", m)?,
        u32_of(OP, "n_heads", n_heads)?,
        u32_of(OP, "len", kv.len)?,
        u32_of(OP, "n_kv_heads", kv.n_kv_heads)?,
        u32_of(OP, "head_dim", kv.head_dim)?,
        k.mode,
        k.bits,
        k.axis,
        v.mode,
        v.bits,
        v.axis,
    ];
    u32_of(OP, "m x n_heads", rows)?;
    let scale = 1.0 / (kv.head_dim as f32).sqrt();
    let qb = buffers::upload(dev, "q", q)?;
    let kwb = buffers::upload(dev, "K words", &k.words)?;
    let kszb = buffers::upload(dev, "K scales and zeros", &k.scale_zero)?;
    let vwb = buffers::upload(dev, "V words", &v.words)?;
    let vszb = buffers::upload(dev, "V scales and zeros", &v.scale_zero)?;
    let mut scratch = buffers::zeros::<f32>(dev, "attention scores", rows * kv.len)?;
    let mut ob = buffers::zeros::<f32>(dev, "out", out.len())?;
    let cfg = LaunchConfig { grid_dim: (rows.min(65_535) as u32, 1, 1), block_dim: (128, 1, 1), shared_mem_bytes: 0 };
    let mut b = dev.stream.launch_builder(&f);
    b.arg(&qb).arg(&kwb).arg(&kszb).arg(&vwb).arg(&vszb).arg(&mut scratch).arg(&mut ob);
    for a in &args {
        b.arg(a);
    }
    b.arg(&scale);
    unsafe { b.launch(cfg) }.ctx("attention: launching attention_f32")?;
    buffers::download(dev, OP, &ob, out)
}

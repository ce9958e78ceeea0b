//! `attention` launcher (`kernels/attention.cu`): one block per (query, head) over a KV cache in
//! [`crate::kv`] storage. Each of K and V is uploaded as its words (f16 pairs or packed codes)
//! and, for codes, its (scale, zero) pairs as f32 (symmetric zeros filled in with `2^(bits−1)`),
//! the same operands the WGSL shader reads.

use super::buffers::{self, u32_of, DriverCtx};
use super::device::CudaDevice;
use super::sources;
use crate::error::Result;
use crate::kv::{KvAxis, KvTensor, KvView};
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// Words, (scale, zero) pairs, mode (0 f16, 1 codes, 2 f32), bits, axis (0 channel, 1 token).
fn operands(t: &KvTensor<'_>) -> (Vec<u32>, Vec<f32>, u32, u32, u32) {
    match *t {
        KvTensor::F32(v) => (v.iter().map(|x| x.to_bits()).collect(), vec![0.0], 2, 32, 0),
        KvTensor::F16(h) => {
            let words = h.chunks(2).map(|p| u32::from(p[0]) | (u32::from(*p.get(1).unwrap_or(&0)) << 16)).collect();
            (words, vec![0.0], 0, 16, 0)
        }
        KvTensor::Int { bits, codes, scales, zeros, axis } => {
            let mid = (1u32 << (bits - 1)) as f32;
            let sz =
                scales.iter().enumerate().flat_map(|(i, &s)| [s, zeros.map_or(mid, |z| f32::from(z[i]))]).collect();
            (codes.to_vec(), sz, 1, bits, u32::from(axis == KvAxis::PerToken))
        }
    }
}

/// `out[m, n_heads, head_dim]` (shapes already validated).
pub fn run(dev: &CudaDevice, q: &[f32], m: usize, n_heads: usize, kv: &KvView<'_>, out: &mut [f32]) -> Result<()> {
    const OP: &str = "attention";
    let f = dev.function(&sources::ATTENTION, "attention_f32")?;
    let rows = m * n_heads;
    let (kw, ksz, k_mode, k_bits, k_axis) = operands(&kv.k);
    let (vw, vsz, v_mode, v_bits, v_axis) = operands(&kv.v);
    let args = [
        u32_of(OP, "m", m)?,
        u32_of(OP, "n_heads", n_heads)?,
        u32_of(OP, "len", kv.len)?,
        u32_of(OP, "n_kv_heads", kv.n_kv_heads)?,
        u32_of(OP, "head_dim", kv.head_dim)?,
        k_mode,
        k_bits,
        k_axis,
        v_mode,
        v_bits,
        v_axis,
    ];
    u32_of(OP, "m x n_heads", rows)?;
    let scale = 1.0 / (kv.head_dim as f32).sqrt();
    let qb = buffers::upload(dev, "q", q)?;
    let kwb = buffers::upload(dev, "K words", &kw)?;
    let kszb = buffers::upload(dev, "K scales and zeros", &ksz)?;
    let vwb = buffers::upload(dev, "V words", &vw)?;
    let vszb = buffers::upload(dev, "V scales and zeros", &vsz)?;
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

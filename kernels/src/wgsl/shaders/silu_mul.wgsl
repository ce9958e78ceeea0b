// silu_mul.wgsl: SwiGLU gating, out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + e^-g).
// Must match `silu_mul_ref` (f64) within f32 rounding; e^-g overflowing to +inf gives -0.
// Buffers: params {len, ...}; gate, up: array<f32> (len); out: array<f32> (read_write, len).
// Launch: 256 threads per workgroup, one element each, 2-D grid as in add.wgsl.

struct Params { len: u32, _p1: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i < p.len) {
        let g = gate[i];
        out[i] = g / (1.0 + exp(-g)) * up[i];
    }
}

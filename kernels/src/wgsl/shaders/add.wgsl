// add.wgsl: x[i] += y[i] in place (residual connections). Must match `add_ref` bit for bit
// (one f32 rounding per element either way).
// Buffers: params {len, ...}; x: array<f32> (read_write, len); y: array<f32> (len).
// Launch: 256 threads per workgroup, one element each; workgroups on a 2-D grid
// (x up to 65535) linearised as id.x + id.y * num_workgroups.x * 256.

struct Params { len: u32, _p1: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i < p.len) {
        x[i] = x[i] + y[i];
    }
}

// rope.wgsl: rotary position embedding in place, HF "rotate_half": in each head of
// x [m, n_heads * head_dim], pair (i, i + half) of row r turns by the angle of position
// positions[r] and frequency i. Must match `rope_ref` (angles in f64) within f32 rounding.
// Buffers: params {m, n_heads, head_dim, _}; x: array<f32> (read_write);
// cs: array<f32> [m, 2, half]: cos then sin of each row's angles, gathered on the host from
// the f32 RopeTable (rounded from f64).
// Launch: 256 threads per workgroup, one (row, head, i < half) each; 2-D grid as in add.wgsl.

struct Params { m: u32, n_heads: u32, head_dim: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cs: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 256u;
    let half = p.head_dim / 2u;
    if (id >= p.m * p.n_heads * half) {
        return;
    }
    let i = id % half;
    let rh = id / half; // row * n_heads + head
    let r = rh / p.n_heads;
    let c = cs[r * 2u * half + i];
    let s = cs[r * 2u * half + half + i];
    let b = rh * p.head_dim;
    let x1 = x[b + i];
    let x2 = x[b + i + half];
    x[b + i] = x1 * c - x2 * s;
    x[b + i + half] = x2 * c + x1 * s;
}

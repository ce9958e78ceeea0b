// hadamard_mix.wgsl: the base part of the Hadamard rotation and its scale. Each row of
// x [rows, n] is seen as [m, P] (n = m * P) after the Walsh-Hadamard transform of its runs;
// out[r, a * P + b] = scale * sum_c base[a, c] * x[r, c * P + b], c ascending (the CPU's order).
// Buffers: params {rows, n, m, P, scale (f32), _, _, _}; x: array<f32> [rows, n];
// base: array<f32> [m, m] (entries +-1); out: array<f32> (read_write) [rows, n].
// Launch: 256 threads per workgroup, one output each; 2-D grid as in add.wgsl.

struct Params { rows: u32, n: u32, m: u32, pp: u32, scale: f32, _p5: u32, _p6: u32, _p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> base: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 256u;
    if (id >= p.rows * p.n) {
        return;
    }
    let r = id / p.n;
    let i = id % p.n;
    let a = i / p.pp;
    let b = i % p.pp;
    let src = r * p.n + b;
    var acc = 0.0;
    for (var c = 0u; c < p.m; c++) {
        acc += base[a * p.m + c] * x[src + c * p.pp];
    }
    out[id] = acc * p.scale;
}

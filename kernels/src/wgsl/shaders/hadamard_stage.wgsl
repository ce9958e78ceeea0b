// hadamard_stage.wgsl: one butterfly stage of stride h of the fast Walsh-Hadamard transform
// on global memory (the strides hadamard_local.wgsl's tile cannot hold): x [total] is a
// sequence of runs of P = 2^p values with h < P, and pair k (of total/2) is
// (j, j + h) with j = (k / h) * 2h + k % h: x[j], x[j + h] <- x[j] + x[j + h], x[j] - x[j + h].
// Buffers: params {total, h, _, _}; x: array<f32> (read_write) [total].
// Launch: 256 threads per workgroup, one pair each; 2-D grid as in add.wgsl.

struct Params { total: u32, h: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let k = gid.x + gid.y * nwg.x * 256u;
    if (k >= p.total / 2u) {
        return;
    }
    let j = (k / p.h) * 2u * p.h + k % p.h;
    let a = x[j];
    let b = x[j + p.h];
    x[j] = a + b;
    x[j + p.h] = a - b;
}

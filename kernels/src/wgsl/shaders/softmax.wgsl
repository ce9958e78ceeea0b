// softmax.wgsl: numerically stable softmax over each row of x [m, n], in place; -inf entries
// (masked positions) become 0. Must match `softmax_ref` (f64) within f32 rounding.
// Buffers: params {m, n, _, _}; x: array<f32> (read_write) [m, n].
// Launch: one workgroup of 256 threads per row; row = id.x + id.y * num_workgroups.x.
// Three passes over the row: max, sum of e^(v - max), scale.

struct Params { m: u32, n: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.m) {
        return;
    }
    let base = row * p.n;
    // -3.4e38 rather than -inf: every row holds a finite value, and WGSL has no inf literal.
    var mx = -3.4028235e38;
    for (var i = t; i < p.n; i += WG) {
        mx = max(mx, x[base + i]);
    }
    partial[t] = mx;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (t < s) {
            partial[t] = max(partial[t], partial[t + s]);
        }
    }
    workgroupBarrier();
    mx = partial[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var i = t; i < p.n; i += WG) {
        sum += exp(x[base + i] - mx);
    }
    partial[t] = sum;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (t < s) {
            partial[t] += partial[t + s];
        }
    }
    workgroupBarrier();
    let inv = 1.0 / partial[0];
    for (var i = t; i < p.n; i += WG) {
        x[base + i] = exp(x[base + i] - mx) * inv;
    }
}

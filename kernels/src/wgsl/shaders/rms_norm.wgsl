// rms_norm.wgsl: out[r, i] = x[r, i] / sqrt(mean_i(x[r, i]^2) + eps) * weight[i] (HF Llama).
// Must match `rms_norm_ref` within f32 rounding (f32 tree reduction of the squares).
// Buffers: params {m, d, eps (f32 bits), _}; x: array<f32> [m, d]; weight: array<f32> [d];
// out: array<f32> (read_write) [m, d].
// Launch: one workgroup of 256 threads per row; row = id.x + id.y * num_workgroups.x.

struct Params { m: u32, d: u32, eps: f32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.m) {
        return;
    }
    let base = row * p.d;
    var acc = 0.0;
    for (var i = t; i < p.d; i += WG) {
        let v = x[base + i];
        acc += v * v;
    }
    partial[t] = acc;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (t < s) {
            partial[t] += partial[t + s];
        }
    }
    workgroupBarrier();
    let inv = inverseSqrt(partial[0] / f32(p.d) + p.eps);
    for (var i = t; i < p.d; i += WG) {
        out[base + i] = x[base + i] * inv * weight[i];
    }
}

// matmul_gemv.wgsl: y[i, n0 + j] = sum_k x[i, k] * W[j, k] for the rows j < n of one chunk of
// W (a binding holds at most max_storage_buffer_binding_size bytes, so the host splits W by
// rows). Must match `matmul_ref` within f32 rounding (f32 partial sums, tree reduction).
// Variant for small m (decode): W is read once for every R rows of x.
// Buffers: params {m, n, k, n_total, n0}; x: array<f32> [m, k]; w: array<u32>, the chunk's
// elements of W [n, k] as DTYPE (0: f32, one per word; 1: bf16, 2: f16, two per word, low
// half first); y: array<f32> (read_write) [m, n_total].
// Launch: 128 threads per workgroup; one workgroup per (row j of W, block of R rows of x):
// j = id.x + id.y * num_workgroups.x, rows R * id.z ..; threads stride over k, then a tree
// reduction in workgroup memory.

override DTYPE: u32 = 0u;

struct Params { m: u32, n: u32, k: u32, n_total: u32, n0: u32, _p5: u32, _p6: u32, _p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WG: u32 = 128u;
const R: u32 = 4u;
var<workgroup> partial: array<vec4<f32>, WG>;

fn w_at(idx: u32) -> f32 {
    if (DTYPE == 0u) {
        return bitcast<f32>(w[idx]);
    }
    let word = w[idx >> 1u];
    let shift = (idx & 1u) * 16u;
    if (DTYPE == 1u) {
        return bitcast<f32>(((word >> shift) & 0xffffu) << 16u);
    }
    return unpack2x16float(word >> shift).x;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let j = wid.x + wid.y * nwg.x;
    if (j >= p.n) {
        return;
    }
    let i0 = wid.z * R;
    let rows = min(R, p.m - i0);
    var acc = vec4<f32>(0.0);
    for (var kk = t; kk < p.k; kk += WG) {
        let wv = w_at(j * p.k + kk);
        for (var r = 0u; r < rows; r++) {
            acc[r] += x[(i0 + r) * p.k + kk] * wv;
        }
    }
    partial[t] = acc;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (t < s) {
            partial[t] += partial[t + s];
        }
    }
    if (t == 0u) {
        for (var r = 0u; r < rows; r++) {
            y[(i0 + r) * p.n_total + p.n0 + j] = partial[0][r];
        }
    }
}

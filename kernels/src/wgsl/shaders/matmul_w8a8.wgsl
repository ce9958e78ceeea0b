// matmul_w8a8.wgsl: W8A8, y[i, j] = f32(sum_k xq[i, k] * wq[j, k]) * x_scales[i] * w_scales[j]
// with int8 operands and exact i32 accumulation. Must match `matmul_w8a8_ref` bit for bit.
// Buffers: params {m, n, k_words}; xq: array<u32> [m, k_words], wq: array<u32> [n, k_words]:
// int8 values four per word, lowest byte first, each row zero-padded to whole words;
// x_scales: array<f32> [m]; w_scales: array<f32> [n]; y: array<f32> (read_write) [m, n].
// Variant DOT4: dot4I8Packed (naga emits the SPIR-V integer dot product where the device has
// it and a polyfill otherwise) or, when false, four sign-extended byte products per word.
// Launch: 128 threads per workgroup; one workgroup per (row j of W, block of R rows of x):
// j = id.x + id.y * num_workgroups.x, rows R * id.z ..; threads stride over words, then an
// i32 tree reduction in workgroup memory.

override DOT4: bool = true;

struct Params { m: u32, n: u32, k_words: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> xq: array<u32>;
@group(0) @binding(2) var<storage, read> wq: array<u32>;
@group(0) @binding(3) var<storage, read> x_scales: array<f32>;
@group(0) @binding(4) var<storage, read> w_scales: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

const WG: u32 = 128u;
const R: u32 = 4u;
var<workgroup> partial: array<vec4<i32>, WG>;

fn dot4(a: u32, b: u32) -> i32 {
    if (DOT4) {
        return dot4I8Packed(a, b);
    }
    var s = 0i;
    for (var q = 0u; q < 4u; q++) {
        s += extractBits(bitcast<i32>(a), q * 8u, 8u) * extractBits(bitcast<i32>(b), q * 8u, 8u);
    }
    return s;
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
    var acc = vec4<i32>(0i);
    for (var q = t; q < p.k_words; q += WG) {
        let wv = wq[j * p.k_words + q];
        for (var r = 0u; r < rows; r++) {
            acc[r] += dot4(xq[(i0 + r) * p.k_words + q], wv);
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
            let i = i0 + r;
            y[i * p.n + j] = f32(partial[0][r]) * x_scales[i] * w_scales[j];
        }
    }
}

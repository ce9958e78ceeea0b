// matmul_tiled.wgsl: y[i, n0 + j] = sum_k x[i, k] * W[j, k] for the rows j < n of one chunk
// of W; a tiled GEMM for larger m (prefill). Must match `matmul_ref` within f32 rounding
// (each output is one f32 running sum in order of k).
// Buffers: as matmul_gemv.wgsl: params {m, n, k, n_total, n0}; x: array<f32> [m, k];
// w: array<u32> (DTYPE 0: f32, 1: bf16, 2: f16); y: array<f32> (read_write) [m, n_total].
// Launch: 16 x 16 threads per workgroup, each computing a 4 x 4 block of a 64 x 64 tile of y;
// workgroup (id.x, id.y) covers W rows 64 id.x .. and x rows 64 id.y ..; k advances in steps
// of 16 through tiles of x and W staged in workgroup memory.

override DTYPE: u32 = 0u;

struct Params { m: u32, n: u32, k: u32, n_total: u32, n0: u32, _p5: u32, _p6: u32, _p7: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> xs: array<array<f32, 65>, TK>; // xs[kk][i], padded against bank conflicts
var<workgroup> ws: array<array<f32, 65>, TK>; // ws[kk][j]

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

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let j0 = wid.x * TILE;
    let i0 = wid.y * TILE;
    var acc: array<array<f32, 4>, 4>;
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        // 256 threads stage 64 x 16 values of each operand, 4 apiece.
        for (var q = 0u; q < 4u; q++) {
            let e = t + q * 256u;
            let row = e / TK;
            let kk = e % TK;
            let kg = k0 + kk;
            var xv = 0.0;
            if (i0 + row < p.m && kg < p.k) {
                xv = x[(i0 + row) * p.k + kg];
            }
            xs[kk][row] = xv;
            var wv = 0.0;
            if (j0 + row < p.n && kg < p.k) {
                wv = w_at((j0 + row) * p.k + kg);
            }
            ws[kk][row] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var a: array<f32, 4>;
            var b: array<f32, 4>;
            for (var q = 0u; q < 4u; q++) {
                a[q] = xs[kk][lid.y * 4u + q];
                b[q] = ws[kk][lid.x * 4u + q];
            }
            for (var r = 0u; r < 4u; r++) {
                for (var c = 0u; c < 4u; c++) {
                    acc[r][c] += a[r] * b[c];
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let i = i0 + lid.y * 4u + r;
        for (var c = 0u; c < 4u; c++) {
            let j = j0 + lid.x * 4u + c;
            if (i < p.m && j < p.n) {
                y[i * p.n_total + p.n0 + j] = acc[r][c];
            }
        }
    }
}

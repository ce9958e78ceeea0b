// matmul_packed.wgsl: W4A16 / W8A16 / W3A16 / W2A16 with dequantization in the loop:
// y[i, n0 + j] = sum_c x[i, c] * (code(j, c) - zero(j, G_c)) * scale(j, G_c), for the rows
// j < n of one chunk of a weight in qtool's packed layout (quant::pack::qtool_layout), read
// exactly as the CPU backend reads it. Must match `matmul_packed_ref` within f32 rounding.
// Buffers (struct of arrays, rows of the chunk only):
//   params {m, n, k, n_total, n0, row_words, n_groups, group_size, zero_sym};
//   x: array<f32> [m, k];
//   codes: array<u32> [n, row_words]: each row a little-endian bit stream, code c at bits
//     c*BITS .. c*BITS + BITS (3-bit codes straddle words), rows padded to whole words;
//   scales: declared by the prelude the host puts first, with scale_at(idx) -> f32 for
//     idx = j * n_groups + g: f32 words, f16 pairs (unpack2x16float, or array<f16> with
//     shader-f16) or bf16 pairs;
//   zeros: array<u32> [n, n_groups] u8 zero points, four per word (read only when ASYM;
//     otherwise zero_sym = 2^(BITS-1) for every group);
//   g_idx: array<u32> [k] act-order group of each column (read only when ACT_ORDER);
//   y: array<f32> (read_write) [m, n_total].
// All but scales and g_idx, with BITS, ASYM and zero_at, are declared by the prelude
// packed_common.wgsl.
// Launch: 128 threads per workgroup; one workgroup per (row j, block of R rows of x):
// j = id.x + id.y * num_workgroups.x, x rows R * id.z ..; each thread takes 32-column chunks
// (BITS words each) in turn; groups are multiples of 8 columns, so one scale per 8 codes
// unless ACT_ORDER; then a tree reduction in workgroup memory.

override ACT_ORDER: bool = false;

@group(0) @binding(5) var<storage, read> g_idx: array<u32>;

const WG: u32 = 128u;
const R: u32 = 4u;
var<workgroup> partial: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let j = wid.x + wid.y * nwg.x;
    if (j >= p.n) {
        return;
    }
    let i0 = wid.z * R;
    let rows = min(R, p.m - i0);
    let mask = (1u << BITS) - 1u;
    let chunks = (p.k + 31u) / 32u;
    let row_base = j * p.row_words;
    let sg_base = j * p.n_groups;
    var acc = vec4<f32>(0.0);
    for (var c = t; c < chunks; c += WG) {
        // The BITS words holding codes 32c .. 32c + 32 (fewer in a ragged last chunk).
        var words: array<u32, 9>;
        for (var q = 0u; q < BITS; q++) {
            let wi = c * BITS + q;
            words[q] = select(0u, codes[row_base + wi], wi < p.row_words);
        }
        words[BITS] = 0u;
        for (var sub = 0u; sub < 4u; sub++) {
            let col0 = c * 32u + sub * 8u;
            if (col0 >= p.k) {
                break;
            }
            var s = 0.0;
            var z = 0.0;
            if (!ACT_ORDER) {
                let gi = sg_base + col0 / p.group_size;
                s = scale_at(gi);
                z = zero_at(gi);
            }
            for (var e = 0u; e < 8u; e++) {
                let col = col0 + e;
                if (col >= p.k) {
                    break;
                }
                let pos = (sub * 8u + e) * BITS;
                let wq = pos >> 5u;
                let off = pos & 31u;
                var v = words[wq] >> off;
                if (off + BITS > 32u) {
                    v |= words[wq + 1u] << (32u - off);
                }
                if (ACT_ORDER) {
                    let gi = sg_base + g_idx[col];
                    s = scale_at(gi);
                    z = zero_at(gi);
                }
                let wv = (f32(v & mask) - z) * s;
                for (var r = 0u; r < rows; r++) {
                    acc[r] += x[(i0 + r) * p.k + col] * wv;
                }
            }
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

// matmul_packed_gemv.wgsl: the product of matmul_packed.wgsl for decode (small m), at
// BITS = 2, 4 or 8 without act-order (codes never straddle a word):
// y[i, n0 + j] = sum_c x[i, c] * (code(j, c) - zero(j, G_c)) * scale(j, G_c).
// Same buffers and bindings as matmul_packed.wgsl (binding 5, g_idx, is unused), declared
// with BITS, ASYM and zero_at by the prelude packed_common.wgsl.
// Launch: 256 threads per workgroup = ROWS weight rows x LANES threads each; workgroup
// wg = id.x + id.y * num_workgroups.x takes rows wg * ROWS ..; id.z the x rows R * id.z ...
// Lane l of a row reads words 4q .. 4q + 4 for q = l, l + LANES, ...: the lanes of a row read
// LANES * 16 consecutive bytes per step, four independent loads in flight each. A word holds
// 32 / BITS codes, in blocks of SB = min(8, 32 / BITS) columns of one group (groups are
// multiples of 8 columns). Then the LANES partial sums of each row are added: with subgroups
// (when the adapter offers them, its subgroups hold at most LANES invocations and consecutive
// invocation indices: checked per workgroup) by subgroupAdd and one step through workgroup
// memory, else by a tree in workgroup memory. The entry point `main` and `subgroup_sum` come
// from the prelude (gemv_entry_plain.wgsl or gemv_entry_subgroups.wgsl).

const LANES: u32 = 32u;
const ROWS: u32 = 8u;
const WG: u32 = 256u;
const R: u32 = 4u;
var<workgroup> partial: array<vec4<f32>, WG>;
var<workgroup> aligned: atomic<u32>;
var<workgroup> use_subgroups: u32;

// The whole product for invocation `t` of workgroup `wid`; `sg_size` 0: no subgroups.
fn gemv(wid: vec3<u32>, nwg: vec3<u32>, t: u32, sg_lane: u32, sg_size: u32) {
    let lane = t % LANES;
    let j = (wid.x + wid.y * nwg.x) * ROWS + t / LANES;
    let i0 = wid.z * R;
    let rows = min(R, p.m - i0);
    // x row offsets; rows past m repeat the last one (their sums are never written).
    let xo = vec4<u32>(i0, i0 + min(1u, rows - 1u), i0 + min(2u, rows - 1u), i0 + min(3u, rows - 1u)) * p.k;
    let cpw = 32u / BITS;
    let sb = min(8u, cpw);
    let mask = (1u << BITS) - 1u;
    var acc = vec4<f32>(0.0);
    if (j < p.n) {
        let row_base = j * p.row_words;
        let sg_base = j * p.n_groups;
        let quads = (p.row_words + 3u) / 4u;
        for (var q = lane; q < quads; q += LANES) {
            var words: vec4<u32>;
            for (var u = 0u; u < 4u; u++) {
                let wi = q * 4u + u;
                words[u] = select(0u, codes[row_base + min(wi, p.row_words - 1u)], wi < p.row_words);
            }
            for (var u = 0u; u < 4u; u++) {
                let word = words[u];
                let colw = (q * 4u + u) * cpw;
                for (var b = 0u; b < cpw; b += sb) {
                    let col0 = colw + b;
                    if (col0 >= p.k) {
                        break;
                    }
                    let gi = sg_base + col0 / p.group_size;
                    let s = scale_at(gi);
                    let z = zero_at(gi);
                    let n_e = min(sb, p.k - col0);
                    for (var e = 0u; e < n_e; e++) {
                        let col = col0 + e;
                        let wv = (f32((word >> ((b + e) * BITS)) & mask) - z) * s;
                        if (rows == 1u) {
                            acc.x += x[xo.x + col] * wv;
                        } else {
                            acc += vec4<f32>(x[xo.x + col], x[xo.y + col], x[xo.z + col], x[xo.w + col]) * wv;
                        }
                    }
                }
            }
        }
    }
    // Subgroups usable: none larger than a row's lanes, and each the consecutive invocations
    // sg_size * i .. (every invocation checks its own place; one misfit sends all to the tree).
    if (t == 0u) {
        atomicStore(&aligned, 1u);
    }
    workgroupBarrier();
    if (sg_size == 0u || sg_size > LANES || t % max(sg_size, 1u) != sg_lane) {
        atomicStore(&aligned, 0u);
    }
    workgroupBarrier();
    if (t == 0u) {
        use_subgroups = atomicLoad(&aligned);
    }
    var sum = vec4<f32>(0.0);
    if (workgroupUniformLoad(&use_subgroups) == 1u) {
        let s = subgroup_sum(acc);
        if (sg_lane == 0u) {
            partial[t / sg_size] = s;
        }
        workgroupBarrier();
        if (lane == 0u) {
            let first = t / sg_size;
            for (var g = 0u; g < LANES / sg_size; g++) {
                sum += partial[first + g];
            }
        }
    } else {
        partial[t] = acc;
        for (var s = LANES / 2u; s > 0u; s >>= 1u) {
            workgroupBarrier();
            if (lane < s) {
                partial[t] += partial[t + s];
            }
        }
        sum = partial[t];
    }
    if (j < p.n && lane == 0u) {
        for (var r = 0u; r < rows; r++) {
            y[(i0 + r) * p.n_total + p.n0 + j] = sum[r];
        }
    }
}

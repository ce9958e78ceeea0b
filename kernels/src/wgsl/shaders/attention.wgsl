// attention.wgsl: causal attention of q [m, n_heads, head_dim] (the last m of len positions)
// over one layer's KV cache (kernels::kv): K and V [len, kv_dim] as f16 pairs (mode 0), as
// int8/int4 codes packed in u32 words along each row (mode 1) or as f32 bits (mode 2), value = (code - zero) * scale
// with (scale, zero) pairs per channel (axis 0) or per token and KV head (axis 1).
// Must match `attention_ref` (f64) within f32 rounding.
// Buffers: params; q (read); kd, ks (K words, K (scale, zero) pairs); vd, vs (the same for V);
// scratch [m * n_heads, len] (read_write, the scores, then the probabilities); out [m, n_heads,
// head_dim] (read_write).
// Launch: one workgroup of WG threads per (query i, head h): row = id.x + id.y * num_workgroups.x
// = i * n_heads + h. Pass 1: threads split the positions, scores to scratch, max; pass 2:
// exp(score - max) and their sum; pass 3: threads split head_dim, each sums p_t * V[t] over t.
// Query head h reads KV head h / group (grouped-query attention).

struct Params {
    m: u32, n_heads: u32, len: u32, n_kv_heads: u32,
    head_dim: u32, group: u32, k_mode: u32, k_bits: u32,
    k_axis: u32, v_mode: u32, v_bits: u32, v_axis: u32,
    scale: f32, _p1: u32, _p2: u32, _p3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kd: array<u32>;
@group(0) @binding(3) var<storage, read> ks: array<f32>;
@group(0) @binding(4) var<storage, read> vd: array<u32>;
@group(0) @binding(5) var<storage, read> vs: array<f32>;
@group(0) @binding(6) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// Index of the (scale, zero) pair of element (t, c) for `axis`.
fn scale_index(axis: u32, t: u32, c: u32) -> u32 {
    if (axis == 1u) {
        return t * p.n_kv_heads + c / p.head_dim;
    }
    return c;
}

fn k_elem(t: u32, c: u32) -> f32 {
    let i = t * p.n_kv_heads * p.head_dim + c;
    if (p.k_mode == 2u) {
        return bitcast<f32>(kd[i]);
    }
    if (p.k_mode == 0u) {
        return unpack2x16float(kd[i >> 1u])[i & 1u];
    }
    let per = 32u / p.k_bits;
    let code = (kd[i / per] >> ((i % per) * p.k_bits)) & ((1u << p.k_bits) - 1u);
    let si = scale_index(p.k_axis, t, c);
    return (f32(code) - ks[2u * si + 1u]) * ks[2u * si];
}

fn v_elem(t: u32, c: u32) -> f32 {
    let i = t * p.n_kv_heads * p.head_dim + c;
    if (p.v_mode == 2u) {
        return bitcast<f32>(vd[i]);
    }
    if (p.v_mode == 0u) {
        return unpack2x16float(vd[i >> 1u])[i & 1u];
    }
    let per = 32u / p.v_bits;
    let code = (vd[i / per] >> ((i % per) * p.v_bits)) & ((1u << p.v_bits) - 1u);
    let si = scale_index(p.v_axis, t, c);
    return (f32(code) - vs[2u * si + 1u]) * vs[2u * si];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= p.m * p.n_heads) {
        return;
    }
    let i = row / p.n_heads;
    let h = row % p.n_heads;
    let last = p.len - p.m + i;
    let c0 = (h / p.group) * p.head_dim;
    let qb = row * p.head_dim;
    let sb = row * p.len;
    var mx = -3.4028235e38;
    for (var t = lid; t <= last; t += WG) {
        var dot = 0.0;
        for (var d = 0u; d < p.head_dim; d++) {
            dot += q[qb + d] * k_elem(t, c0 + d);
        }
        let s = dot * p.scale;
        scratch[sb + t] = s;
        mx = max(mx, s);
    }
    partial[lid] = mx;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid < s) {
            partial[lid] = max(partial[lid], partial[lid + s]);
        }
    }
    workgroupBarrier();
    mx = partial[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var t = lid; t <= last; t += WG) {
        let e = exp(scratch[sb + t] - mx);
        scratch[sb + t] = e;
        sum += e;
    }
    partial[lid] = sum;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid < s) {
            partial[lid] += partial[lid + s];
        }
    }
    storageBarrier();
    workgroupBarrier();
    let inv = 1.0 / partial[0];
    for (var d = lid; d < p.head_dim; d += WG) {
        var acc = 0.0;
        for (var t = 0u; t <= last; t++) {
            acc += scratch[sb + t] * inv * v_elem(t, c0 + d);
        }
        out[qb + d] = acc;
    }
}

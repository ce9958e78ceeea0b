// packed_common.wgsl (prelude of matmul_packed.wgsl and matmul_packed_gemv.wgsl, after the
// scale prelude): the packed weight's parameters and bindings (binding 3, scales, comes from
// the scale prelude; binding 5, g_idx, is declared by the shader that reads it) and its zero
// points. Layout: see matmul_packed.wgsl.

override BITS: u32 = 4u;
override ASYM: bool = false;

struct Params {
    m: u32, n: u32, k: u32, n_total: u32,
    n0: u32, row_words: u32, n_groups: u32, group_size: u32,
    zero_sym: u32, _p9: u32, _p10: u32, _p11: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> codes: array<u32>;
@group(0) @binding(4) var<storage, read> zeros: array<u32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

// Zero point of group entry `idx` (row * n_groups + group): a u8 of `zeros` when ASYM, else
// the symmetric 2^(BITS-1).
fn zero_at(idx: u32) -> f32 {
    if (ASYM) {
        return f32((zeros[idx >> 2u] >> ((idx & 3u) * 8u)) & 0xffu);
    }
    return f32(p.zero_sym);
}

// scales_f16_unpack.wgsl (prelude of matmul_packed.wgsl): f16 group scales, two per u32 word
// (low half first), decoded with unpack2x16float; works without shader-f16.
@group(0) @binding(3) var<storage, read> scales: array<u32>;
fn scale_at(idx: u32) -> f32 { return unpack2x16float(scales[idx >> 1u] >> ((idx & 1u) * 16u)).x; }

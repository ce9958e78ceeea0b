// scales_bf16.wgsl (prelude of matmul_packed.wgsl): bf16 group scales, two per u32 word (low
// half first); a bf16 is the top half of an f32.
@group(0) @binding(3) var<storage, read> scales: array<u32>;
fn scale_at(idx: u32) -> f32 { return bitcast<f32>(((scales[idx >> 1u] >> ((idx & 1u) * 16u)) & 0xffffu) << 16u); }

// scales_f32.wgsl (prelude of matmul_packed.wgsl): group scales stored as f32.
@group(0) @binding(3) var<storage, read> scales: array<f32>;
fn scale_at(idx: u32) -> f32 { return scales[idx]; }

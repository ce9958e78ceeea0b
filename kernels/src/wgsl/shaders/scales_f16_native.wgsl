// scales_f16_native.wgsl (prelude of matmul_packed.wgsl): f16 group scales read as
// array<f16>; needs the adapter's shader-f16 feature.
enable f16;
@group(0) @binding(3) var<storage, read> scales: array<f16>;
fn scale_at(idx: u32) -> f32 { return f32(scales[idx]); }

//! `silu_mul_ref`: SwiGLU's gate, `silu(gate) * up` with `silu(g) = g / (1 + e^-g)`.

/// Reference `out[i] = silu(gate[i]) * up[i]`, computed in `f64`.
pub fn silu_mul_ref(gate: &[f32], up: &[f32], out: &mut [f32]) {
    for i in 0..gate.len() {
        let g = f64::from(gate[i]);
        out[i] = (g / (1.0 + (-g).exp()) * f64::from(up[i])) as f32;
    }
}

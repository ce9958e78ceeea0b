//! `add_ref`: elementwise `x += y` (residual connections).

/// Reference `x[i] += y[i]`.
pub fn add_ref(x: &mut [f32], y: &[f32]) {
    for (a, &b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

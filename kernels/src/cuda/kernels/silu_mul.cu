// silu_mul.cu: SwiGLU's gate, out[i] = silu(gate[i]) * up[i] with silu(g) = g / (1 + e^-g).
// Must match silu_mul_ref (f64) within f32 rounding: expf and an IEEE division (NVRTC is not
// given --use_fast_math). Launch: 1-D grid-stride.

extern "C" __global__ void silu_mul_f32(const float* __restrict__ gate, const float* __restrict__ up,
                                        float* __restrict__ out, u32 n) {
    for (u32 i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

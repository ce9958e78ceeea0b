// rms_norm.cu: out[r, i] = x[r, i] / sqrt(mean_i(x[r, i]^2) + eps) * weight[i] over rows of d.
// Launch: one block per row (grid-stride over rows), blockDim a multiple of 32 (256).
// The sum of squares is accumulated per thread in f32, then reduced with warp shuffles.

extern "C" __global__ void rms_norm_f32(const float* __restrict__ x, const float* __restrict__ weight,
                                        float* __restrict__ out, u32 m, u32 d, float eps) {
    __shared__ float scratch[32];
    for (u32 r = blockIdx.x; r < m; r += gridDim.x) {
        const float* row = x + (u64)r * d;
        float ss = 0.0f;
        for (u32 i = threadIdx.x; i < d; i += blockDim.x) ss += row[i] * row[i];
        ss = block_sum(ss, scratch);
        const float inv = 1.0f / sqrtf(ss / (float)d + eps);
        float* o = out + (u64)r * d;
        for (u32 i = threadIdx.x; i < d; i += blockDim.x) o[i] = row[i] * inv * weight[i];
    }
}

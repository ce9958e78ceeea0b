// softmax.cu: numerically stable softmax in place over each row of x[m, n]; -inf entries
// (masked positions) become 0 (every row holds a finite value). Three passes per row: max,
// sum of e^(v - max), scale. Launch: one block per row (grid-stride), blockDim 256.

extern "C" __global__ void softmax_f32(float* __restrict__ x, u32 m, u32 n) {
    __shared__ float scratch[32];
    for (u32 r = blockIdx.x; r < m; r += gridDim.x) {
        float* row = x + (u64)r * n;
        float mx = -__int_as_float(0x7f800000);
        for (u32 i = threadIdx.x; i < n; i += blockDim.x) mx = fmaxf(mx, row[i]);
        mx = block_max(mx, scratch);
        float sum = 0.0f;
        for (u32 i = threadIdx.x; i < n; i += blockDim.x) sum += expf(row[i] - mx);
        sum = block_sum(sum, scratch);
        const float inv = 1.0f / sum;
        for (u32 i = threadIdx.x; i < n; i += blockDim.x) row[i] = expf(row[i] - mx) * inv;
    }
}

// matmul_w8a8.cu: W8A8, y[i, j] = (float)(sum_c xq[i, c] * wq[j, c]) * x_scales[i] * w_scales[j]
// with int8 operands packed four per 32-bit word (rows zero-padded to kw words) and exact i32
// accumulation with __dp4a (sm_61+); multiplied in matmul_w8a8_ref's order, so the result is
// bit for bit the reference's. One warp per output row j and up to W8_R x rows; lanes stride
// over words; an integer shuffle reduction (exact, so order-free).
// Launch: blockDim (128), grid (ceil(n / 4), min(ceil(m / W8_R), 65535)).

#define W8_R 4

extern "C" __global__ void matmul_w8a8_dp4a(const int* __restrict__ xq, const int* __restrict__ wq,
                                            const float* __restrict__ x_scales, const float* __restrict__ w_scales,
                                            float* __restrict__ y, u32 m, u32 n, u32 kw) {
    const u32 lane = threadIdx.x & 31u;
    const u32 j = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (j >= n) return;
    const int* wr = wq + (u64)j * kw;
    for (u32 i0 = blockIdx.y * W8_R; i0 < m; i0 += gridDim.y * W8_R) {
        const u32 rows = min((u32)W8_R, m - i0);
        int acc[W8_R];
#pragma unroll
        for (int r = 0; r < W8_R; ++r) acc[r] = 0;
        for (u32 c = lane; c < kw; c += 32u) {
            const int wv = __ldg(wr + c);
#pragma unroll
            for (int r = 0; r < W8_R; ++r)
                if ((u32)r < rows) acc[r] = __dp4a(__ldg(xq + (u64)(i0 + r) * kw + c), wv, acc[r]);
        }
#pragma unroll
        for (int r = 0; r < W8_R; ++r) {
            const int s = warp_sum_i32(acc[r]);
            if (lane == 0 && (u32)r < rows) y[(u64)(i0 + r) * n + j] = (float)s * x_scales[i0 + r] * w_scales[j];
        }
    }
}

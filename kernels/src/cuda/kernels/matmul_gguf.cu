// matmul_gguf.cu: y[m, n] = x[m, k] . dequant(W)[n, k]^T for GGML Q8_0 and Q4_0 blocks read
// straight from the GGUF bytes (row j: k / 32 blocks; Q8_0: f16 d + 32 int8, 34 bytes, value
// q * d; Q4_0: f16 d + 16 bytes, 18 bytes, element t < 16 the low nibble of byte t, element
// 16 + t the high nibble, value (nibble - 8) * d). Blocks are not 2-byte aligned, so d is
// assembled from bytes. One warp per output row j and up to GG_R x rows; lanes stride over the
// blocks of the row; shuffle reduction. Launch: blockDim (128), grid (ceil(n / 4),
// min(ceil(m / GG_R), 65535)). The other block types are dequantized on the host.

#define GG_R 4

template <int TYPE_SIZE, bool Q4>
__device__ __forceinline__ void gguf_impl(const float* __restrict__ x, const u8* __restrict__ w,
                                          float* __restrict__ y, u32 m, u32 n, u32 k) {
    const u32 lane = threadIdx.x & 31u;
    const u32 j = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (j >= n) return;
    const u32 nb = k / 32u;
    const u8* row = w + (u64)j * nb * TYPE_SIZE;
    for (u32 i0 = blockIdx.y * GG_R; i0 < m; i0 += gridDim.y * GG_R) {
        const u32 rows = min((u32)GG_R, m - i0);
        float acc[GG_R];
#pragma unroll
        for (int r = 0; r < GG_R; ++r) acc[r] = 0.0f;
        for (u32 b = lane; b < nb; b += 32u) {
            const u8* blk = row + (u64)b * TYPE_SIZE;
            const float d = f16_at(blk);
            const u32 c0 = b * 32u;
#pragma unroll 4
            for (int t = 0; t < 32; ++t) {
                float wv;
                if (Q4) {
                    const u8 q = blk[2 + (t & 15)];
                    const int nib = t < 16 ? (q & 0x0f) : (q >> 4);
                    wv = d * (float)(nib - 8);
                } else {
                    wv = (float)(signed char)blk[2 + t] * d;
                }
#pragma unroll
                for (int r = 0; r < GG_R; ++r)
                    if ((u32)r < rows) acc[r] += x[(u64)(i0 + r) * k + c0 + t] * wv;
            }
        }
#pragma unroll
        for (int r = 0; r < GG_R; ++r) {
            const float s = warp_sum(acc[r]);
            if (lane == 0 && (u32)r < rows) y[(u64)(i0 + r) * n + j] = s;
        }
    }
}

extern "C" __global__ void matmul_gguf_q8_0(const float* __restrict__ x, const u8* __restrict__ w,
                                            float* __restrict__ y, u32 m, u32 n, u32 k) {
    gguf_impl<34, false>(x, w, y, m, n, k);
}

extern "C" __global__ void matmul_gguf_q4_0(const float* __restrict__ x, const u8* __restrict__ w,
                                            float* __restrict__ y, u32 m, u32 n, u32 k) {
    gguf_impl<18, true>(x, w, y, m, n, k);
}

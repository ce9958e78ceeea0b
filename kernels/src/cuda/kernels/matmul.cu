// matmul.cu: dense y[m, n] = x[m, k] . W[n, k]^T, x and y f32, W f32 / bf16 / f16 (the 16-bit
// types as raw bit patterns, widened exactly in the loop). Two kernels per weight type:
// - `matmul_gemv_<t>`: for small m (decode). One warp per output row j and up to GEMV_R rows of
//   x (grid.y walks blocks of GEMV_R x rows); lanes stride over k, then a shuffle reduction.
//   Launch: blockDim (128), grid.x = ceil(n / 4) (4 warps per block), grid.y = ceil(m / R).
// - `matmul_tiled_<t>`: for larger m. 64 x 64 output tiles, 16-deep k slices staged in shared
//   memory (both operands k-major), 256 threads computing 4 x 4 outputs each.
//   Launch: blockDim (256), grid (ceil(n / 64), ceil(m / 64)).
// f32 accumulation; matches matmul_ref (f64) within f32 rounding.

#define GEMV_R 4
#define TM 64
#define TN 64
#define TK 16

template <typename W>
__device__ __forceinline__ void gemv_impl(const float* __restrict__ x, const W* __restrict__ w,
                                          float* __restrict__ y, u32 m, u32 n, u32 k) {
    const u32 lane = threadIdx.x & 31u;
    const u32 j = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const u32 i0 = blockIdx.y * GEMV_R;
    if (j >= n || i0 >= m) return;
    const u32 rows = min((u32)GEMV_R, m - i0);
    const W* wr = w + (u64)j * k;
    float acc[GEMV_R];
#pragma unroll
    for (int r = 0; r < GEMV_R; ++r) acc[r] = 0.0f;
    for (u32 c = lane; c < k; c += 32u) {
        const float wv = to_f32(wr[c]);
#pragma unroll
        for (int r = 0; r < GEMV_R; ++r)
            if (r < rows) acc[r] += x[(u64)(i0 + r) * k + c] * wv;
    }
#pragma unroll
    for (int r = 0; r < GEMV_R; ++r) {
        const float s = warp_sum(acc[r]);
        if (lane == 0 && r < rows) y[(u64)(i0 + r) * n + j] = s;
    }
}

template <typename W>
__device__ __forceinline__ void tiled_impl(const float* __restrict__ x, const W* __restrict__ w,
                                           float* __restrict__ y, u32 m, u32 n, u32 k) {
    // +4 keeps rows 16-byte aligned while spreading the banks of the column reads.
    __shared__ float xs[TK][TM + 4];
    __shared__ float ws[TK][TN + 4];
    const u32 tid = threadIdx.x;
    const u32 tx = tid % 16u, ty = tid / 16u;  // output columns tx*4.., rows ty*4..
    const u32 row0 = blockIdx.y * TM, col0 = blockIdx.x * TN;
    float acc[4][4];
#pragma unroll
    for (int a = 0; a < 4; ++a)
#pragma unroll
        for (int b = 0; b < 4; ++b) acc[a][b] = 0.0f;
    for (u32 k0 = 0; k0 < k; k0 += TK) {
        // 64 x 16 values of each operand, 4 per thread; consecutive threads read consecutive k.
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const u32 idx = tid + e * 256u;
            const u32 rr = idx / TK, kk = idx % TK;
            const u32 gi = row0 + rr, gj = col0 + rr, gk = k0 + kk;
            xs[kk][rr] = (gi < m && gk < k) ? x[(u64)gi * k + gk] : 0.0f;
            ws[kk][rr] = (gj < n && gk < k) ? to_f32(w[(u64)gj * k + gk]) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (u32 kk = 0; kk < TK; ++kk) {
            float a[4], b[4];
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                a[e] = xs[kk][ty * 4u + e];
                b[e] = ws[kk][tx * 4u + e];
            }
#pragma unroll
            for (int p = 0; p < 4; ++p)
#pragma unroll
                for (int q = 0; q < 4; ++q) acc[p][q] += a[p] * b[q];
        }
        __syncthreads();
    }
#pragma unroll
    for (int p = 0; p < 4; ++p) {
        const u32 gi = row0 + ty * 4u + p;
        if (gi >= m) continue;
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            const u32 gj = col0 + tx * 4u + q;
            if (gj < n) y[(u64)gi * n + gj] = acc[p][q];
        }
    }
}

#define DEFINE_DENSE(SUFFIX, W)                                                                        \
    extern "C" __global__ void matmul_gemv_##SUFFIX(const float* __restrict__ x, const W* __restrict__ w, \
                                                    float* __restrict__ y, u32 m, u32 n, u32 k) {      \
        gemv_impl<W>(x, w, y, m, n, k);                                                                \
    }                                                                                                  \
    extern "C" __global__ void __launch_bounds__(256)                                                  \
        matmul_tiled_##SUFFIX(const float* __restrict__ x, const W* __restrict__ w, float* __restrict__ y, \
                              u32 m, u32 n, u32 k) {                                                   \
        tiled_impl<W>(x, w, y, m, n, k);                                                               \
    }

DEFINE_DENSE(f32, float)
DEFINE_DENSE(bf16, bf16_t)
DEFINE_DENSE(f16, f16_t)

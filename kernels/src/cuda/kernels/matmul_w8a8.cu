// matmul_w8a8.cu: W8A8, y[i, j] = (float)(sum_c xq[i, c] * wq[j, c]) * x_scales[i] * w_scales[j]
// for int8 xq[m, k] and wq[n, k], rows packed four values per 32-bit word (little-endian) and
// zero-padded to kw words, where the host makes kw a multiple of W8_KW (16 words = 64 values)
// for both operands. Accumulation is exact (i32), so the summation order is free, and the
// epilogue multiplies in matmul_w8a8_ref's order: the result is bit for bit the reference's.
// y is [m, n] row-major.
//
// Two kernels:
// - matmul_w8a8_dp4a (sm_61+, any m): __dp4a. One warp per output column j (a weight row) and
//   up to W8_R x rows; lanes stride over words; an integer shuffle reduction.
//   Launch: blockDim (128), grid (ceil(n / 4), min(ceil(m / W8_R), 65535)).
// - matmul_w8a8_mma_{128x128,128x64,64x64} (sm_80+; traps on older devices, where the host never
//   launches it): int8 tensor cores, mma.sync.m16n8k32.row.col.s32.s8.s8.s32. A block computes a
//   BM x BN tile of y (BM = 32 * MT rows of x, BN = 32 * NT weight rows) with 8 warps in a 2 (m)
//   x 4 (n) grid, each warp MT x NT fragments of 16 x 8. K advances W8_KW words (64 values) per
//   step through a W8_STAGES-deep cp.async ring in shared memory (rows beyond m or n are
//   zero-filled by the copy). Shared tiles keep each row's 16 words contiguous (64 bytes, no
//   padding): a thread's 16-byte fragment loads (row g, words 4t..4t+3, g = lane / 4,
//   t = lane % 4) hit 32 distinct banks per quarter warp.
//   Launch: blockDim (256), grid (ceil(m / BM), ceil(n / BN)), no dynamic shared memory.

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

// Words (of 4 int8) per K step of the mma kernels; every packed row's length kw is a multiple.
#define W8_KW 16
// Depth of the cp.async ring (the 128 x 128 tile uses 3 * 2 * 128 * 64 B = 48 KiB of static
// shared memory, the most a kernel may declare statically).
#define W8_STAGES 3
#define W8_THREADS 256

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800

__device__ __forceinline__ u32 w8_smem_addr(const void* p) {
    u32 r;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(r) : "l"(p));
    return r;
}

// 16 bytes global -> shared; bytes (0 or 16) are read, the rest zero-filled.
__device__ __forceinline__ void w8_cp_async16(u32 dst, const void* src, u32 bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes) : "memory");
}

__device__ __forceinline__ void w8_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

template <int N>
__device__ __forceinline__ void w8_cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// c += A(16 x 32, row) * B(32 x 8, col); fragment layouts per the PTX ISA (m16n8k32, .s8):
// a0 = (row g, k 4t..4t+3), a1 = (row g + 8, same k), a2 = (row g, k 16 + 4t..), a3 = (row g + 8,
// k 16 + 4t..); b0 = (k 4t.., col g), b1 = (k 16 + 4t.., col g); c0, c1 = (row g, col 2t, 2t + 1),
// c2, c3 = (row g + 8, col 2t, 2t + 1).
__device__ __forceinline__ void w8_mma(int* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Copies K step kt (words kt * W8_KW ..) of ROWS rows starting at row0 (of `rows` valid rows,
// stride kw words) into the shared tile s (ROWS x W8_KW words): 4 chunks of 16 bytes per row.
template <int ROWS>
__device__ __forceinline__ void w8_load_tile(int* s, const int* __restrict__ src, u32 row0, u32 rows, u32 kw, u32 kt) {
    static_assert((ROWS * 4) % W8_THREADS == 0, "whole chunks per thread");
#pragma unroll
    for (int i = 0; i < ROWS * 4 / W8_THREADS; ++i) {
        const u32 c = threadIdx.x + (u32)i * W8_THREADS;
        const u32 r = c >> 2, q = c & 3u;
        const bool ok = row0 + r < rows;
        const int* p = src + (u64)(ok ? row0 + r : 0u) * kw + kt * W8_KW + q * 4u;
        w8_cp_async16(w8_smem_addr(s + r * W8_KW + q * 4u), p, ok ? 16u : 0u);
    }
}

#endif

// y tile (blockIdx.x * BM.., blockIdx.y * BN..), BM = 32 * MT, BN = 32 * NT. kw % W8_KW == 0.
template <int MT, int NT>
__device__ __forceinline__ void w8_mma_gemm(const int* __restrict__ xq, const int* __restrict__ wq,
                                            const float* __restrict__ x_scales,
                                            const float* __restrict__ w_scales, float* __restrict__ y, u32 m,
                                            u32 n, u32 kw) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int BM = 2 * MT * 16, BN = 4 * NT * 8;
    __shared__ __align__(16) int sa[W8_STAGES][BM * W8_KW];
    __shared__ __align__(16) int sb[W8_STAGES][BN * W8_KW];

    const u32 lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    const u32 g = lane >> 2, t = lane & 3u;
    const u32 wm = warp >> 2, wn = warp & 3u;  // warp's place in the 2 x 4 grid
    const u32 row0 = blockIdx.x * BM, col0 = blockIdx.y * BN;
    const u32 ksteps = kw / W8_KW;

    int acc[MT][NT][4];
#pragma unroll
    for (int a = 0; a < MT; ++a)
#pragma unroll
        for (int b = 0; b < NT; ++b)
#pragma unroll
            for (int c = 0; c < 4; ++c) acc[a][b][c] = 0;

    // Prologue: the first W8_STAGES - 1 steps in flight (one commit group per step, empty
    // groups past the end keep the count uniform).
#pragma unroll
    for (int s = 0; s < W8_STAGES - 1; ++s) {
        if ((u32)s < ksteps) {
            w8_load_tile<BM>(sa[s], xq, row0, m, kw, (u32)s);
            w8_load_tile<BN>(sb[s], wq, col0, n, kw, (u32)s);
        }
        w8_cp_async_commit();
    }

    for (u32 kt = 0; kt < ksteps; ++kt) {
        // Group kt (step kt) is complete for this thread; the barrier makes it complete for all,
        // and also ends every warp's reads of the stage refilled below (step kt - 1's).
        w8_cp_async_wait<W8_STAGES - 2>();
        __syncthreads();
        const u32 next = kt + W8_STAGES - 1;
        if (next < ksteps) {
            w8_load_tile<BM>(sa[next % W8_STAGES], xq, row0, m, kw, next);
            w8_load_tile<BN>(sb[next % W8_STAGES], wq, col0, n, kw, next);
        }
        w8_cp_async_commit();

        const int* as = sa[kt % W8_STAGES] + (wm * (MT * 16) + g) * W8_KW + t * 4u;
        const int* bs = sb[kt % W8_STAGES] + (wn * (NT * 8) + g) * W8_KW + t * 4u;
        // Each thread reads words 4t..4t+3 of its rows. The k order inside a step is free (exact
        // integer sums) as long as A and B agree: the first mma takes words (4t, 4t + 1) as its
        // k (4t.., 16 + 4t..) halves, the second words (4t + 2, 4t + 3); over t = 0..3 that is
        // every word of the step once, for A and B alike.
        uint4 fa[MT][2], fb[NT];
#pragma unroll
        for (int a = 0; a < MT; ++a) {
            fa[a][0] = *reinterpret_cast<const uint4*>(as + (a * 16) * W8_KW);
            fa[a][1] = *reinterpret_cast<const uint4*>(as + (a * 16 + 8) * W8_KW);
        }
#pragma unroll
        for (int b = 0; b < NT; ++b) fb[b] = *reinterpret_cast<const uint4*>(bs + (b * 8) * W8_KW);
#pragma unroll
        for (int a = 0; a < MT; ++a)
#pragma unroll
            for (int b = 0; b < NT; ++b)
                w8_mma(acc[a][b], fa[a][0].x, fa[a][1].x, fa[a][0].y, fa[a][1].y, fb[b].x, fb[b].y);
#pragma unroll
        for (int a = 0; a < MT; ++a)
#pragma unroll
            for (int b = 0; b < NT; ++b)
                w8_mma(acc[a][b], fa[a][0].z, fa[a][1].z, fa[a][0].w, fa[a][1].w, fb[b].z, fb[b].w);
    }
    w8_cp_async_wait<0>();

    // Epilogue: c0, c1 at (row g, cols 2t, 2t + 1), c2, c3 at (row g + 8, same cols).
#pragma unroll
    for (int a = 0; a < MT; ++a) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const u32 i = row0 + wm * (MT * 16) + (u32)a * 16u + g + (u32)h * 8u;
            if (i >= m) continue;
            const float xs = x_scales[i];
            float* yr = y + (u64)i * n;
#pragma unroll
            for (int b = 0; b < NT; ++b) {
                const u32 j = col0 + wn * (NT * 8) + (u32)b * 8u + t * 2u;
                if (j < n) yr[j] = (float)acc[a][b][2 * h] * xs * w_scales[j];
                if (j + 1u < n) yr[j + 1u] = (float)acc[a][b][2 * h + 1] * xs * w_scales[j + 1u];
            }
        }
    }
#else
    asm volatile("trap;");
#endif
}

#define W8_MMA_KERNEL(NAME, MT, NT)                                                                                 \
    extern "C" __global__ void __launch_bounds__(W8_THREADS)                                                        \
        NAME(const int* __restrict__ xq, const int* __restrict__ wq, const float* __restrict__ x_scales,            \
             const float* __restrict__ w_scales, float* __restrict__ y, u32 m, u32 n, u32 kw) {                     \
        w8_mma_gemm<MT, NT>(xq, wq, x_scales, w_scales, y, m, n, kw);                                               \
    }

W8_MMA_KERNEL(matmul_w8a8_mma_128x128, 4, 4)
W8_MMA_KERNEL(matmul_w8a8_mma_128x64, 4, 2)
W8_MMA_KERNEL(matmul_w8a8_mma_64x64, 2, 2)

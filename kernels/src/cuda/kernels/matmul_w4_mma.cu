// matmul_w4_mma.cu: y[m, n] = x[m, k] . dequant(W)[n, k]^T for int4 weights (no act-order, groups
// of whole 16-column steps) on f16 tensor cores, sm_80+: mma.sync.m16n8k16.row.col.f32.f16.f16.f32
// with the weight as A (16 output rows x 16 columns) and x as B (16 columns x 8 x rows), so one
// mma covers a 16 x 16 weight tile for up to 8 x rows and the time is flat in m up to 8 (16: two).
//
// Weight codes come in the layout of kernels::w4_mma_layout (made on the host at upload):
// u32 [n16][kb][32 lanes][4 steps], one word = the 8 codes lane holds in one step's A fragment,
// pair p at bits 4p and 16 + 4p; a lane reads one uint4 per 64 columns, a warp 512 contiguous
// bytes. A code pair becomes the f16 pair (q - zero) exactly: (word >> 4p) & 0x000F000F |
// 0x64006400 is (1024 + q0, 1024 + q1), minus the f16 pair 1024 + zero.
//
// x (f32) is split by `w4_mma_pack_x` into two f16 terms, hi = f16(x) and lo = f16(x - hi), laid
// out as the B fragments: uint4 [m8 tiles][steps][32 lanes] = (hi b0, hi b1, lo b0, lo b1), zero
// past m and k. Two mma per step (hi, lo) keep x to about 2^-22 relative, the f32 reference's
// accuracy, so this kernel meets the same bounds as the f32 kernels (W8A16/W4A16 with an f16
// copy of x alone would be 2^-11).
//
// Per group the f32 accumulators of the mma are scaled by the group's scales (rows r and r + 8 of
// the lane) and added to the totals (an exact integer (q - z) in the mma, the scale in f32).
//
// Launch (matmul_w4_mma_<NT>, NT = 1, 2 or 4 n8 tiles of x rows): block = W4M_WARPS warps, all
// on the same RT 16-row tiles (RT = 4, or 2 for NT = 4; blockIdx.x * RT ..), warp w taking
// 64-column blocks w, w + W4M_WARPS, ... of its K split (blockIdx.y of `splits`); x rows
// blockIdx.z * 8NT ... Each x fragment a warp loads feeds the mma of all RT tiles: x fragments
// (hi and lo, 8 rows) are 4x the bytes of one tile's codes per step, so sharing them across
// tiles is what keeps the kernel near the codes' bandwidth. The warps' totals are added in
// shared memory in warp order (deterministic). splits > 1 writes partial sums out[split, m, n],
// added in order by matmul_packed.cu's splitk_reduce.

#define W4M_WARPS 4u
#define W4M_UNROLL 2

__device__ __forceinline__ void w4m_mma(float* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
#if __CUDA_ARCH__ >= 800
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
    asm volatile("trap;");
#endif
}

// The f16 pair (lo in bits 0..16, hi in bits 16..32), rounded to nearest.
__device__ __forceinline__ u32 w4m_pack_f16x2(float lo, float hi) {
    u32 r;
    asm("{ .reg .f16 l, h; cvt.rn.f16.f32 l, %1; cvt.rn.f16.f32 h, %2; mov.b32 %0, {l, h}; }"
        : "=r"(r)
        : "f"(lo), "f"(hi));
    return r;
}
__device__ __forceinline__ float w4m_f16_lo(u32 v) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"((u16)(v & 0xFFFFu)));
    return f;
}
__device__ __forceinline__ float w4m_f16_hi(u32 v) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"((u16)(v >> 16)));
    return f;
}
__device__ __forceinline__ u32 w4m_sub_f16x2(u32 a, u32 b) {
    u32 r;
    asm("sub.rn.f16x2 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

// xp[(mt * steps + s) * 32 + lane] = the B fragments of x rows mt*8 .. mt*8 + 8, columns
// s*16 .. s*16 + 16, for lane (row mt*8 + lane/4, columns c, c + 1 and c + 8, c + 9 with
// c = 2 (lane % 4)): (hi b0, hi b1, lo b0, lo b1). Launch: 1-D grid-stride over mtiles*steps*32.
extern "C" __global__ void w4_mma_pack_x(const float* __restrict__ x, uint4* __restrict__ xp, u32 m, u32 k,
                                         u32 steps, u32 total) {
    for (u32 idx = blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += gridDim.x * blockDim.x) {
        const u32 lane = idx & 31u, s = (idx >> 5) % steps, mt = (idx >> 5) / steps;
        const u32 row = mt * 8u + (lane >> 2), col = s * 16u + (lane & 3u) * 2u;
        float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (row < m) {
            const float* xr = x + (u64)row * k;
            const u32 cols[4] = {col, col + 1u, col + 8u, col + 9u};
#pragma unroll
            for (int i = 0; i < 4; ++i) v[i] = cols[i] < k ? xr[cols[i]] : 0.0f;
        }
        const u32 h0 = w4m_pack_f16x2(v[0], v[1]), h1 = w4m_pack_f16x2(v[2], v[3]);
        const u32 l0 = w4m_pack_f16x2(v[0] - w4m_f16_lo(h0), v[1] - w4m_f16_hi(h0));
        const u32 l1 = w4m_pack_f16x2(v[2] - w4m_f16_lo(h1), v[3] - w4m_f16_hi(h1));
        xp[idx] = make_uint4(h0, h1, l0, l1);
    }
}

template <int NT, int RT>
__device__ __forceinline__ void w4_mma(const uint4* __restrict__ xp, const uint4* __restrict__ codes,
                                       const float* __restrict__ scales, const u8* __restrict__ zeros,
                                       float* __restrict__ out, u32 m, u32 n, u32 kb, u32 n_groups,
                                       u32 group_steps, u32 zero_sym, u32 asym, u32 splits) {
    __shared__ float red[W4M_WARPS][RT * NT * 4][32];
    const u32 lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    const u32 n16 = (n + 15u) >> 4;
    const u32 steps = kb * 4u;
    // This lane's A rows in each of the block's RT tiles (r and r + 8 of the tile), clamped so
    // reads stay in bounds; rows past n are never stored.
    u32 tiles[RT], rows[RT][2];
#pragma unroll
    for (int r = 0; r < RT; ++r) {
        tiles[r] = min(blockIdx.x * RT + (u32)r, n16 - 1u);
        rows[r][0] = min(tiles[r] * 16u + (lane >> 2), n - 1u);
        rows[r][1] = min(tiles[r] * 16u + (lane >> 2) + 8u, n - 1u);
    }
    const u32 per = (kb + splits - 1u) / splits;
    const u32 bbeg = min(kb, blockIdx.y * per), bend = min(kb, bbeg + per);
    const uint4* xw = xp + (u64)blockIdx.z * NT * steps * 32u + lane;
    float tot[RT][NT][4], acc[RT][NT][4];
#pragma unroll
    for (int r = 0; r < RT; ++r)
#pragma unroll
        for (int t = 0; t < NT; ++t)
#pragma unroll
            for (int i = 0; i < 4; ++i) tot[r][t][i] = acc[r][t][i] = 0.0f;
    u32 cur_g = 0xFFFFFFFFu;
    float sc[RT][2];
    u32 zb[RT][2];
#pragma unroll
    for (int r = 0; r < RT; ++r) sc[r][0] = sc[r][1] = 0.0f, zb[r][0] = zb[r][1] = 0u;
    for (u32 b = bbeg + warp; b < bend; b += W4M_WARPS * W4M_UNROLL) {
        uint4 wq[W4M_UNROLL][RT];
#pragma unroll
        for (int u = 0; u < W4M_UNROLL; ++u) {
            const u32 bu = b + (u32)u * W4M_WARPS;
#pragma unroll
            for (int r = 0; r < RT; ++r)
                wq[u][r] = bu < bend ? __ldg(codes + ((u64)tiles[r] * kb + bu) * 32u + lane) : make_uint4(0u, 0u, 0u, 0u);
        }
#pragma unroll
        for (int u = 0; u < W4M_UNROLL; ++u) {
            const u32 bu = b + (u32)u * W4M_WARPS;
            if (bu >= bend) break;
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const u32 step = bu * 4u + (u32)e;
                const u32 g = min(step / group_steps, n_groups - 1u);
                if (g != cur_g) {
                    if (cur_g != 0xFFFFFFFFu) {
#pragma unroll
                        for (int r = 0; r < RT; ++r)
#pragma unroll
                            for (int t = 0; t < NT; ++t)
#pragma unroll
                                for (int i = 0; i < 4; ++i) {
                                    tot[r][t][i] = fmaf(acc[r][t][i], sc[r][i >> 1], tot[r][t][i]);
                                    acc[r][t][i] = 0.0f;
                                }
                    }
                    cur_g = g;
#pragma unroll
                    for (int r = 0; r < RT; ++r)
#pragma unroll
                        for (int h = 0; h < 2; ++h) {
                            const u64 gi = (u64)rows[r][h] * n_groups + g;
                            sc[r][h] = __ldg(scales + gi);
                            const u32 z = asym ? (u32)__ldg(zeros + gi) : zero_sym;
                            zb[r][h] = (0x6400u | z) * 0x10001u;  // the f16 pair (1024 + z, 1024 + z)
                        }
                }
                // One x fragment per n8 tile, shared by the RT weight tiles.
                uint4 xb[NT];
#pragma unroll
                for (int t = 0; t < NT; ++t) xb[t] = __ldg(xw + ((u64)t * steps + step) * 32u);
#pragma unroll
                for (int r = 0; r < RT; ++r) {
                    const uint4 q = wq[u][r];
                    const u32 word = e == 0 ? q.x : e == 1 ? q.y : e == 2 ? q.z : q.w;
                    u32 a[4];
#pragma unroll
                    for (int p = 0; p < 4; ++p)
                        a[p] = w4m_sub_f16x2(((word >> (4 * p)) & 0x000F000Fu) | 0x64006400u, zb[r][p & 1]);
#pragma unroll
                    for (int t = 0; t < NT; ++t) {
                        w4m_mma(acc[r][t], a[0], a[1], a[2], a[3], xb[t].x, xb[t].y);
                        w4m_mma(acc[r][t], a[0], a[1], a[2], a[3], xb[t].z, xb[t].w);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < RT; ++r)
#pragma unroll
        for (int t = 0; t < NT; ++t)
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float v = cur_g != 0xFFFFFFFFu ? fmaf(acc[r][t][i], sc[r][i >> 1], tot[r][t][i]) : 0.0f;
                red[warp][(r * NT + t) * 4 + i][lane] = v;
            }
    __syncthreads();
    // C fragment: c0, c1 = (row r, x rows 2(lane%4), +1), c2, c3 = (row r + 8, the same x rows).
    for (u32 idx = threadIdx.x; idx < (u32)(RT * NT) * 4u * 32u; idx += blockDim.x) {
        const u32 slot = idx >> 5, ln = idx & 31u;
        float s = 0.0f;
        for (u32 w = 0; w < W4M_WARPS; ++w) s += red[w][slot][ln];
        const u32 r = slot / (NT * 4u), t = (slot >> 2) % NT, i = slot & 3u;
        const u32 tile = blockIdx.x * RT + r;
        const u32 row = tile * 16u + (ln >> 2) + (i >= 2u ? 8u : 0u);
        const u32 xrow = blockIdx.z * NT * 8u + t * 8u + (ln & 3u) * 2u + (i & 1u);
        if (tile < n16 && row < n && xrow < m) out[((u64)blockIdx.y * m + xrow) * n + row] = s;
    }
}

#define W4_MMA_PARAMS                                                                                        \
    const uint4 *__restrict__ xp, const uint4 *__restrict__ codes, const float *__restrict__ scales,         \
        const u8 *__restrict__ zeros, float *__restrict__ out, u32 m, u32 n, u32 kb, u32 n_groups,           \
        u32 group_steps, u32 zero_sym, u32 asym, u32 splits
#define W4_MMA_ARGS xp, codes, scales, zeros, out, m, n, kb, n_groups, group_steps, zero_sym, asym, splits

// (NT, RT): 1 and 2 n8 tiles with 4 weight tiles per warp, 4 with 2 (registers).
extern "C" __global__ void __launch_bounds__(128) matmul_w4_mma_1(W4_MMA_PARAMS) { w4_mma<1, 4>(W4_MMA_ARGS); }
extern "C" __global__ void __launch_bounds__(128) matmul_w4_mma_2(W4_MMA_PARAMS) { w4_mma<2, 4>(W4_MMA_ARGS); }
extern "C" __global__ void __launch_bounds__(128) matmul_w4_mma_4(W4_MMA_PARAMS) { w4_mma<4, 2>(W4_MMA_ARGS); }

// matmul_packed.cu: y[m, n] = x[m, k] . dequant(W)[n, k]^T for a weight in qtool's packed
// layout (quant::pack::qtool_layout): codes u32 [n, row_words], each row a little-endian bit
// stream (code c at bits c*bits .. c*bits + bits; 3-bit codes straddle words); scales f32
// [n, n_groups]; zeros u8 [n, n_groups] (asymmetric; else zero_sym = 2^(bits-1)); g_idx u32 [k]
// (act-order). W[j, c] = (float)(code - zero) * scale, exactly as dequantize_row_ref computes it.
// Two variants, side by side:
// - `matmul_packed_simple`: any bit width, group size and act-order. One thread per output
//   (j = thread along x, x rows along grid.y, grid-stride), dequantizing in the k loop.
//   Launch: blockDim (128), grid (ceil(n / 128), min(m, 65535)).
// - `matmul_w4_tuned`: int4 without act-order. The host re-pads each code row to a multiple of
//   4 words (16 bytes, one uint4 = 32 codes = one "chunk") and each x row to the same 32 * chunks
//   columns (zeros), so every load is a 128-bit load and no column needs a bounds check (padded
//   x is 0, so padded codes add nothing). Each warp computes W4_NR output rows for W4_MR x rows;
//   lane l takes chunks l, l + 32, ... of its split of k; a shuffle reduction ends each output.
//   Split-K: grid.y = splits, split s writes its partial sums to out[s, m, n], and
//   `splitk_reduce` adds the splits in order (deterministic; splits = 1 writes y directly).
//   Groups are multiples of 8 columns (or the whole row), so the 8 codes of one word share a
//   scale and zero. Launch: blockDim (128), grid (ceil(n / (4 * W4_NR)), splits,
//   min(ceil(m / W4_MR), 65535)). `matmul_w4_tuned_m1` is the same kernel for one x row
//   (grid.z = min(m, 65535)); the host takes it when m = 1.

#define W4_WARPS 4u
#define W4_NR 2
#define W4_MR 4

extern "C" __global__ void matmul_packed_simple(const float* __restrict__ x, const u32* __restrict__ codes,
                                                const float* __restrict__ scales, const u8* __restrict__ zeros,
                                                const u32* __restrict__ g_idx, float* __restrict__ y, u32 m, u32 n,
                                                u32 k, u32 bits, u32 row_words, u32 n_groups, u32 group_size,
                                                u32 zero_sym, u32 asym, u32 act_order) {
    const u32 j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    const u32* row = codes + (u64)j * row_words;
    const u32 mask = (1u << bits) - 1u;
    const u64 sg = (u64)j * n_groups;
    for (u32 i = blockIdx.y; i < m; i += gridDim.y) {
        const float* xr = x + (u64)i * k;
        float acc = 0.0f;
        for (u32 c = 0; c < k; ++c) {
            const u64 bp = (u64)c * bits;
            const u64 wi = bp >> 5;
            const u32 off = (u32)(bp & 31u);
            u32 v = row[wi] >> off;
            if (off + bits > 32u) v |= row[wi + 1] << (32u - off);
            v &= mask;
            const u32 g = act_order ? g_idx[c] : c / group_size;
            const int z = asym ? (int)zeros[sg + g] : (int)zero_sym;
            const float wv = (float)((int)v - z) * scales[sg + g];
            acc += xr[c] * wv;
        }
        y[(u64)i * n + j] = acc;
    }
}

// 2^23 + v as an f32, exactly, for v < 2^23: the bit pattern 0x4B000000 | v. Subtracting
// 2^23 + zero (also exact) gives code - zero without an int-to-float conversion, which runs at a
// quarter of the FMA rate on sm_90 and would bound a W4 GEMV by arithmetic, not memory.
__device__ __forceinline__ float two23_plus(u32 v) { return __uint_as_float(0x4B000000u | v); }

// The tuned int4 kernel for MR x rows per block (MR = 1 for decode, W4_MR otherwise). Per word
// (8 codes of one group) each x row's sum of x * (code - zero) is formed first, then scaled:
// acc += scale * sum.
template <int MR>
__device__ __forceinline__ void w4_tuned(const float* __restrict__ x, const uint4* __restrict__ codes,
                                         const float* __restrict__ scales, const u8* __restrict__ zeros,
                                         float* __restrict__ out, u32 m, u32 n, u32 chunks, u32 n_groups,
                                         u32 group_size, u32 zero_sym, u32 asym, u32 splits) {
    const u32 lane = threadIdx.x & 31u;
    const u32 j0 = (blockIdx.x * W4_WARPS + (threadIdx.x >> 5)) * W4_NR;
    if (j0 >= n) return;  // the whole warp leaves together; no block-wide barriers below
    const u32 kp = chunks * 32u;
    const u32 per = (chunks + splits - 1u) / splits;
    const u32 cbeg = min(chunks, blockIdx.y * per);
    const u32 cend = min(chunks, cbeg + per);
    u32 js[W4_NR];
#pragma unroll
    for (int r = 0; r < W4_NR; ++r) js[r] = min(j0 + r, n - 1u);  // clamped: reads stay in bounds
    for (u32 i0 = blockIdx.z * MR; i0 < m; i0 += gridDim.z * MR) {
        const u32 rows = min((u32)MR, m - i0);
        const float* xr[MR];
#pragma unroll
        for (int ii = 0; ii < MR; ++ii) xr[ii] = x + (u64)(i0 + min((u32)ii, rows - 1u)) * kp;
        float acc[W4_NR][MR];
#pragma unroll
        for (int r = 0; r < W4_NR; ++r)
#pragma unroll
            for (int ii = 0; ii < MR; ++ii) acc[r][ii] = 0.0f;
        for (u32 q = cbeg + lane; q < cend; q += 32u) {
            uint4 wq[W4_NR];
#pragma unroll
            for (int r = 0; r < W4_NR; ++r) wq[r] = __ldg(codes + (u64)js[r] * chunks + q);
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const u32 col0 = q * 32u + (u32)e * 8u;
                float xv[MR][8];
#pragma unroll
                for (int ii = 0; ii < MR; ++ii) {
                    const float4 a = __ldg(reinterpret_cast<const float4*>(xr[ii] + col0));
                    const float4 b = __ldg(reinterpret_cast<const float4*>(xr[ii] + col0 + 4u));
                    xv[ii][0] = a.x; xv[ii][1] = a.y; xv[ii][2] = a.z; xv[ii][3] = a.w;
                    xv[ii][4] = b.x; xv[ii][5] = b.y; xv[ii][6] = b.z; xv[ii][7] = b.w;
                }
                const u32 g = min(col0 / group_size, n_groups - 1u);
#pragma unroll
                for (int r = 0; r < W4_NR; ++r) {
                    const u32 word = e == 0 ? wq[r].x : e == 1 ? wq[r].y : e == 2 ? wq[r].z : wq[r].w;
                    const u64 gi = (u64)js[r] * n_groups + g;
                    const float s = __ldg(scales + gi);
                    const float zb = two23_plus(asym ? (u32)__ldg(zeros + gi) : zero_sym);
                    float part[MR];
#pragma unroll
                    for (int ii = 0; ii < MR; ++ii) part[ii] = 0.0f;
#pragma unroll
                    for (int t = 0; t < 8; ++t) {
                        const float wv = two23_plus((word >> (4 * t)) & 15u) - zb;  // code - zero, exact
#pragma unroll
                        for (int ii = 0; ii < MR; ++ii) part[ii] += xv[ii][t] * wv;
                    }
#pragma unroll
                    for (int ii = 0; ii < MR; ++ii) acc[r][ii] += part[ii] * s;
                }
            }
        }
#pragma unroll
        for (int r = 0; r < W4_NR; ++r) {
#pragma unroll
            for (int ii = 0; ii < MR; ++ii) {
                const float v = warp_sum(acc[r][ii]);
                if (lane == 0 && j0 + r < n && (u32)ii < rows)
                    out[((u64)blockIdx.y * m + i0 + ii) * n + j0 + r] = v;
            }
        }
    }
}

#define W4_TUNED_PARAMS                                                                                     \
    const float *__restrict__ x, const uint4 *__restrict__ codes, const float *__restrict__ scales,         \
        const u8 *__restrict__ zeros, float *__restrict__ out, u32 m, u32 n, u32 chunks, u32 n_groups,      \
        u32 group_size, u32 zero_sym, u32 asym, u32 splits
extern "C" __global__ void __launch_bounds__(128) matmul_w4_tuned(W4_TUNED_PARAMS) {
    w4_tuned<W4_MR>(x, codes, scales, zeros, out, m, n, chunks, n_groups, group_size, zero_sym, asym, splits);
}
// The same for one x row (decode): no x row loaded or multiplied four times.
extern "C" __global__ void __launch_bounds__(128) matmul_w4_tuned_m1(W4_TUNED_PARAMS) {
    w4_tuned<1>(x, codes, scales, zeros, out, m, n, chunks, n_groups, group_size, zero_sym, asym, splits);
}

// y[idx] = sum over s ascending of partial[s, idx], idx < mn. Launch: 1-D grid-stride.
extern "C" __global__ void splitk_reduce(const float* __restrict__ partial, float* __restrict__ y, u32 splits,
                                         u32 mn) {
    for (u32 idx = blockIdx.x * blockDim.x + threadIdx.x; idx < mn; idx += gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (u32 p = 0; p < splits; ++p) s += partial[(u64)p * mn + idx];
        y[idx] = s;
    }
}

// `matmul_w4_wide`: the int4 decode GEMV (one x row; same padded layout as the tuned kernel),
// built for memory-level parallelism. A block of blockDim.x threads (a multiple of 32, at most
// 256) owns W4W_NR = 8 output rows; thread t takes chunks t, t + blockDim.x, ... and for each
// issues all 8 rows' 16-byte code loads and the chunk's 8 float4 x loads before any arithmetic.
// Codes become floats without conversions or per-code subtractions: f(q) = 1 + q / 16 is the
// f32 with bit pattern 0x3F800000 | q << 19 (exact), so with X = sum of the word's 8 x values,
//   sum_t x_t (q_t - z) = 16 * sum_t x_t f(q_t) - (16 + z) * X,
// three instructions per code (shift, mask-or, FMA) instead of five. Per-thread sums are
// reduced by warp shuffles, then across warps through shared memory in a fixed order
// (deterministic). Groups must be multiples of 8 columns (as for the tuned kernel).
// Launch: blockDim (T), grid (ceil(n / W4W_NR)).
#define W4W_NR 8

__device__ __forceinline__ float w4_one_plus_sixteenth(u32 word, int t) {
    // nibble t of word, moved to mantissa bits 19..22, or-ed into 1.0f
    const u32 bits = t <= 4 ? (word << (19 - 4 * t)) : (word >> (4 * t - 19));
    return __uint_as_float(0x3F800000u | (bits & 0x00780000u));
}

extern "C" __global__ void __launch_bounds__(256)
    matmul_w4_wide(const float* __restrict__ x, const uint4* __restrict__ codes, const float* __restrict__ scales,
                   const u8* __restrict__ zeros, float* __restrict__ y, u32 n, u32 chunks, u32 n_groups,
                   u32 group_size, u32 zero_sym, u32 asym) {
    __shared__ float red[8][W4W_NR];
    const u32 tid = threadIdx.x, lane = tid & 31u, warp = tid >> 5;
    const u32 j0 = blockIdx.x * W4W_NR;
    u32 js[W4W_NR];
#pragma unroll
    for (int r = 0; r < W4W_NR; ++r) js[r] = min(j0 + r, n - 1u);  // clamped: reads stay in bounds
    float acc[W4W_NR];
#pragma unroll
    for (int r = 0; r < W4W_NR; ++r) acc[r] = 0.0f;
    for (u32 q = tid; q < chunks; q += blockDim.x) {
        uint4 wq[W4W_NR];
#pragma unroll
        for (int r = 0; r < W4W_NR; ++r) wq[r] = __ldg(codes + (u64)js[r] * chunks + q);
        float4 xa[8];
#pragma unroll
        for (int i = 0; i < 8; ++i) xa[i] = __ldg(reinterpret_cast<const float4*>(x + (u64)q * 32u) + i);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const float xv[8] = {xa[2 * e].x, xa[2 * e].y, xa[2 * e].z, xa[2 * e].w,
                                 xa[2 * e + 1].x, xa[2 * e + 1].y, xa[2 * e + 1].z, xa[2 * e + 1].w};
            const float xsum = ((xv[0] + xv[1]) + (xv[2] + xv[3])) + ((xv[4] + xv[5]) + (xv[6] + xv[7]));
            const u32 g = min((q * 32u + (u32)e * 8u) / group_size, n_groups - 1u);
#pragma unroll
            for (int r = 0; r < W4W_NR; ++r) {
                const u32 word = e == 0 ? wq[r].x : e == 1 ? wq[r].y : e == 2 ? wq[r].z : wq[r].w;
                const u64 gi = (u64)js[r] * n_groups + g;
                const float s = __ldg(scales + gi);
                const float z = (float)(asym ? (u32)__ldg(zeros + gi) : zero_sym);
                float part = 0.0f;
#pragma unroll
                for (int t = 0; t < 8; ++t) part = fmaf(xv[t], w4_one_plus_sixteenth(word, t), part);
                acc[r] = fmaf(fmaf(16.0f, part, -(16.0f + z) * xsum), s, acc[r]);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < W4W_NR; ++r) {
        const float v = warp_sum(acc[r]);
        if (lane == 0) red[warp][r] = v;
    }
    __syncthreads();
    if (tid < W4W_NR && j0 + tid < n) {
        float s = 0.0f;
        for (u32 w = 0; w < (blockDim.x >> 5); ++w) s += red[w][tid];
        y[j0 + tid] = s;
    }
}

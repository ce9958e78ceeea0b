// attention.cu: causal attention of q [m, n_heads, head_dim] (the last m of len positions) over
// one layer's KV cache (kernels::kv): K and V [len, kv_dim] as f16 pairs in u32 words (mode 0),
// int8/int4 codes packed in u32 words along each row (mode 1) or f32 bits (mode 2), value = (code - zero) * scale
// with (scale, zero) f32 pairs per channel (axis 0) or per token and KV head (axis 1). Query
// head h reads KV head h / group. Must match `attention_ref` (f64) within f32 rounding.
// Launch: one block of 128 threads per (query i, head h), row = i * n_heads + h (grid-stride);
// scratch [m * n_heads, len] holds the scores, then the probabilities. Pass 1: threads split
// the positions (scores, block max); pass 2: exp(score - max), block sum; pass 3: threads split
// head_dim, each sums p_t * V[t] over t in order (deterministic).

struct KvDesc {
    const u32* words;
    const float* scale_zero;
    u32 mode, bits, axis;
};

__device__ __forceinline__ float kv_elem(const KvDesc& d, u32 t, u32 c, u32 kv_dim, u32 n_kv_heads, u32 head_dim) {
    const u64 i = (u64)t * kv_dim + c;
    if (d.mode == 2u) return __uint_as_float(d.words[i]);
    if (d.mode == 0u) {
        f16_t h;
        h.bits = (u16)(d.words[i >> 1] >> ((u32)(i & 1u) * 16u));
        return to_f32(h);
    }
    const u32 per = 32u / d.bits;
    const u32 code = (d.words[i / per] >> ((u32)(i % per) * d.bits)) & ((1u << d.bits) - 1u);
    const u64 si = d.axis == 1u ? (u64)t * n_kv_heads + c / head_dim : (u64)c;
    return ((float)code - d.scale_zero[2 * si + 1]) * d.scale_zero[2 * si];
}

extern "C" __global__ void attention_f32(const float* __restrict__ q, const u32* __restrict__ kw,
                                         const float* __restrict__ ksz, const u32* __restrict__ vw,
                                         const float* __restrict__ vsz, float* __restrict__ scratch,
                                         float* __restrict__ out, u32 m, u32 n_heads, u32 len, u32 n_kv_heads,
                                         u32 head_dim, u32 k_mode, u32 k_bits, u32 k_axis, u32 v_mode, u32 v_bits,
                                         u32 v_axis, float scale) {
    __shared__ float red[32];
    const KvDesc kd = {kw, ksz, k_mode, k_bits, k_axis};
    const KvDesc vd = {vw, vsz, v_mode, v_bits, v_axis};
    const u32 kv_dim = n_kv_heads * head_dim, group = n_heads / n_kv_heads;
    for (u32 row = blockIdx.x; row < m * n_heads; row += gridDim.x) {
        const u32 i = row / n_heads, h = row % n_heads;
        const u32 last = len - m + i;
        const u32 c0 = (h / group) * head_dim;
        const float* qh = q + (u64)row * head_dim;
        float* s = scratch + (u64)row * len;
        float mx = -__int_as_float(0x7f800000);
        for (u32 t = threadIdx.x; t <= last; t += blockDim.x) {
            float dot = 0.0f;
            for (u32 d = 0; d < head_dim; ++d) dot += qh[d] * kv_elem(kd, t, c0 + d, kv_dim, n_kv_heads, head_dim);
            s[t] = dot * scale;
            mx = fmaxf(mx, dot * scale);
        }
        mx = block_max(mx, red);
        float sum = 0.0f;
        for (u32 t = threadIdx.x; t <= last; t += blockDim.x) {
            const float e = expf(s[t] - mx);
            s[t] = e;
            sum += e;
        }
        sum = block_sum(sum, red);  // ends with a barrier: every s[t] is written
        const float inv = 1.0f / sum;
        for (u32 d = threadIdx.x; d < head_dim; d += blockDim.x) {
            float acc = 0.0f;
            for (u32 t = 0; t <= last; ++t) acc += s[t] * inv * kv_elem(vd, t, c0 + d, kv_dim, n_kv_heads, head_dim);
            out[(u64)row * head_dim + d] = acc;
        }
        __syncthreads();  // the next row reuses nothing, but keep the block in step
    }
}

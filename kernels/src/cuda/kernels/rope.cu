// rope.cu: rotary position embedding in place, HF "rotate_half": in each head of
// x[m, n_heads * head_dim], pair (i, i + half) of row r turns by the angle of position
// positions[r] and frequency i. cs[m, 2, half] holds each row's cos then sin, gathered on the
// host from the f32 RopeTable (rounded once from f64, as rope_ref's angles are).
// Launch: 1-D grid-stride, one (row, head, i < half) per thread.

extern "C" __global__ void rope_f32(float* __restrict__ x, const float* __restrict__ cs, u32 m, u32 n_heads,
                                    u32 head_dim) {
    const u32 half = head_dim / 2u;
    const u64 total = (u64)m * n_heads * half;
    for (u64 id = (u64)blockIdx.x * blockDim.x + threadIdx.x; id < total; id += (u64)gridDim.x * blockDim.x) {
        const u32 i = (u32)(id % half);
        const u64 rh = id / half;  // row * n_heads + head
        const u64 r = rh / n_heads;
        const float c = cs[r * 2u * half + i];
        const float s = cs[r * 2u * half + half + i];
        float* h = x + rh * head_dim;
        const float x1 = h[i], x2 = h[i + half];
        h[i] = x1 * c - x2 * s;
        h[i + half] = x2 * c + x1 * s;
    }
}

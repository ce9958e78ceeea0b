// hadamard.cu: Hadamard rotation (QuaRot), x <- H . x per row, H = (H_m (x) H_P) / sqrt(n),
// n = m * P, P = 2^p; the CPU backend's algorithm (kernels/src/cpu/hadamard.rs) on the device:
// 1. an unnormalised fast Walsh-Hadamard transform of every contiguous run of P values
//    (x[rows, n] flattened is a sequence of rows * m runs): `hadamard_fwht_local` runs the
//    butterfly strides 1 .. min(P, TILE)/2 in shared memory, one block per TILE-value tile;
//    `hadamard_fwht_stage` runs one larger stride h (TILE <= h < P) on global memory;
// 2. `hadamard_mix`: out[r, a * P + b] = scale * sum_c base[a, c] * x[r, c * P + b], c ascending
//    (the dense m x m +-1 mix of the runs and the 1/sqrt(n) scale), one thread per output.
// All in f32, like the CPU. Launches: local and stage 256 threads per block; mix 1-D
// grid-stride.

#define HAD_TILE 2048u

extern "C" __global__ void hadamard_fwht_local(float* __restrict__ x, u32 total, u32 span) {
    __shared__ float t[HAD_TILE];
    for (u64 base = (u64)blockIdx.x * HAD_TILE; base < total; base += (u64)gridDim.x * HAD_TILE) {
        // total is a multiple of P >= span, so a pair whose first index is in range has both in
        // range; the zero padding of a ragged last tile is transformed but never written back.
        for (u32 i = threadIdx.x; i < HAD_TILE; i += blockDim.x) {
            const u64 g = base + i;
            t[i] = g < total ? x[g] : 0.0f;
        }
        for (u32 h = 1; h < span; h <<= 1) {
            __syncthreads();
            for (u32 k = threadIdx.x; k < HAD_TILE / 2u; k += blockDim.x) {
                const u32 j = (k / h) * 2u * h + k % h;
                const float a = t[j], b = t[j + h];
                t[j] = a + b;
                t[j + h] = a - b;
            }
        }
        __syncthreads();
        for (u32 i = threadIdx.x; i < HAD_TILE; i += blockDim.x) {
            const u64 g = base + i;
            if (g < total) x[g] = t[i];
        }
        __syncthreads();
    }
}

extern "C" __global__ void hadamard_fwht_stage(float* __restrict__ x, u32 total, u32 h) {
    const u64 pairs = total / 2u;
    for (u64 k = (u64)blockIdx.x * blockDim.x + threadIdx.x; k < pairs; k += (u64)gridDim.x * blockDim.x) {
        const u64 j = (k / h) * 2u * h + k % h;
        const float a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
    }
}

extern "C" __global__ void hadamard_mix(const float* __restrict__ x, const float* __restrict__ base,
                                        float* __restrict__ out, u32 rows, u32 n, u32 m, u32 pp, float scale) {
    const u64 total = (u64)rows * n;
    for (u64 id = (u64)blockIdx.x * blockDim.x + threadIdx.x; id < total; id += (u64)gridDim.x * blockDim.x) {
        const u64 r = id / n;
        const u32 i = (u32)(id % n);
        const u32 a = i / pp, b = i % pp;
        const float* src = x + r * n + b;
        float acc = 0.0f;
        for (u32 c = 0; c < m; ++c) acc += base[a * m + c] * src[(u64)c * pp];
        out[id] = acc * scale;
    }
}

// common.cuh: helpers every kernel source is compiled with (the host puts this file before
// each .cu source; NVRTC gets no include paths and no CUDA headers). Weight element types
// travel as their raw 16-bit patterns, converted here exactly: bf16 by a shift, f16 by the
// PTX conversion instruction.

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

// Raw 16-bit weights, tagged so overloads pick the right conversion.
struct bf16_t { u16 bits; };
struct f16_t { u16 bits; };

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(bf16_t v) { return __uint_as_float(((u32)v.bits) << 16); }
__device__ __forceinline__ float to_f32(f16_t v) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v.bits));
    return f;
}
// An f16 stored little-endian at p (any alignment; GGML blocks are not 2-byte aligned).
__device__ __forceinline__ float f16_at(const u8* p) {
    f16_t h;
    h.bits = (u16)p[0] | ((u16)p[1] << 8);
    return to_f32(h);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ int warp_sum_i32(int v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum (or max) over a block of BLOCK threads (a multiple of 32, at most 1024), returned to every
// thread. `scratch` holds 32 floats of shared memory; the call ends with a barrier, so the
// scratch can be reused right after.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const u32 lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    const u32 warps = (blockDim.x + 31u) >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : 0.0f;
    t = warp_sum(t);
    __syncthreads();
    return t;
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
    const u32 lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    const u32 warps = (blockDim.x + 31u) >> 5;
    v = warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < warps ? scratch[lane] : -__int_as_float(0x7f800000);
    t = warp_max(t);
    __syncthreads();
    return t;
}

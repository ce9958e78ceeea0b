// add.cu: x[i] += y[i] in place (residual connections).
// Launch: 1-D grid-stride, any grid; n < 2^32.

extern "C" __global__ void add_f32(float* __restrict__ x, const float* __restrict__ y, u32 n) {
    for (u32 i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        x[i] += y[i];
    }
}

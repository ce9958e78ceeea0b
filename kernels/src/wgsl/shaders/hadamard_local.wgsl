// hadamard_local.wgsl: the first butterfly stages of the fast Walsh-Hadamard transform, in
// workgroup memory. x [total] is a sequence of runs of P = 2^p values (rows x base order);
// a stage of stride h pairs (j, j + h) for every j with j & h == 0, which stays inside a run
// while h < P. This shader runs the stages h = 1, 2, ..., span/2 (span = min(P, TILE)) on each
// aligned TILE of x; the launcher runs the strides >= TILE with hadamard_stage.wgsl.
// Unnormalised, f32; the 1/sqrt(n) scale is applied by hadamard_mix.wgsl.
// Buffers: params {total, span, _, _}; x: array<f32> (read_write) [total].
// Launch: one workgroup of 256 threads per TILE; tile = id.x + id.y * num_workgroups.x.

struct Params { total: u32, span: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

const WG: u32 = 256u;
const TILE: u32 = 2048u;
var<workgroup> t: array<f32, TILE>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let base = (wid.x + wid.y * nwg.x) * TILE;
    if (base >= p.total) {
        return;
    }
    // total is a multiple of P, so a pair whose first index is in range has both in range;
    // the zero padding of a ragged last tile is transformed but never written back.
    for (var i = lid; i < TILE; i += WG) {
        let g = base + i;
        t[i] = select(0.0, x[min(g, p.total - 1u)], g < p.total);
    }
    for (var h = 1u; h < p.span; h <<= 1u) {
        workgroupBarrier();
        for (var k = lid; k < TILE / 2u; k += WG) {
            let j = (k / h) * 2u * h + k % h;
            let a = t[j];
            let b = t[j + h];
            t[j] = a + b;
            t[j + h] = a - b;
        }
    }
    workgroupBarrier();
    for (var i = lid; i < TILE; i += WG) {
        let g = base + i;
        if (g < p.total) {
            x[g] = t[i];
        }
    }
}

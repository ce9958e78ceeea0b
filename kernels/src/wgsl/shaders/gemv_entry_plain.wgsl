// gemv_entry_plain.wgsl (prelude of matmul_packed_gemv.wgsl, adapters without subgroups): the
// entry point, with no subgroup builtins (size 0 sends the row sums to the workgroup tree).
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    gemv(wid, nwg, t, 0u, 0u);
}
fn subgroup_sum(v: vec4<f32>) -> vec4<f32> { return v; }

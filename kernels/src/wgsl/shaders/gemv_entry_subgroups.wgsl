// gemv_entry_subgroups.wgsl (prelude of matmul_packed_gemv.wgsl when the device was opened
// with wgpu's SUBGROUP feature, which is what lets naga accept these builtins; naga takes no
// `enable subgroups;`): the entry point with the subgroup builtins, and the subgroup sum the
// row reduction uses.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) sg_lane: u32,
        @builtin(subgroup_size) sg_size: u32) {
    gemv(wid, nwg, t, sg_lane, sg_size);
}
fn subgroup_sum(v: vec4<f32>) -> vec4<f32> { return subgroupAdd(v); }

//! NVRTC compile check (feature `cuda`), no GPU or driver needed: loads `libnvrtc` alone and
//! compiles every `.cu` source of the CUDA backend (after `common.cuh`) to PTX for `compute_75`
//! (the oldest architecture CUDA 13 targets) and `compute_90` (Hopper), failing with NVRTC's log;
//! checks that every `.cu` file on disk is listed in `sources::ALL` and that each kernel the
//! launchers call is an entry of the PTX. With `QTOOL_PTX_DIR` set it writes each PTX there
//! (`<source>.<arch>.ptx`). Without `libnvrtc` it SKIPs (saying why) unless
//! `QTOOL_REQUIRE` contains `nvrtc`. `scripts/nvrtc-check.sh` runs it with a pip-installed NVRTC.

use kernels::cuda::device::{compile_ptx, nvrtc_present, nvrtc_version};
use kernels::cuda::sources::{self, Source};
use std::collections::BTreeSet;

/// The architectures compiled for.
const ARCHS: [&str; 2] = ["compute_75", "compute_90"];

/// The kernels the launchers look up, per source.
const ENTRIES: [(&str, &[&str]); 12] = [
    ("add", &["add_f32"]),
    ("attention", &["attention_f32"]),
    ("silu_mul", &["silu_mul_f32"]),
    ("rms_norm", &["rms_norm_f32"]),
    ("softmax", &["softmax_f32"]),
    ("rope", &["rope_f32"]),
    ("hadamard", &["hadamard_fwht_local", "hadamard_fwht_stage", "hadamard_mix"]),
    (
        "matmul",
        &[
            "matmul_gemv_f32",
            "matmul_gemv_bf16",
            "matmul_gemv_f16",
            "matmul_tiled_f32",
            "matmul_tiled_bf16",
            "matmul_tiled_f16",
        ],
    ),
    (
        "matmul_packed",
        &["matmul_packed_simple", "matmul_w4_tuned", "matmul_w4_tuned_m1", "matmul_w4_wide", "splitk_reduce"],
    ),
    ("matmul_w4_mma", &["w4_mma_pack_x", "matmul_w4_mma_1", "matmul_w4_mma_2", "matmul_w4_mma_4"]),
    ("matmul_gguf", &["matmul_gguf_q8_0", "matmul_gguf_q4_0"]),
    (
        "matmul_w8a8",
        &["matmul_w8a8_dp4a", "matmul_w8a8_mma_128x128", "matmul_w8a8_mma_128x64", "matmul_w8a8_mma_64x64"],
    ),
];

/// `true` when NVRTC is there; otherwise SKIP (or fail when `QTOOL_REQUIRE` names `nvrtc`).
fn nvrtc_or_skip() -> bool {
    if nvrtc_present() {
        return true;
    }
    let why = "libnvrtc not found by the dynamic loader (set LD_LIBRARY_PATH to a directory holding \
               libnvrtc.so.13, e.g. from the nvidia-cuda-nvrtc wheel; scripts/nvrtc-check.sh does this)";
    let required = std::env::var("QTOOL_REQUIRE").unwrap_or_default();
    if required.split(',').any(|r| r.trim() == "nvrtc") {
        panic!("nvrtc: required by QTOOL_REQUIRE but unavailable: {why}");
    }
    eprintln!("SKIP nvrtc: {why}");
    false
}

#[test]
fn every_cu_file_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cuda/kernels");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("src/cuda/kernels")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".cu")).map(str::to_string))
        .collect();
    let listed: BTreeSet<String> = sources::ALL.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(on_disk, listed, "every kernels/*.cu must be in cuda::sources::ALL and the other way round");
    let checked: BTreeSet<String> = ENTRIES.iter().map(|(s, _)| s.to_string()).collect();
    assert_eq!(checked, listed, "ENTRIES must name the kernels of every source");
}

#[test]
fn nvrtc_compiles_every_source() {
    if !nvrtc_or_skip() {
        return;
    }
    let (major, minor) = nvrtc_version().expect("nvrtcVersion");
    eprintln!("nvrtc {major}.{minor}: compiling {} sources for {}", sources::ALL.len(), ARCHS.join(", "));
    for arch in ARCHS {
        for src in sources::ALL {
            let ptx = match compile_ptx(src, arch) {
                Ok(p) => p.to_src(),
                Err(e) => panic!("{e}"),
            };
            let wanted = ENTRIES.iter().find(|(s, _)| *s == src.name).map(|(_, e)| *e).unwrap_or(&[]);
            for entry in wanted {
                assert!(ptx.contains(&format!(".entry {entry}(")), "{}.cu ({arch}): no PTX entry {entry}", src.name);
            }
            if let Some(dir) = std::env::var_os("QTOOL_PTX_DIR") {
                // For scripts/nvrtc-check.sh, which assembles each file with ptxas (inline PTX
                // is only checked there or by the driver).
                let path = std::path::Path::new(&dir).join(format!("{}.{arch}.ptx", src.name));
                std::fs::write(&path, &ptx).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            }
            eprintln!("nvrtc {arch}: {}.cu ok ({} bytes of PTX, entries: {})", src.name, ptx.len(), wanted.join(" "));
        }
    }
}

#[test]
fn nvrtc_reports_its_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let broken = Source { name: "broken", text: "extern \"C\" __global__ void f(float* y) { y[0] = ; }\n" };
    let Err(err) = compile_ptx(&broken, "compute_90") else { panic!("a syntax error must not compile") };
    let msg = err.to_string();
    assert!(msg.contains("broken.cu") && msg.contains("error"), "the error should carry NVRTC's log: {msg}");
    eprintln!("nvrtc on a broken source: {msg}");
}

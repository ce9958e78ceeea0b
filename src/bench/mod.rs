//! Benchmarks run by `qtool bench`. `model`: end-to-end prefill and decode throughput of a
//! checkpoint, set beside the machine's read bandwidth measured in the same run. `kernels`:
//! matmul variants of one backend (cpu, wgsl, ...) on a few Linear shapes.

pub mod kernels;
#[cfg(feature = "cuda")]
pub mod kernels_cuda;
pub mod kernels_report;
pub mod llamacpp;
pub mod model_speed;
pub mod report;

/// A short description of this machine: CPU model, thread count and load (other work on a
/// shared machine slows every figure; the bandwidth is measured in the same run for that reason).
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!("{cpu}, {} threads, 1-minute load average {load} at the end of the run", rayon::current_num_threads())
}

//! Benchmarks run by `qtool bench`. `model`: end-to-end prefill and decode throughput of a
//! checkpoint, set beside the machine's read bandwidth measured in the same run.

pub mod model_speed;
pub mod report;

/// A short description of this machine: CPU model and thread count.
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{cpu}, {} threads", rayon::current_num_threads())
}

//! Benchmarks run by `qtool bench`. `model`: end-to-end prefill and decode throughput of a
//! checkpoint, set beside the machine's read bandwidth measured in the same run. `kernels`:
//! matmul variants of one backend (cpu, wgsl, ...) on a few Linear shapes. `throughput`: qtool
//! and llama.cpp's own benches side by side on one GGUF, interleaved.

pub mod kernels;
#[cfg(feature = "cuda")]
pub mod kernels_cuda;
pub mod kernels_report;
pub mod llamacpp;
pub mod llamacpp_tools;
pub mod model_speed;
pub mod report;
pub mod throughput;
pub mod throughput_report;

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

/// Today's UTC date as `YYYY-MM-DD` (from the system clock; the civil-from-days algorithm of
/// the proleptic Gregorian calendar).
pub fn utc_date() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Year, month, day of the day `z` days after 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(super::civil_from_days(20_794), (2026, 12, 7));
    }
}

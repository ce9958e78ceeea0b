//! Device-side timing for benchmarks of the CUDA backend (`qtool bench kernels --backend
//! cuda`): what one kernel launch costs on the GPU, without the host round trips that every
//! [`crate::Backend`] call pays.
//!
//! - [`time_enqueued`]: captures `reps` launches (each made by the caller's `enqueue(i)`, which
//!   must only launch: no allocation, no copy, no wait) into one CUDA graph, replays it
//!   `samples` times between two events, and returns the median time per launch. Launch
//!   overhead on the host (microseconds, as long as a small GEMV itself) stays out of the
//!   number. When capture is refused, the same loop is timed unrolled between events, and
//!   [`DeviceTiming::graph`] says so.
//! - [`copy_bandwidth`]: a device-to-device copy of a buffer far larger than L2, counting
//!   bytes read plus bytes written: the bandwidth ceiling the GEMV rows are compared with.
//! - [`rotation`]: how many copies of an input to cycle through so that successive launches
//!   do not find it in L2.

use super::buffers::{self, DriverCtx};
use super::device::{device_err, CudaDevice};
use crate::error::Result;
use cudarc::driver::sys::{CUevent_flags, CUgraphInstantiate_flags, CUstreamCaptureMode};

/// A measured time per launch.
#[derive(Clone, Copy, Debug)]
pub struct DeviceTiming {
    /// Median seconds per launch over the samples.
    pub per_launch_s: f64,
    /// Whether the launches ran as one replayed CUDA graph (else as a plain loop).
    pub graph: bool,
}

/// The L2 size in bytes (0 when the driver does not say).
pub fn l2_bytes(dev: &CudaDevice) -> usize {
    dev.ctx
        .attribute(cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)
        .map_or(0, |v| v.max(0) as usize)
}

/// Copies of a `bytes`-sized input to cycle through so that together they are at least four
/// times L2 (at least 1, at most `max_copies`).
pub fn rotation(dev: &CudaDevice, bytes: usize, max_copies: usize) -> usize {
    (4 * l2_bytes(dev)).div_ceil(bytes.max(1)).clamp(1, max_copies.max(1))
}

/// Median time per launch of `enqueue(0..reps)`, replayed `samples` times (after one warm
/// replay). `enqueue(i)` launches the i-th call (cycle rotated inputs with `i`).
pub fn time_enqueued(
    dev: &CudaDevice,
    reps: usize,
    samples: usize,
    mut enqueue: impl FnMut(usize) -> Result<()>,
) -> Result<DeviceTiming> {
    let reps = reps.max(1);
    // Warm-up: compiles and loads the modules, touches every rotated copy once.
    for i in 0..reps {
        enqueue(i)?;
    }
    dev.sync("benchmark warm-up")?;
    let stream = &dev.stream;
    let graph = match stream.begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) {
        Ok(()) => {
            let launched = (0..reps).try_for_each(&mut enqueue);
            let captured = stream.end_capture(CUgraphInstantiate_flags(0));
            launched?;
            captured.ok().flatten()
        }
        Err(_) => None,
    };
    let replay = |enqueue: &mut dyn FnMut(usize) -> Result<()>| -> Result<()> {
        match &graph {
            Some(g) => g.launch().ctx("replaying the benchmark graph"),
            None => (0..reps).try_for_each(enqueue),
        }
    };
    replay(&mut enqueue)?;
    dev.sync("benchmark warm replay")?;
    let mut times = Vec::with_capacity(samples.max(1));
    for _ in 0..samples.max(1) {
        let start = stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).ctx("recording an event")?;
        replay(&mut enqueue)?;
        let end = stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).ctx("recording an event")?;
        let ms = start.elapsed_ms(&end).ctx("reading the benchmark events")?;
        times.push(f64::from(ms) * 1e-3 / reps as f64);
    }
    dev.sync("benchmark")?;
    times.sort_by(f64::total_cmp);
    Ok(DeviceTiming { per_launch_s: times[times.len() / 2], graph: graph.is_some() })
}

/// Device-to-device copy bandwidth over a `bytes` buffer (rounded down to 4-byte words),
/// counting bytes read plus bytes written, in GB/s: the median of `samples` copies. The source
/// holds a non-constant pattern (uploaded once in 64 MiB, then doubled on the device).
pub fn copy_bandwidth(dev: &CudaDevice, bytes: usize, samples: usize) -> Result<f64> {
    let words = (bytes / 4).max(1 << 20);
    let chunk = words.min(16 << 20);
    let pattern: Vec<u32> = (0..chunk as u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    let head = buffers::upload(dev, "copy pattern", &pattern)?;
    let mut src = buffers::zeros::<u32>(dev, "copy source", words)?;
    let mut dst = buffers::zeros::<u32>(dev, "copy destination", words)?;
    let mut filled = 0;
    while filled < words {
        let len = chunk.min(words - filled);
        let mut view = src.slice_mut(filled..filled + len);
        dev.stream.memcpy_dtod(&head.slice(0..len), &mut view).ctx("filling the copy source")?;
        filled += len;
    }
    dev.stream.memcpy_dtod(&src, &mut dst).ctx("warm-up copy")?;
    dev.sync("copy bandwidth warm-up")?;
    let mut rates = Vec::with_capacity(samples.max(1));
    for _ in 0..samples.max(1) {
        let start = dev.stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).ctx("recording an event")?;
        dev.stream.memcpy_dtod(&src, &mut dst).ctx("timed copy")?;
        let end = dev.stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).ctx("recording an event")?;
        let s = f64::from(start.elapsed_ms(&end).ctx("reading the copy events")?) * 1e-3;
        if s <= 0.0 {
            return Err(device_err("copy bandwidth: the events measured no time"));
        }
        rates.push(2.0 * (words * 4) as f64 / s / 1e9);
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[rates.len() / 2])
}

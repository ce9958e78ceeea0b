//! `qtool bench model`: prefill/decode tokens/s against measured memory bandwidth.
//! `qtool bench kernels`: matmul kernel timings of one backend.
//! `qtool bench throughput`: qtool against llama.cpp's own benches on one GGUF, interleaved.

use crate::bench::model_speed::{bench_checkpoint, ModelBenchConfig};
use crate::bench::report::ModelBenchReport;
use anyhow::Context;
use model::weights::DType;
use std::path::PathBuf;

/// Flags of `qtool bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// End-to-end prefill and decode throughput of a checkpoint.
    Model(ModelArgs),
    /// Matmul kernels (dense, packed W8/W4/W3, GGML blocks on the CPU) of one backend on a few Linear shapes.
    Kernels(KernelArgs),
    /// qtool against llama.cpp (llama-bench, llama-batched-bench) on the same GGUF, interleaved:
    /// decode at batch 1, prefill, and several sequences in flight; min/median/max over repeats,
    /// with the machine's read bandwidth and f32/int8 compute peaks measured in the same run.
    Throughput(ThroughputArgs),
}

/// Flags of `qtool bench throughput`.
#[derive(clap::Args, Debug)]
pub struct ThroughputArgs {
    /// qtool's checkpoint: a GGUF file (llama.cpp runs the same file) or an HF folder.
    #[arg(long)]
    model: PathBuf,
    /// The GGUF llama.cpp runs [default: --model when it is a GGUF file].
    #[arg(long)]
    llama_gguf: Option<PathBuf>,
    /// Folder of llama.cpp's tools (what `bash scripts/llamacpp/build.sh` prints); without it
    /// only qtool runs.
    #[arg(long)]
    llamacpp_bin: Option<PathBuf>,
    /// qtool's backend (auto: the fast CPU path, cpu-q8 today; cpu: the exact f32 twin).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Threads for both engines [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Tokens decoded at batch 1.
    #[arg(long, default_value_t = 64)]
    decode_tokens: usize,
    /// Prompt tokens of the prefill workload.
    #[arg(long, default_value_t = 512)]
    prefill_tokens: usize,
    /// Sequences in flight of the batched workloads, comma-separated (empty: none).
    #[arg(long, default_value = "8,16,32", value_delimiter = ',')]
    batch: Vec<usize>,
    /// Prompt tokens per sequence of the batched workloads.
    #[arg(long, default_value_t = 128)]
    batch_prompt: usize,
    /// Decode steps of the batched workloads.
    #[arg(long, default_value_t = 32)]
    batch_gen: usize,
    /// Interleaved repeats.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Markdown report to write (a .json beside it holds the same numbers).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn run_throughput(a: ThroughputArgs) -> anyhow::Result<()> {
    use crate::bench::throughput::{self, ThroughputConfig};
    use crate::bench::throughput_report::ThroughputReport;
    let is_gguf = a.model.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
    let llama_gguf = a.llama_gguf.clone().or_else(|| is_gguf.then(|| a.model.clone()));
    if a.llamacpp_bin.is_some() && llama_gguf.is_none() {
        anyhow::bail!(
            "--model {} is not a GGUF file: name the file llama.cpp runs with --llama-gguf",
            a.model.display()
        );
    }
    if let Some(g) = &llama_gguf {
        if !g.is_file() {
            anyhow::bail!("--llama-gguf {}: no such file", g.display());
        }
    }
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if !(1..=1024).contains(&threads) || a.repeats == 0 || a.decode_tokens < 2 || a.prefill_tokens == 0 {
        anyhow::bail!("--threads must be 1..=1024, --repeats and --prefill-tokens >= 1, --decode-tokens >= 2");
    }
    if a.batch.iter().any(|&b| b == 0 || b > 1024) || a.batch_prompt == 0 || a.batch_gen == 0 {
        anyhow::bail!("--batch values must be 1..=1024, --batch-prompt and --batch-gen >= 1");
    }
    let cfg = ThroughputConfig {
        model: a.model.clone(),
        llama_gguf: a.llamacpp_bin.as_ref().and(llama_gguf),
        llamacpp_bin: a.llamacpp_bin.clone(),
        backend: a.backend.clone(),
        threads,
        decode_tokens: a.decode_tokens,
        prefill_tokens: a.prefill_tokens,
        batches: a.batch.clone(),
        batch_prompt: a.batch_prompt,
        batch_gen: a.batch_gen,
        repeats: a.repeats,
    };
    let run = throughput::run(&cfg, &|s: &str| eprintln!("  {s}"))?;
    let report = ThroughputReport::new(&cfg, run);
    print!("{}", report.markdown());
    if let Some(out) = &a.out {
        report.write(out)?;
        eprintln!("wrote {} and {}", out.display(), out.with_extension("json").display());
    }
    Ok(())
}

/// Flags of `qtool bench kernels`.
#[derive(clap::Args, Debug)]
pub struct KernelArgs {
    /// Backend (cpu, cpu-v1, ..., wgsl, wgsl-gemv, wgsl-tiled with the `wgpu` feature; cuda with
    /// the `cuda` feature: device-side times, weights resident, the copy bandwidth measured beside).
    #[arg(long, default_value = "cpu")]
    backend: String,
    /// Shape set (n x k): small (SmolLM2-135M), qwen-1.5b, llama-7b, standard (the six of the
    /// kernels issue: 4096x4096 ... 28672x8192), or a list like 4096x4096,8960x1536.
    #[arg(long, default_value = "small")]
    shapes: String,
    /// Batch sizes, comma-separated.
    #[arg(long, default_value = "1,16", value_delimiter = ',')]
    batch: Vec<usize>,
    /// Timed calls per case (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5)]
    iters: usize,
    /// Markdown report to write (a .json beside it holds the same numbers).
    #[arg(long)]
    out: Option<PathBuf>,
    /// PyTorch's times on the same GPU (the JSON of scripts/torch_kernels_baseline.py), shown
    /// beside ours with the GPU bars as ratios.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// CPU backends: also run llama.cpp's mat-vec (the program scripts/ggml/build.sh builds)
    /// on the same shapes and threads, and set our m = 1 kernels against it.
    #[arg(long)]
    llamacpp: Option<PathBuf>,
    /// Measure nothing: read a report's JSON and write its markdown again (to --out, else
    /// stdout) with this version's rendering.
    #[arg(long)]
    render: Option<PathBuf>,
}

fn run_kernels(a: KernelArgs) -> anyhow::Result<()> {
    if let Some(json) = &a.render {
        let report = crate::bench::kernels_report::KernelBenchReport::read(json)?;
        match &a.out {
            Some(out) => crate::atomic::write(out, report.markdown().as_bytes())?,
            None => print!("{}", report.markdown()),
        }
        return Ok(());
    }
    use crate::bench::kernels::{self, KernelBenchConfig};
    use crate::bench::kernels_report::{Baseline, KernelBenchReport};
    let shapes = kernels::shape_preset(&a.shapes).with_context(|| {
        format!(
            "--shapes {}: expected small, qwen-1.5b, llama-7b, standard or a list like 4096x4096,8960x1536",
            a.shapes
        )
    })?;
    if a.batch.is_empty() || a.batch.contains(&0) {
        anyhow::bail!("--batch: every batch size must be >= 1");
    }
    let baseline = a.baseline.as_deref().map(Baseline::read).transpose()?;
    let cfg = KernelBenchConfig { backend: a.backend.clone(), shapes, ms: a.batch.clone(), iters: a.iters };
    let progress = |s: &str| eprintln!("  {s}");
    let mut report = KernelBenchReport {
        command: crate::cli::command_line(),
        machine: crate::bench::machine_description(),
        device: kernels::device_of(&a.backend),
        backend: a.backend.clone(),
        ceilings: None,
        read_gbps: None,
        peak_gflops: None,
        baseline,
        llamacpp: None,
        rows: Vec::new(),
    };
    if a.backend.starts_with("cuda") {
        // One shape at a time, the report rewritten after each: a run cut short keeps its rows.
        cuda_shapes(&cfg, &mut report, a.out.as_deref(), &progress)?;
    } else {
        if a.backend.starts_with("cpu") {
            let threads = rayon::current_num_threads();
            report.read_gbps = Some(::kernels::cpu::bandwidth::measure_read_bandwidth(1 << 30, threads)?);
            let isa = ::kernels::Isa::detect();
            report.peak_gflops = Some(::kernels::cpu::flops::measure_peak_gflops(isa, threads)?);
        }
        if let Some(bin) = &a.llamacpp {
            if !a.backend.starts_with("cpu") {
                anyhow::bail!("--llamacpp compares CPU mat-vecs: use it with a cpu backend, not {}", a.backend);
            }
            progress("llama.cpp (ggml) mat-vec");
            report.llamacpp = Some(crate::bench::llamacpp::run(bin, rayon::current_num_threads(), 20, &cfg.shapes)?);
        }
        report.rows = crate::bench::kernels::run(&cfg, &progress)?;
    }
    print!("{}", report.markdown());
    if let Some(out) = &a.out {
        report.write(out)?;
        eprintln!("wrote {} and {}", out.display(), out.with_extension("json").display());
    }
    Ok(())
}

#[cfg(feature = "cuda")]
fn cuda_shapes(
    cfg: &crate::bench::kernels::KernelBenchConfig,
    report: &mut crate::bench::kernels_report::KernelBenchReport,
    out: Option<&std::path::Path>,
    progress: &dyn Fn(&str),
) -> anyhow::Result<()> {
    let bench = crate::bench::kernels_cuda::CudaBench::new(progress)?;
    report.ceilings = Some(bench.ceilings.clone());
    for &(n, k) in &cfg.shapes {
        report.rows.extend(bench.shape(cfg, n, k, progress)?);
        if let Some(out) = out {
            report.write(out)?;
        }
    }
    Ok(())
}

#[cfg(not(feature = "cuda"))]
fn cuda_shapes(
    cfg: &crate::bench::kernels::KernelBenchConfig,
    _: &mut crate::bench::kernels_report::KernelBenchReport,
    _: Option<&std::path::Path>,
    _: &dyn Fn(&str),
) -> anyhow::Result<()> {
    anyhow::bail!(
        "--backend {}: this qtool was built without the `cuda` feature (cargo build --release --features cuda)",
        cfg.backend
    )
}

/// Flags of `qtool bench model`.
#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    /// Checkpoint: GGUF file or HF folder.
    #[arg(long)]
    model: PathBuf,
    /// Weight dtypes, comma-separated (f32, bf16, f16; `native` keeps the checkpoint as stored,
    /// quantized Linears packed).
    #[arg(long, default_value = "f32,bf16", value_delimiter = ',')]
    dtype: Vec<String>,
    /// Batch sizes (sequences in flight), comma-separated.
    #[arg(long, default_value = "1,8", value_delimiter = ',')]
    batch: Vec<usize>,
    /// Prompt tokens per sequence.
    #[arg(long, default_value_t = 128)]
    prompt_tokens: usize,
    /// Generated tokens per sequence.
    #[arg(long, default_value_t = 32)]
    gen_tokens: usize,
    /// Runs per configuration (the fastest is kept).
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    /// Backend: auto (the fast CPU path: int8 activations for GGML-block and int2/3/4/8 packed weights, as
    /// llama.cpp does; today cpu-q8), cpu (exact f32, the reference twin), cpu-q8, ref, cpu-v1,
    /// cpu-v2, cpu-v3, cpu-portable; wgsl* (--features wgpu), cuda* (--features cuda).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Markdown report to write (a .json beside it holds the same numbers).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `qtool bench`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let a = match args.what {
        What::Model(a) => a,
        What::Kernels(a) => return run_kernels(a),
        What::Throughput(a) => return run_throughput(a),
    };
    let dtypes = a
        .dtype
        .iter()
        .map(|d| match d.as_str() {
            "native" => Ok(None),
            _ => DType::parse(d).map(Some).with_context(|| format!("--dtype {d}: expected native, f32, bf16 or f16")),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if a.batch.contains(&0) || a.gen_tokens < 2 || a.prompt_tokens == 0 {
        anyhow::bail!("--batch values, --prompt-tokens must be >= 1 and --gen-tokens >= 2");
    }
    let cfg = ModelBenchConfig {
        model: a.model.clone(),
        batches: a.batch.clone(),
        prompt_tokens: a.prompt_tokens,
        gen_tokens: a.gen_tokens,
        repeats: a.repeats,
        backend: a.backend.clone(),
    };
    let threads = rayon::current_num_threads();
    eprintln!("measuring read bandwidth ({threads} threads)...");
    let before = kernels::cpu::bandwidth::measure_read_bandwidth(1 << 30, threads)?;
    let mut rows = Vec::new();
    for d in &dtypes {
        rows.extend(bench_checkpoint(&cfg, *d, &|s| eprintln!("  {s}"))?);
    }
    let after = kernels::cpu::bandwidth::measure_read_bandwidth(1 << 30, threads)?;
    let report = ModelBenchReport {
        model: a.model.display().to_string(),
        command: crate::cli::command_line(),
        machine: crate::bench::machine_description(),
        backend: a.backend,
        read_gbps_before: before,
        read_gbps_after: after,
        rows,
        unix_time: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    };
    print!("{}", report.markdown());
    if let Some(out) = &a.out {
        report.write(out)?;
        eprintln!("wrote {} and {}", out.display(), out.with_extension("json").display());
    }
    Ok(())
}

#!/usr/bin/env python3
"""PyTorch baselines for qtool's kernel benchmark (`qtool bench kernels`).

What it measures, on one device, in one run (so every number shares the clocks, driver and
card of the run it is compared with):

* Header: torch version, CUDA version, device name, SM count, L2 size, memory.
* Ceilings:
  - device-to-device copy bandwidth, `dst.copy_(src)` on a 2 GiB tensor (quick: 64 MiB),
    median of 20 copies after warm-up. `copy_gbps_rw` = (bytes read + bytes written) / t,
    the usual "copy bandwidth"; `copy_read_gbps` = bytes read / t = copy_gbps_rw / 2, the
    rate at which a copy streams its source, which is what a weight-bound matmul competes with.
  - dense GEMM peak: 8192x8192x8192 bf16 and fp16 `torch.mm` on random data, median TFLOP/s.
* Per Linear shape (n, k) and batch m, three ops, each as median microseconds per call,
  weight GB/s (weight bytes / t), TFLOP/s (2 m n k / t) and `frac_copy_bw`
  (weight GB/s / copy_read_gbps):
  - `fp16_linear`: `F.linear(x[m,k], W[n,k])` in fp16 (cuBLAS), weight bytes n*k*2.
  - `int_mm`: `torch._int_mm(x_int8[m,k], W_int8[n,k].t())` -> int32 (cuBLASLt, W8A8),
    weight bytes n*k. CUDA needs m > 16 and k, n multiples of 8: the cases it refuses are
    rows whose `error` holds torch's own message.
  - `int4pack_mm`: `torch._weight_int4pack_mm` (tinygemm, W4A16, bf16 x, group 128),
    weight bytes n*k/2 + the bf16 scales_and_zeros [k/128, n, 2]. The packing call changed
    across torch versions; the variant that ran is in the row's `note`.

How it times: weights are rotated so a call is not served from L2 (enough copies of each
weight to exceed ~4x L2, total capped at a few GiB; one or two copies when one copy alone
is far bigger than L2), cycled across calls. A loop of R calls (R chosen so a loop takes
~10 ms, 3..50) is timed with CUDA events and divided by R; `median_us` is the median of 5
such loops after warm-up. That is eager PyTorch: for tiny kernels (m=1, small shapes) the
CPU's launch overhead can show. Where CUDA-graph capture works the same R calls are also
captured into one graph and replayed (`graph_us`), which removes launch overhead and is the
fairer kernel-vs-kernel number. Every measurement is in try/except: a failure becomes the
row's `error` string, never a crash. A time budget (--budget-s, default 75 s) turns what is
left into `skipped: time budget` rows, so the script ends in well under 90 s on an H100/H200.

Run it from scripts/gpu-check.sh beside qtool's kernel benchmark, on the GPU machine
(python3 with torch, no network, no Rust needed):

    python3 scripts/torch_kernels_baseline.py --out "$OUT"

Smoke test on a CPU-only machine (tiny shapes; skips what CPU torch cannot run):

    python3 scripts/torch_kernels_baseline.py --device cpu --quick --out /tmp/tb

Writes OUT/torch-baseline.json and OUT/torch-baseline.md (also rewritten after every shape,
so a run killed by a timeout still leaves its finished rows), and prints the markdown.
Needs nothing beyond torch and the standard library.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback

T_START = time.time()  # before `import torch`, which alone can take seconds: the budget counts it

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

# (n, k) Linear shapes: Llama-7B (4096/11008), Qwen2.5-1.5B (1536/8960), Llama-70B (28672x8192).
FULL_SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008), (8960, 1536), (1536, 8960), (28672, 8192)]
FULL_BATCHES = [1, 4, 16, 64, 256, 512, 1024]
# Quick: tiny shapes that still satisfy every op's constraints (k multiple of 128 for int4 g128
# with innerKTiles=8, n multiple of 8).
QUICK_SHAPES = [(256, 512), (512, 256)]
QUICK_BATCHES = [1, 4]

OPS = ["fp16_linear", "int_mm", "int4pack_mm"]
GROUP_SIZE = 128  # int4 quantization group along k
INNER_K_TILES = 8  # tinygemm packing parameter (k must be a multiple of INNER_K_TILES * 16)

LOOPS = 5  # timed loops per case; the median is reported
WARMUP = 3  # untimed calls before timing
MIN_R, MAX_R = 3, 50  # calls per timed loop
TARGET_LOOP_S = 0.010  # aim for ~10 ms per timed loop
MAX_COPIES = 64  # weight copies per op, at most
NOMINAL_CPU_CACHE = 32 << 20  # "L2" used for weight rotation on CPU
FALLBACK_GPU_L2 = 64 << 20  # when torch does not report L2_cache_size


def log(msg: str) -> None:
    """Progress to stderr, so stdout ends with just the markdown table."""
    print(msg, file=sys.stderr, flush=True)


def short_err(e: BaseException, limit: int = 300) -> str:
    """One-line error text: type and the first line of the message, truncated."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    s = f"{type(e).__name__}: {msg}"
    return s if len(s) <= limit else s[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


class Timer:
    """Times a loop of `call(i)` for i in range(R): CUDA events on a GPU, perf_counter on CPU."""

    def __init__(self, device: torch.device):
        self.device = device
        self.cuda = device.type == "cuda"

    def sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def loop_s(self, call, r: int, offset: int = 0) -> float:
        """Seconds for r back-to-back calls (call(offset), ..., call(offset + r - 1))."""
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for i in range(r):
                call(offset + i)
            end.record()
            end.synchronize()
            return start.elapsed_time(end) * 1e-3
        t0 = time.perf_counter()
        for i in range(r):
            call(offset + i)
        return time.perf_counter() - t0

    def pick_r(self, call) -> int:
        """Warms up (WARMUP calls, timed together) and picks R so a loop takes ~TARGET_LOOP_S."""
        self.sync()
        per_call = self.loop_s(call, WARMUP) / WARMUP
        if per_call <= 0:
            return MAX_R
        return int(min(MAX_R, max(MIN_R, round(TARGET_LOOP_S / per_call))))

    def median_call_s(self, call, r: int, loops: int = LOOPS) -> float:
        """Median over `loops` timed loops of seconds per call; consecutive loops continue the
        weight rotation instead of restarting it."""
        times = [self.loop_s(call, r, offset=j * r) / r for j in range(loops)]
        return statistics.median(times)

    def graph_call_s(self, call, r: int, loops: int = LOOPS) -> float:
        """Captures r calls into one CUDA graph, replays it `loops` times, median seconds per call.
        Raises on CPU or when capture fails (the caller records the error)."""
        if not self.cuda:
            raise RuntimeError("CUDA graphs need a CUDA device")
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):  # warm-up on a side stream, as capture requires
            for i in range(2):
                call(i)
        torch.cuda.current_stream(self.device).wait_stream(side)
        self.sync()
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                for i in range(r):
                    call(i)
            graph.replay()
            self.sync()
            times = []
            for _ in range(loops):
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                graph.replay()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end) * 1e-3 / r)
            return statistics.median(times)
        finally:
            del graph


# --------------------------------------------------------------------------------------------
# Header and ceilings
# --------------------------------------------------------------------------------------------


def device_info(device: torch.device) -> dict:
    """Torch/CUDA versions and the device's name, SM count, L2 size and memory."""
    info = {
        "torch": torch.__version__,
        "cuda_version": torch.version.cuda,
        "python": platform.python_version(),
        "device_type": device.type,
    }
    try:
        if device.type == "cuda":
            p = torch.cuda.get_device_properties(device)
            info.update(
                name=p.name,
                sm_count=p.multi_processor_count,
                l2_bytes=getattr(p, "L2_cache_size", None),
                total_memory_bytes=p.total_memory,
                compute_capability=f"{p.major}.{p.minor}",
            )
        else:
            info.update(name=cpu_name(), threads=torch.get_num_threads(), l2_bytes=None)
    except Exception as e:  # noqa: BLE001 - record, never crash
        info["error"] = short_err(e)
    return info


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else platform's guess."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure_copy(device: torch.device, timer: Timer, nbytes: int) -> dict:
    """Device-to-device copy bandwidth: dst.copy_(src), median of 20 single copies."""
    out = {"copy_bytes": nbytes}
    try:
        src = torch.randint(0, 256, (nbytes,), dtype=torch.uint8, device=device)
        dst = torch.empty_like(src)
        for _ in range(3):
            dst.copy_(src)
        timer.sync()
        t = timer.median_call_s(lambda i: dst.copy_(src), r=1, loops=20)
        out.update(
            copy_median_us=t * 1e6,
            copy_gbps_rw=2 * nbytes / t / 1e9,
            copy_read_gbps=nbytes / t / 1e9,
            copy_error=None,
        )
        del src, dst
    except Exception as e:  # noqa: BLE001
        out.update(copy_gbps_rw=None, copy_read_gbps=None, copy_error=short_err(e))
    free_memory(device)
    return out


def measure_gemm(device: torch.device, timer: Timer, size: int, dtype: torch.dtype) -> dict:
    """Dense size^3 GEMM on random data: median TFLOP/s."""
    name = str(dtype).replace("torch.", "")
    try:
        a = torch.randn(size, size, dtype=dtype, device=device)
        b = torch.randn(size, size, dtype=dtype, device=device)
        call = lambda i: torch.mm(a, b)  # noqa: E731
        r = timer.pick_r(call)
        t = timer.median_call_s(call, r, loops=10)
        del a, b
        free_memory(device)
        return {f"gemm_{name}_tflops": 2 * size**3 / t / 1e12, f"gemm_{name}_median_us": t * 1e6,
                f"gemm_{name}_error": None}
    except Exception as e:  # noqa: BLE001
        free_memory(device)
        return {f"gemm_{name}_tflops": None, f"gemm_{name}_error": short_err(e)}


def measure_ceilings(device: torch.device, timer: Timer, quick: bool) -> dict:
    """Copy bandwidth and dense GEMM peak, with the definitions spelled out."""
    copy_bytes = (64 << 20) if quick else (2 << 30)
    gemm = 256 if quick else 8192
    ceilings = {
        "definitions": {
            "copy_gbps_rw": "(bytes read + bytes written) / t for dst.copy_(src): 2 * copy_bytes / t",
            "copy_read_gbps": "bytes read / t = copy_gbps_rw / 2 (the rate a copy streams its source)",
            "frac_copy_bw": "row weight_gbps / copy_read_gbps",
            "gemm_tflops": f"2 * {gemm}^3 / t for torch.mm on random {gemm}x{gemm} matrices",
        },
        "gemm_size": gemm,
    }
    ceilings.update(measure_copy(device, timer, copy_bytes))
    for dtype in (torch.bfloat16, torch.float16):
        ceilings.update(measure_gemm(device, timer, gemm, dtype))
    return ceilings


# --------------------------------------------------------------------------------------------
# Ops: each builder returns the weight (one copy), its byte count, a call and a note
# --------------------------------------------------------------------------------------------


class OpSetup:
    """One op at one (n, k): a maker of weight copies, x per m, and call(x, w)."""

    def __init__(self, make_weight, weight_bytes, make_x, call, note=""):
        self.make_weight = make_weight  # () -> weight object (a tensor or a tuple of tensors)
        self.weight_bytes = weight_bytes  # bytes one call reads for its weight
        self.make_x = make_x  # (m) -> activation tensor
        self.call = call  # (x, w) -> output
        self.note = note  # what variant ran


def setup_fp16_linear(device, n, k) -> OpSetup:
    """F.linear(x[m,k], W[n,k]) in fp16: x @ W.T, W contiguous like nn.Linear."""
    return OpSetup(
        make_weight=lambda: torch.randn(n, k, dtype=torch.float16, device=device),
        weight_bytes=n * k * 2,
        make_x=lambda m: torch.randn(m, k, dtype=torch.float16, device=device),
        call=lambda x, w: F.linear(x, w),
        note="F.linear fp16",
    )


def setup_int_mm(device, n, k) -> OpSetup:
    """torch._int_mm(x_int8[m,k], W_int8[n,k].t()) -> int32; the transposed view is the
    column-major [k,n] operand cuBLASLt wants (a contiguous [k,n] copy is far slower)."""
    return OpSetup(
        make_weight=lambda: torch.randint(-128, 128, (n, k), dtype=torch.int8, device=device),
        weight_bytes=n * k,
        make_x=lambda m: torch.randint(-128, 128, (m, k), dtype=torch.int8, device=device),
        call=lambda x, w: torch._int_mm(x, w.t()),
        note="torch._int_mm(x, W[n,k].t())",
    )


def int4_variants(device, n, k):
    """The ways torch has spelled int4 packing: (description, make packed weight, mm op).
    torch >= 2.5 on CUDA: uint8 [n, k/2] (two nibbles per byte, even k in the high nibble);
    older CUDA torch: int32 [n, k] of values 0..15; CPU: the *_for_cpu ops on int32 [n, k]."""

    def u8():
        return torch.randint(0, 256, (n, k // 2), dtype=torch.uint8, device=device)

    def i32():
        return torch.randint(0, 16, (n, k), dtype=torch.int32, device=device)

    variants = [
        ("_convert_weight_to_int4pack(uint8[n,k/2], innerKTiles=8) + _weight_int4pack_mm",
         lambda: torch._convert_weight_to_int4pack(u8(), INNER_K_TILES), "_weight_int4pack_mm"),
        ("_convert_weight_to_int4pack(int32[n,k], innerKTiles=8) + _weight_int4pack_mm",
         lambda: torch._convert_weight_to_int4pack(i32(), INNER_K_TILES), "_weight_int4pack_mm"),
        ("_convert_weight_to_int4pack_for_cpu(int32[n,k], 8) + _weight_int4pack_mm_for_cpu",
         lambda: torch._convert_weight_to_int4pack_for_cpu(i32(), INNER_K_TILES),
         "_weight_int4pack_mm_for_cpu"),
    ]
    if device.type == "cpu":  # try the CPU spelling first there
        variants = variants[2:] + variants[:2]
    return variants


def setup_int4pack_mm(device, n, k) -> OpSetup:
    """torch._weight_int4pack_mm (tinygemm W4A16, group 128, bf16 x): picks the first packing
    variant whose conversion and a probe matmul both run, and notes the ones that failed."""
    groups = k // GROUP_SIZE
    make_x = lambda m: torch.randn(m, k, dtype=torch.bfloat16, device=device)  # noqa: E731
    failures = []
    for desc, pack, mm_name in int4_variants(device, n, k):
        try:
            mm = getattr(torch, mm_name)
            packed = pack()
            sz = torch.randn(groups, n, 2, dtype=torch.bfloat16, device=device)
            mm(make_x(1), packed, GROUP_SIZE, sz)  # probe
        except Exception as e:  # noqa: BLE001
            failures.append(f"[{desc}] {short_err(e, 160)}")
            continue

        def make_weight(packed=packed, sz=sz):
            # Copies share the packed contents (random codes either way) but not memory.
            return (packed.clone(), torch.randn_like(sz))

        note = desc + (f"; failed first: {'; '.join(failures)}" if failures else "")
        return OpSetup(
            make_weight=make_weight,
            weight_bytes=n * k // 2 + groups * n * 2 * 2,
            make_x=make_x,
            call=lambda x, w, mm=mm: mm(x, w[0], GROUP_SIZE, w[1]),
            note=note,
        )
    raise RuntimeError("no int4 packing variant ran: " + "; ".join(failures))


SETUPS = {"fp16_linear": setup_fp16_linear, "int_mm": setup_int_mm, "int4pack_mm": setup_int4pack_mm}


# --------------------------------------------------------------------------------------------
# Measuring one op at one shape
# --------------------------------------------------------------------------------------------


def n_copies(weight_bytes: int, cache_bytes: int, cap_bytes: int) -> int:
    """Copies so their total exceeds ~4x the cache (at least 2, so consecutive calls never read
    the same buffer), capped at cap_bytes in all (at least 1) and MAX_COPIES."""
    want = max(2, math.ceil(4 * cache_bytes / max(1, weight_bytes)))
    return max(1, min(want, MAX_COPIES, cap_bytes // max(1, weight_bytes)))


def empty_row(op: str, m: int, n: int, k: int) -> dict:
    return {"op": op, "m": m, "n": n, "k": k, "median_us": None, "weight_gbps": None,
            "tflops": None, "frac_copy_bw": None, "graph_us": None, "graph_weight_gbps": None,
            "graph_error": None, "r": None, "copies": None, "weight_bytes": None, "note": None,
            "error": None}


def measure_case(op, setup, weights, m, n, k, timer, copy_read_gbps, graphs) -> dict:
    """Times setup.call at batch m cycling through `weights`; fills one row."""
    row = empty_row(op, m, n, k)
    row.update(copies=len(weights), weight_bytes=setup.weight_bytes, note=setup.note)
    try:
        x = setup.make_x(m)
        call = lambda i: setup.call(x, weights[i % len(weights)])  # noqa: E731
        try:
            call(0)  # probe: shape constraints (e.g. _int_mm's m > 16) surface here
            timer.sync()
        except Exception as e:  # noqa: BLE001
            row["error"] = "unsupported: " + short_err(e)
            return row
        r = timer.pick_r(call)
        t = timer.median_call_s(call, r)
        row.update(r=r, median_us=t * 1e6, weight_gbps=setup.weight_bytes / t / 1e9,
                   tflops=2 * m * n * k / t / 1e12)
        if copy_read_gbps:
            row["frac_copy_bw"] = row["weight_gbps"] / copy_read_gbps
        if graphs:
            try:
                tg = timer.graph_call_s(call, r)
                row.update(graph_us=tg * 1e6, graph_weight_gbps=setup.weight_bytes / tg / 1e9)
            except Exception as e:  # noqa: BLE001
                row["graph_error"] = short_err(e)
    except Exception as e:  # noqa: BLE001
        row["error"] = short_err(e)
    return row


def measure_op_shape(op, device, n, k, batches, timer, ctx) -> list:
    """All batches of one op at one shape: builds the rotated weights once, then times each m."""
    if time.time() > ctx["deadline"]:
        return [dict(empty_row(op, m, n, k), error=ctx["budget_msg"]) for m in batches]
    weights = []
    try:
        setup = SETUPS[op](device, n, k)
        count = n_copies(setup.weight_bytes, ctx["cache_bytes"], ctx["cap_bytes"])
        weights = [setup.make_weight() for _ in range(count)]
    except Exception as e:  # noqa: BLE001
        del weights
        free_memory(device)
        return [dict(empty_row(op, m, n, k), error="setup: " + short_err(e)) for m in batches]
    rows = []
    for m in batches:
        if time.time() > ctx["deadline"]:
            rows.append(dict(empty_row(op, m, n, k), error=ctx["budget_msg"]))
            continue
        row = measure_case(op, setup, weights, m, n, k, timer, ctx["copy_read_gbps"], ctx["graphs"])
        log(f"  {op:12s} m={m:5d} {n}x{k}: " + (
            f"{row['median_us']:.1f} us, {row['weight_gbps']:.1f} GB/s"
            + (f", graph {row['graph_us']:.1f} us" if row["graph_us"] else "")
            if row["error"] is None else row["error"]))
        rows.append(row)
    del weights
    free_memory(device)
    return rows


def free_memory(device: torch.device) -> None:
    """Returns cached blocks between cases so big shapes have room."""
    if device.type == "cuda":
        try:
            torch.cuda.synchronize(device)
            torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001
            pass


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def fmt(v, spec=".1f") -> str:
    return "-" if v is None else format(v, spec)


def cell(text) -> str:
    """Text safe inside a markdown table cell."""
    return (text or "").replace("|", "/").replace("\n", " ")


def markdown(report: dict) -> str:
    """Header, ceilings and one table per op."""
    d, c = report["device"], report["ceilings"]
    lines = ["# PyTorch kernel baselines", ""]
    lines.append(f"- torch {d.get('torch')}, CUDA {d.get('cuda_version')}, python {d.get('python')}")
    lines.append(f"- device: {d.get('name')} ({d.get('device_type')})"
                 + (f", {d['sm_count']} SMs" if d.get("sm_count") else "")
                 + (f", L2 {d['l2_bytes'] / 2**20:.0f} MiB" if d.get("l2_bytes") else "")
                 + (f", {d['total_memory_bytes'] / 2**30:.0f} GiB" if d.get("total_memory_bytes") else "")
                 + (f", sm_{d['compute_capability'].replace('.', '')}" if d.get("compute_capability") else ""))
    lines.append(f"- command: `{report['command']}`, {report['elapsed_s']:.1f} s"
                 + (f"; error: {report['error']}" if report.get("error") else ""))
    if c:
        lines += ["", "## Ceilings", "", "| ceiling | value | notes |", "|---|---:|---|"]
        cb = c.get("copy_bytes", 0) / 2**20
        err = cell(c.get("copy_error"))
        lines.append(f"| copy (read+write) | {fmt(c.get('copy_gbps_rw'))} GB/s | dst.copy_(src), {cb:.0f} MiB, "
                     f"(read+written)/t{'; ' + err if err else ''} |")
        lines.append(f"| copy read rate | {fmt(c.get('copy_read_gbps'))} GB/s | copy_gbps_rw / 2: the "
                     "denominator of frac_copy_bw |")
        g = c.get("gemm_size")
        for name in ("bfloat16", "float16"):
            err = cell(c.get(f"gemm_{name}_error"))
            lines.append(f"| dense {name} GEMM | {fmt(c.get(f'gemm_{name}_tflops'), '.2f')} TFLOP/s | "
                         f"{g}x{g}x{g} torch.mm, random data{'; ' + err if err else ''} |")
    titles = {
        "fp16_linear": "fp16 `F.linear(x[m,k], W[n,k])` (cuBLAS on a GPU; weight n*k*2 bytes)",
        "int_mm": "int8 `torch._int_mm(x[m,k], W[n,k].t())` -> int32 (W8A8; weight n*k bytes; TFLOP/s = int8 TOP/s)",
        "int4pack_mm": "int4 `torch._weight_int4pack_mm` (W4A16 g128, bf16 x; weight n*k/2 + scales)",
    }
    for op in OPS:
        rows = [r for r in report["rows"] if r["op"] == op]
        if not rows:
            continue
        lines += ["", f"## {titles[op]}", ""]
        notes = sorted({r["note"] for r in rows if r.get("note")})
        if notes:
            lines += [f"Variant: {n}" for n in notes] + [""]
        lines.append("| m | n x k | median us | weight GB/s | TFLOP/s | frac copy | graph us | "
                     "graph GB/s | copies | error |")
        lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            err = cell(r["error"] or (f"graph: {r['graph_error']}" if r.get("graph_error") else ""))
            lines.append(
                f"| {r['m']} | {r['n']}x{r['k']} | {fmt(r['median_us'])} | {fmt(r['weight_gbps'])} | "
                f"{fmt(r['tflops'], '.3f')} | {fmt(r['frac_copy_bw'], '.2f')} | {fmt(r['graph_us'])} | "
                f"{fmt(r['graph_weight_gbps'])} | {r['copies'] or '-'} | {err} |")
    return "\n".join(lines) + "\n"


def write_outputs(out_dir: str, report: dict) -> str:
    """Writes torch-baseline.json and torch-baseline.md (via temp files), returns the markdown."""
    report["elapsed_s"] = time.time() - report["_t0"]
    md = markdown(report)
    body = {k: v for k, v in report.items() if not k.startswith("_")}
    for name, text in (("torch-baseline.json", json.dumps(body, indent=1)), ("torch-baseline.md", md)):
        path = os.path.join(out_dir, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    return md


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="PyTorch matmul baselines beside qtool's kernel benchmark.")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--quick", action="store_true", help="tiny shapes and batches 1,4 (smoke test)")
    p.add_argument("--budget-s", type=float, default=75.0,
                   help="seconds from start after which no new case starts (default 75)")
    p.add_argument("--no-graphs", action="store_true", help="skip the CUDA-graph timings")
    return p.parse_args(argv)


def main(argv=None) -> int:
    t0 = T_START
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    device = torch.device(args.device)
    report = {"_t0": t0, "command": " ".join(["torch_kernels_baseline.py"] + sys.argv[1:]),
              "torch": torch.__version__, "device": {}, "ceilings": {}, "rows": [], "error": None,
              "config": {}}
    if device.type == "cuda" and not torch.cuda.is_available():
        report["device"] = device_info(torch.device("cpu"))
        report["error"] = "--device cuda but torch.cuda.is_available() is False"
        print(write_outputs(args.out, report))
        return 1

    timer = Timer(device)
    shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    batches = QUICK_BATCHES if args.quick else FULL_BATCHES
    report["device"] = device_info(device)
    cache = report["device"].get("l2_bytes") or (FALLBACK_GPU_L2 if device.type == "cuda" else NOMINAL_CPU_CACHE)
    ctx = {
        "deadline": t0 + args.budget_s,
        "budget_msg": f"skipped: time budget ({args.budget_s:.0f} s) spent",
        "cache_bytes": cache,
        "cap_bytes": (64 << 20) if args.quick else (3 << 30),
        "graphs": device.type == "cuda" and not args.no_graphs,
    }
    report["config"] = {"shapes": shapes, "batches": batches, "ops": OPS, "group_size": GROUP_SIZE,
                        "loops": LOOPS, "r_range": [MIN_R, MAX_R], "target_loop_s": TARGET_LOOP_S,
                        "rotation_cache_bytes": cache, "rotation_cap_bytes": ctx["cap_bytes"],
                        "graphs": ctx["graphs"], "budget_s": args.budget_s, "quick": args.quick,
                        "timing": "median_us: median over LOOPS loops of (loop time / R) for R eager "
                                  "calls cycling weight copies, CUDA events (perf_counter on CPU); "
                                  "graph_us: the same R calls captured in one CUDA graph, replayed"}
    log(f"torch {torch.__version__} on {report['device'].get('name')}")
    try:
        report["ceilings"] = measure_ceilings(device, timer, args.quick)
        c = report["ceilings"]
        log(f"ceilings: copy {fmt(c.get('copy_gbps_rw'))} GB/s (rw), "
            f"bf16 {fmt(c.get('gemm_bfloat16_tflops'))} TFLOP/s, fp16 {fmt(c.get('gemm_float16_tflops'))} TFLOP/s")
        ctx["copy_read_gbps"] = c.get("copy_read_gbps")
        write_outputs(args.out, report)
        for n, k in shapes:
            log(f"shape {n}x{k}")
            for op in OPS:
                report["rows"] += measure_op_shape(op, device, n, k, batches, timer, ctx)
            write_outputs(args.out, report)
    except Exception as e:  # noqa: BLE001 - anything unforeseen still leaves the outputs
        report["error"] = short_err(e)
        log(traceback.format_exc())
    md = write_outputs(args.out, report)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

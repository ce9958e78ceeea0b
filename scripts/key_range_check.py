#!/usr/bin/env python3
"""Layer-0 key quantization error of a Qwen2-style GGUF, computed independently of qtool (numpy
and the `gguf` package's dequantizers), to explain KV-cache rows of the methods report.

Pre-RoPE keys k = W_k . rmsnorm(embedding) + b_k of layer 0 for random token ids; each channel
quantized asymmetrically over the tokens' own range, once with the range widened to include
zero (lo = min(min, 0), hi = max(max, 0): qtool's KVQuant-style keys until 2026-11-28), once over
[min, max], and once by qtool's current rule: an integer zero point over the range shifted by a
per-channel offset, 0 when the range holds 0 and its midpoint otherwise (KVQuant's zeropoint).
Prints the channels with the largest bias, and the RMS key error at 4/3/2 bits each way.

    python scripts/key_range_check.py assets/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
(needs `pip install gguf numpy`)
"""
import sys

import numpy as np
from gguf import GGUFReader, quants


def main(path, tokens=2048, seed=0):
    reader = GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}

    def deq(name):
        t = tensors[name]
        return np.asarray(quants.dequantize(t.data, t.tensor_type), dtype=np.float32)

    emb, wk = deq("token_embd.weight"), deq("blk.0.attn_k.weight")
    bk, norm = deq("blk.0.attn_k.bias").ravel(), deq("blk.0.attn_norm.weight").ravel()
    ids = np.random.default_rng(seed).integers(0, emb.shape[0], tokens)
    x = emb[ids]
    x = x / np.sqrt((x**2).mean(1, keepdims=True) + 1e-6) * norm
    k = x @ wk.T + bk  # [tokens, kv_dim], before RoPE
    lo, hi = k.min(0), k.max(0)
    big = np.argsort(-np.abs(bk))[:4]
    print(f"{path}: layer 0, {tokens} random tokens, keys of {k.shape[1]} channels")
    for c in big:
        print(f"  channel {c}: bias {bk[c]:.1f}, keys in [{lo[c]:.1f}, {hi[c]:.1f}]")
    print(f"  median channel range (max - min): {np.median(hi - lo):.2f}")
    print("| bits | range | key RMS error | token-varying part |")
    print("|---:|---|---:|---:|")
    for bits in (4, 3, 2):
        for with_zero in (True, False):
            l, h = (np.minimum(lo, 0), np.maximum(hi, 0)) if with_zero else (lo, hi)
            s = (h - l) / (2**bits - 1)
            s[s == 0] = 1
            e = np.clip(np.round((k - l) / s), 0, 2**bits - 1) * s + l - k
            label = "[min(min,0), max(max,0)]" if with_zero else "[min, max]"
            print(f"| {bits} | {label} | {np.sqrt((e**2).mean()):.3f} | {np.sqrt(((e - e.mean(0))**2).mean()):.3f} |")
        off = np.where((lo <= 0) & (hi >= 0), 0.0, (lo + hi) / 2)
        l, h = np.minimum(lo - off, 0), np.maximum(hi - off, 0)
        s = (h - l) / (2**bits - 1)
        s[s == 0] = 1
        zp = np.round(-l / s)
        e = (np.clip(np.round((k - off) / s) + zp, 0, 2**bits - 1) - zp) * s + off - k
        print(f"| {bits} | offset 0 or midpoint | {np.sqrt((e**2).mean()):.3f} | {np.sqrt(((e - e.mean(0))**2).mean()):.3f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "assets/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")

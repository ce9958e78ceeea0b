#!/usr/bin/env bash
# The calibrated-methods report of one model, in one command:
#   bash scripts/methods_report.sh MODEL NAME [SAMPLES]
# 1. the model's own reasoning traces on held-out prompts (MMATH English, not an evaluation
#    task of the reports; resumable `qtool eval`), the study's GPTQ calibration domain;
# 2. `qtool sweep` over RTN / GPTQ / AWQ at w4a16 and w3a16 (g128 asym), SmoothQuant w8a8-kv8,
#    QuaRot w4a4 and w4a4-kv4, KVQuant-style and QuaRot-KV caches at kv4/kv3/kv2, and GPTQ
#    calibrated on generic text (fortunes) vs on the traces; writes reports/methods-NAME.md
#    and .json.
# Work (checkpoints, traces, saved rows) goes to out/methods-NAME; a rerun reuses finished rows.
# Checkpoints are deleted once measured, except the RTN / GPTQ / GPTQ(traces) weight-only ones
# that scripts/calib_domain.sh scores again.
set -euo pipefail
MODEL=${1:?usage: methods_report.sh MODEL NAME [SAMPLES]}
NAME=${2:?usage: methods_report.sh MODEL NAME [SAMPLES]}
SAMPLES=${3:-24}
QTOOL=${QTOOL:-target/release/qtool}
WORK=out/methods-$NAME
mkdir -p "$WORK"
"$QTOOL" eval --model "$MODEL" --tasks mmath-en --limit 48 --seeds 42 --max-new-tokens 384 --batch 16 \
  --out "$WORK/traces" >&2
ENTRIES=bf16
for w in w4a16-asym w3a16-asym; do
  ENTRIES+=",rtn:$w,gptq:$w,gptq/traces:$w,awq:$w"
done
ENTRIES+=",rtn:w8a8-kv8,smoothquant:w8a8-kv8,smoothquant+gptq:w8a8-kv8"
# W4A4 alone too: a KV cache that fails (Qwen2.5's layer-0 key bias) would hide the rest.
ENTRIES+=",rtn:w4a4,quarot:w4a4,rtn:w4a4-kv4,quarot:w4a4-kvr4,quarot+gptq:w4a4-kvr4"
for b in 4 3 2; do
  ENTRIES+=",rtn:kv$b,rtn/text:kv$b,quarot:kvr$b"
done
"$QTOOL" sweep --model "$MODEL" --schemes "$ENTRIES" \
  --calib text=fortunes --calib "traces=traces:$WORK/traces/results.jsonl" \
  --calib-samples "$SAMPLES" --calib-seqlen 512 \
  --ctx 512 --chunks 8 --gen-tokens 32 --work "$WORK" --out "reports/methods-$NAME.md" \
  --keep "rtn:w4a16-asym,gptq:w4a16-asym,gptq/traces:w4a16-asym,rtn:w3a16-asym,gptq:w3a16-asym,gptq/traces:w3a16-asym"

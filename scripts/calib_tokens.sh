#!/usr/bin/env bash
# Calibration size check: GPTQ calibrated on generic text (fortunes) with N samples of 512
# tokens, for several N, against RTN at the same scheme; each checkpoint scored by `qtool kld`
# on GSM8K test solutions (the methods sweep's text) and on English prose. It tests whether
# GPTQ falls behind RTN when it sees few calibration tokens per input dimension of the widest
# Linear (down_proj), the explanation scripts/calib_domain.sh left open.
#   bash scripts/calib_tokens.sh MODEL NAME SCHEME N...   (e.g. w3a16-asym 3 6 12 24)
# GPTQ runs as `qtool sweep` runs it (act-order, static groups, MSE clip search, seed 0).
# Work goes to out/calib-tokens-NAME (a rerun reuses finished checkpoints and scores);
# writes reports/calib-tokens-NAME.md.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: calib_tokens.sh MODEL NAME SCHEME N...}
NAME=${2:?usage: calib_tokens.sh MODEL NAME SCHEME N...}
SCHEME=${3:?usage: calib_tokens.sh MODEL NAME SCHEME N...}
shift 3
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || { echo "usage: calib_tokens.sh MODEL NAME SCHEME N..." >&2; exit 2; }
QTOOL=${QTOOL:-target/release/qtool}
W=out/calib-tokens-$NAME
mkdir -p "$W"
TEXTS=("gsm8k:--task gsm8k-solutions" "prose:--text /usr/share/common-licenses/GPL-3")

# One checkpoint: quantize once (timed), then score it on every text.
checkpoint() { # DIR ARGS...
  local dir=$1; shift
  if [ ! -s "$dir.seconds" ]; then
    local t0; t0=$(date +%s.%N)
    "$QTOOL" quantize --model "$MODEL" --scheme "$SCHEME" --force --out "$dir" "$@" >&2
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)" >"$dir.seconds"
  fi
  for t in "${TEXTS[@]}"; do
    local tn=${t%%:*} args=${t#*:}
    [ -s "${dir}_$tn.json" ] && continue
    # shellcheck disable=SC2086
    "$QTOOL" kld --base "$MODEL" --model "$dir" $args --ctx 512 --chunks 8 --json "${dir}_$tn.json" >/dev/null
  done
}

checkpoint "$W/rtn"
for n in "${COUNTS[@]}"; do
  checkpoint "$W/gptq_n$n" --method gptq --calib fortunes --calib-samples "$n" --calib-seqlen 512 \
    --act-order --static-groups --clip-search
done

python3 - "$W" "$NAME" "$MODEL" "$SCHEME" "${COUNTS[@]}" <<'PY'
import json, sys, os
w, name, model, scheme, *counts = sys.argv[1:]
cfg = json.load(open(f"{w}/rtn/config.json"))
widest = max(cfg["hidden_size"], cfg["intermediate_size"])
texts = [("gsm8k", "GSM8K test solutions"), ("prose", "English prose (GPL-3)")]
def score(d, t):
    s = json.load(open(f"{w}/{d}_{t}.json"))["summary"]
    return s["kld"]["mean"]["mean"], 100 * s["same_top"]["mean"]
rtn = {t: score("rtn", t) for t, _ in texts}
cmd = f"bash scripts/calib_tokens.sh {model} {name} {scheme} {' '.join(counts)}"
out = [f"# Calibration size check ({name}, {scheme})", "", f"Made by `{cmd}`.", "",
       f"GPTQ (act-order, static groups, MSE clip search, as `qtool sweep` runs it) calibrated on N samples of 512 "
       f"tokens of generic text (fortunes, seed 0), against RTN at the same scheme. *tokens/dim* = N x 512 / {widest}, "
       f"the input width of the widest Linear (down_proj). KL divergence against the base: 8 chunks of 512 tokens, "
       f"second half scored, top-256 + tail; ratio = KLD / RTN's KLD on the same text (below 1: better than RTN).", ""]
hdr = "| calibration | tokens | tokens/dim | quantize s |"
sep = "|---|---:|---:|---:|"
for _, label in texts:
    hdr += f" {label} KLD | ratio | top-1 |"
    sep += "---:|---:|---:|"
out += [hdr, sep]
row = f"| RTN (no data) | 0 | 0 | {open(f'{w}/rtn.seconds').read().strip()} |"
for t, _ in texts:
    row += f" {rtn[t][0]:.5f} | 1.000 | {rtn[t][1]:.2f}% |"
out.append(row)
for n in counts:
    d = f"gptq_n{n}"
    tok = int(n) * 512
    row = f"| GPTQ, {n} samples | {tok} | {tok / widest:.2f} | {open(f'{w}/{d}.seconds').read().strip()} |"
    for t, _ in texts:
        k, top = score(d, t)
        row += f" {k:.5f} | {k / rtn[t][0]:.3f} | {top:.2f}% |"
    out.append(row)
path = f"reports/calib-tokens-{name}.md"
open(path + ".tmp", "w").write("\n".join(out) + "\n")
os.replace(path + ".tmp", path)
print(path)
PY

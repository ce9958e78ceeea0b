#!/usr/bin/env bash
# Calibration domain check: the checkpoints a methods sweep left (RTN, GPTQ calibrated on
# generic text, GPTQ calibrated on the model's reasoning traces) scored by `qtool kld` on texts
# other than the sweep's GSM8K solutions, to tell a method that is worse than RTN everywhere
# from one that fits its calibration domain at the cost of others.
#   bash scripts/calib_domain.sh MODEL NAME SCHEME...   (e.g. w3a16-asym w4a16-asym)
# Reads out/methods-NAME/{rtn,gptq,gptq_traces}_SCHEME (from scripts/methods_report.sh);
# writes reports/calib-domain-NAME.md. Texts: GSM8K test solutions (the sweep's), English
# prose (/usr/share/common-licenses/GPL-3) and Python source (the interpreter's argparse.py);
# 8 chunks of 512 tokens each, as the sweep.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: calib_domain.sh MODEL NAME SCHEME...}
NAME=${2:?usage: calib_domain.sh MODEL NAME SCHEME...}
shift 2
SCHEMES=("$@")
[ ${#SCHEMES[@]} -gt 0 ] || { echo "usage: calib_domain.sh MODEL NAME SCHEME..." >&2; exit 2; }
QTOOL=${QTOOL:-target/release/qtool}
W=out/methods-$NAME
D=out/calib-domain-$NAME
mkdir -p "$D"
PY=$(python3 -c 'import argparse; print(argparse.__file__)')
TEXTS=("gsm8k:--task gsm8k-solutions" "prose:--text /usr/share/common-licenses/GPL-3" "python:--text $PY")
for s in "${SCHEMES[@]}"; do
  for m in rtn gptq gptq_traces; do
    [ -d "$W/${m}_$s" ] || { echo "missing $W/${m}_$s: run scripts/methods_report.sh first" >&2; exit 1; }
    for t in "${TEXTS[@]}"; do
      tn=${t%%:*}; args=${t#*:}
      out="$D/${m}_${s}_$tn.json"
      [ -s "$out" ] && continue
      # shellcheck disable=SC2086
      "$QTOOL" kld --base "$MODEL" --model "$W/${m}_$s" $args --ctx 512 --chunks 8 --json "$out" >/dev/null
    done
  done
done
python3 - "$D" "$NAME" "$MODEL" "$PY" "${SCHEMES[@]}" <<'PY'
import json, sys, os
d, name, model, py, *schemes = sys.argv[1:]
texts = [("gsm8k", "GSM8K test solutions (the sweep's text)"), ("prose", "English prose: GPL-3 licence text"),
         ("python", f"Python source: {py}")]
cmd = f"bash scripts/calib_domain.sh {model} {name} {' '.join(schemes)}"
out = [f"# Calibration domain check ({name})", "", f"Made by `{cmd}`.", "",
       "KL divergence against the base (8 chunks of 512 tokens, second half scored, top-256 + tail) of the checkpoints "
       "`scripts/methods_report.sh` left: RTN, GPTQ calibrated on generic text (fortunes) and GPTQ calibrated on the "
       "model's own reasoning traces (MMATH-en prompts), each scored on three texts. Ratio = KLD / RTN's KLD on the same "
       "text (below 1: better than RTN).", ""]
out.append("| scheme | text | RTN KLD | GPTQ (text) KLD | ratio | GPTQ (traces) KLD | ratio | top-1 RTN / text / traces |")
out.append("|---|---|---:|---:|---:|---:|---:|---|")
for s in schemes:
    for tn, label in texts:
        r = {m: json.load(open(f"{d}/{m}_{s}_{tn}.json"))["summary"] for m in ["rtn", "gptq", "gptq_traces"]}
        k = {m: r[m]["kld"]["mean"]["mean"] for m in r}
        t1 = " / ".join(f"{100 * r[m]['same_top']['mean']:.2f}%" for m in ["rtn", "gptq", "gptq_traces"])
        out.append(f"| {s} | {label} | {k['rtn']:.5f} | {k['gptq']:.5f} | {k['gptq'] / k['rtn']:.3f} | "
                   f"{k['gptq_traces']:.5f} | {k['gptq_traces'] / k['rtn']:.3f} | {t1} |")
path = f"reports/calib-domain-{name}.md"
open(path + ".tmp", "w").write("\n".join(out) + "\n")
os.replace(path + ".tmp", path)
print(path)
PY

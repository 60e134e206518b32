#!/usr/bin/env bash
# Benchmark: what each weight scheme costs on models/tiny-llada. Builds five packages of the bundled checkpoint
# (fp32, fp16, int8, int4 with blocks of 32, int4 with blocks of 128) in a temporary folder, then for each prints
# one Markdown table: package size, load time (engine open to ready), decode speed (`unmask bench`: the same canvas,
# steps and threads for all), and the quality report of `unmask-pack verify --against <fp32 package>` on the
# held-out sample models/tiny-llada/heldout (top-1 agreement, KL and masked-token loss at t = 0.25/0.5/0.75,
# identical greedy generations). See docs/benchmarks.md, "Quantization: what each scheme costs".
#
# Usage: model-packager/bench/quantization-table.sh            (THREADS=2 RUNS=5 by default; run from anywhere)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
threads="${THREADS:-2}"
runs="${RUNS:-5}"
cd "$root"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "== building the packager and the agent (offline Maven, tests skipped)" >&2
  ./mvnw -q -pl model-packager,edge-runtime/agent -am package -DskipTests >&2
fi
pack_jar="$(ls model-packager/target/model-packager-*.jar | grep -v -- '-sources\|-tests' | head -n1)"
agent_jar="$(ls edge-runtime/agent/target/unmask-agent-*.jar | grep -v -- '-sources\|-tests' | head -n1)"
pack() { java -Xmx1g -jar "$pack_jar" "$@"; }
unmask() { java -Xmx1g -Dunmask.home="$root" -jar "$agent_jar" "$@"; }

work="$(mktemp -d /tmp/unmask-quant-table.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== building the packages in $work" >&2
pack convert --from models/tiny-llada --out "$work/fp32" --no-progress >&2 2>/dev/null
pack convert --from models/tiny-llada --out "$work/fp16" --dtype fp16 --no-progress >&2 2>/dev/null
pack quantize "$work/fp32" --out "$work/int8" --quant int8 >&2 2>/dev/null
pack quantize "$work/fp32" --out "$work/int4-b32" --quant int4:block=32 >&2 2>/dev/null
pack quantize "$work/fp32" --out "$work/int4-b128" --quant int4:block=128 >&2 2>/dev/null

echo "# tiny-llada: what each scheme costs ($(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs; decode: unmask bench," \
     "64 tokens, blocks of 32, 64 steps, $threads threads, median of $runs runs after 2 warm-ups)"
for scheme in fp32 fp16 int8 int4-b32 int4-b128; do
  dir="$work/$scheme"
  bytes=$(( $(stat -c %s "$dir/model.onnx") + $(stat -c %s "$dir/model.onnx.data") ))
  precision="$(grep -A2 '"precision"' "$dir/manifest.json" | grep -o '"\(dtype\|quantization\)" : "[^"]*"' \
               | sed 's/.*: "\(.*\)"/\1/' | paste -sd/ -)"
  json="$(unmask bench --model "$dir" --gen-length 64 --block-length 32 --steps 64 --threads "$threads" \
          --warmup 2 --runs "$runs" --json 2>/dev/null | tail -n1)"
  load_ms="$(sed 's/.*"load_ms":\([0-9.]*\).*/\1/' <<<"$json")"
  tps="$(sed 's/.*"tokens_per_s":\([0-9.]*\).*/\1/' <<<"$json")"
  echo
  echo "### $scheme ($precision)"
  echo
  printf '| package size (model.onnx + .data) | load (engine open to ready) | decode |\n|---|---|---|\n'
  printf '| %s bytes (%.2f MB) | %.0f ms | %.1f tokens/s |\n' "$bytes" "$(bc -l <<<"$bytes/1000000")" "$load_ms" "$tps"
  echo
  pack verify "$dir" --against "$work/fp32" --heldout models/tiny-llada/heldout --min-top1-agreement 0 \
      --threads "$threads" 2>/dev/null | sed -n '/^Quality of/,$p'
done

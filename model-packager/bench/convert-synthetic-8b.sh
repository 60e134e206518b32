#!/usr/bin/env bash
# Benchmark: convert a checkpoint with LLaDA-8B's exact shapes (random bf16, written on the fly to a temporary
# folder under /tmp and deleted afterwards) with `unmask-pack convert --dtype fp16 --self-test=skip`, and report
# wall time and peak RSS from /usr/bin/time -v. When /tmp lacks the room for checkpoint + package, the script
# uses the largest number of layers that fits and says so. See docs/benchmarks.md.
#
# Usage: model-packager/bench/convert-synthetic-8b.sh [layers] [llada|dream]
#        (default 32 layers of LLaDA-8B; `28 dream` = Dream-v0-Instruct-7B's shapes, with q/k/v biases)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
family="${2:-llada}"
full=32; [[ "$family" == dream ]] && full=28
layers="${1:-$full}"
jar="$(ls "$root"/model-packager/target/model-packager-*.jar | grep -v -- '-sources\|-tests' | head -n1)"
cp="$jar:$root/model-packager/target/lib/*"

# bytes: checkpoint (bf16) and package (fp16) are the same size: embedding + head + per-layer weights, 2 bytes each
if [[ "$family" == dream ]]; then
  emb=$((152064 * 3584 * 2))
  per_layer=$(( (2 * 3584 * 3584 + 2 * 512 * 3584 + 3 * 3584 * 18944 + 3584 + 2 * 512 + 2 * 3584) * 2 ))
else
  emb=$((126464 * 4096 * 2))
  per_layer=$(( (4 * 4096 * 4096 + 3 * 4096 * 12288 + 2 * 4096) * 2 ))
fi
need() { echo $(( 2 * (2 * emb + $1 * per_layer) + (1 << 30) )); }
avail=$(( $(df --output=avail -k /tmp | tail -n1) * 1024 ))
while (( layers > 1 )) && (( $(need "$layers") > avail )); do layers=$((layers - 1)); done
if (( layers < ${1:-$full} )); then
  echo "NOTE: /tmp has $((avail >> 30)) GiB free; scaled down to $layers of ${1:-$full} layers (needs $(( $(need "$layers") >> 30 )) GiB)"
fi

work="$(mktemp -d /tmp/unmask-bench-8b.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "== writing a synthetic $family checkpoint of the 7-8B shape ($layers layers) to $work/ckpt"
nice java -Xmx256m -cp "$cp" dev.unmask.packager.bench.SyntheticCheckpoint "$work/ckpt" "$layers" "$root/models/tiny-llada/tokenizer.json" "$family"
du -sh "$work/ckpt"
sync
echo "== converting (fp16, self-test skipped)"
nice /usr/bin/time -v -o "$work/time.txt" \
  java ${JAVA_OPTS:--Xmx1g} -jar "$jar" convert --from "$work/ckpt" --out "$work/pkg" --dtype fp16 --self-test=skip \
  2>&1 | grep -v '^\[' || true
du -sh "$work/pkg"
ls -la "$work/pkg"
echo "== /usr/bin/time -v"
grep -E 'Elapsed \(wall clock\)|Maximum resident set size|User time|System time|Percent of CPU|File system (inputs|outputs)|Exit status' "$work/time.txt"

#!/usr/bin/env bash
# Issue 14's speed table: no cache against the prefix and dual caches, side by side in one `unmask bench` run per
# package (interleaved rounds), at prompt PROMPT + each generation length, blocks of BLOCK, one token per step
# (steps = generation length, LLaDA's schedule), greedy, no early exit. One JSON line per (package, length, cache)
# on stdout (saved under target/cache-speed/), then a Markdown table of them.
#
# Build first:  ./mvnw -pl edge-runtime/agent -am package -DskipTests
# Usage:        bench/cache-speed.sh PACKAGE... (e.g. the tiny package and the 200 M f32 and int4 ones)
# Environment:  THREADS (default 2), RUNS (default 3), WARMUP (default 1), PROMPT (default 256),
#               LENGTHS (default 128,256,512), BLOCK (default 32), CACHES (default none,prefix,dual)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: bench/cache-speed.sh PACKAGE..." >&2; exit 2; }
THREADS=${THREADS:-2} RUNS=${RUNS:-3} WARMUP=${WARMUP:-1} PROMPT=${PROMPT:-256}
LENGTHS=${LENGTHS:-128,256,512} BLOCK=${BLOCK:-32} CACHES=${CACHES:-none,prefix,dual}
out=target/cache-speed
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
echo "# $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), threads $THREADS, runs $RUNS, $stamp" >&2
for pkg in "$@"; do
  # the canvas must fit the model: lengths longer than max_sequence_length - PROMPT are left out, with a note
  max=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["architecture"]["max_sequence_length"])' "$pkg/manifest.json")
  for gen in ${LENGTHS//,/ }; do
    if [ $((PROMPT + gen + 1)) -gt "$max" ]; then
      echo "# $pkg: prompt $PROMPT + $gen exceeds max_sequence_length $max, left out" >&2
      continue
    fi
    bin/unmask bench -m "$pkg" --cache "$CACHES" --prompt-length "$PROMPT" --gen-length "$gen" --steps "$gen" \
      --block-length "$BLOCK" --threads "$THREADS" --warmup "$WARMUP" --runs "$RUNS" --json 2>/dev/null
  done
done | tee "$out/$stamp.jsonl"
python3 - "$out/$stamp.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| model | precision | prompt + gen | cache | ms/step (± sd) | vs none | tokens/s | vs none | forwards | tokens/fwd | query tokens/fwd | GFLOP/s | cache MiB |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print("| %s | %s | %d + %d | %s | %.2f ± %.2f | %.2f× | %.1f | %.2f× | %.0f | %.2f | %.1f | %.2f | %.1f |" % (
        r["model"], r["precision"], r["prompt_tokens"], r["gen_length"], r["cache"], r["ms_per_step"],
        r["ms_per_step_sd"], r.get("ms_per_step_vs_none", float("nan")), r["tokens_per_s"],
        r.get("tokens_per_s_vs_none", float("nan")), r["forwards"], r["tokens_per_forward"],
        r["query_tokens_per_forward"], r["gflop_per_s"], r["cache_bytes"] / 2**20))
EOF

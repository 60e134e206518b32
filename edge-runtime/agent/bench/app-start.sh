#!/usr/bin/env bash
# Start time of app images (issue 17 §2): `unmask --version` (JVM and picocli only) and a cold `unmask generate` on
# the tiny package (8 tokens, 8 steps: JVM, package open, ONNX Runtime session, tokenizer, chat-free prompt), each
# image alternately, RUNS times; prints wall and CPU (user + sys) seconds and max RSS per run, then median (min-max).
#
#   edge-runtime/agent/bench/app-start.sh [RUNS] IMAGE_DIR...     e.g. 10 target/app-before/unmask target/app/unmask
#
# Needs GNU time (/usr/bin/time) and models/tiny-llada/package (README: unmask-pack convert).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
runs=10
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then runs=$1; shift; fi
[[ $# -gt 0 ]] || { echo "usage: app-start.sh [RUNS] IMAGE_DIR..." >&2; exit 2; }
package="$root/models/tiny-llada/package"
[[ -f "$package/manifest.json" ]] || { echo "no $package: convert models/tiny-llada first" >&2; exit 1; }
out="$(mktemp -d)"
for run in $(seq 1 "$runs"); do
  for image in "$@"; do
    key="$(echo "$image" | tr '/' '_')"
    /usr/bin/time -f "%e %U %S %M" -o "$out/t" "$image/bin/unmask" --version > /dev/null
    echo "version $(cat "$out/t")" >> "$out/$key"
    /usr/bin/time -f "%e %U %S %M" -o "$out/t" "$image/bin/unmask" generate -m "$package" \
      --gen-length 8 --block-length 8 --steps 8 "def add(a, b):" > /dev/null 2>&1
    echo "generate $(cat "$out/t")" >> "$out/$key"
  done
done
for image in "$@"; do
  key="$(echo "$image" | tr '/' '_')"
  echo "$image ($(du -sb "$image" | cut -f1) bytes), $runs runs:"
  for what in version generate; do
    grep "^$what " "$out/$key" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split()[1:])) for l in sys.stdin]
wall = [r[0] for r in rows]; cpu = [r[1] + r[2] for r in rows]; rss = [r[3] / 1024 for r in rows]
f = lambda v: f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"
print(f"  {sys.argv[1]:8s} wall s {f(wall)}  CPU s {f(cpu)}  max RSS MB {statistics.median(rss):.0f}")' "$what"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$out"

#!/usr/bin/env bash
# Session creation time and peak resident memory per package, interleaved (issue 17 §1, int4:qgemm's load cost).
# Every round runs each package once in a new random order, each in its own JVM (LoadTime.java) under
# /usr/bin/time, so the peak RSS is that session's; prints one line per run and, at the end, per package the median
# and min-max of the creation time and of the peak RSS over the rounds, and the median ratio of each package's
# creation time to the first package's within a round.
#
#   bench/quant-speed/load-time.sh [--rounds 5] [--threads 2] label=PACKAGE_DIR label=PACKAGE_DIR ...
#
# Run from the repository root after ./mvnw -o -q -B -pl model-packager -am package -DskipTests.
# For the 200 M packages take the shared lock: flock /work/scratch/200m.lock bench/quant-speed/load-time.sh ...
set -euo pipefail
rounds=5
threads=2
pkgs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) pkgs+=("$1"); shift ;;
  esac
done
[[ ${#pkgs[@]} -gt 0 ]] || { echo "usage: $0 [--rounds 5] [--threads 2] label=DIR ..." >&2; exit 2; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  for p in $(printf '%s\n' "${pkgs[@]}" | shuf); do
    line=$( { /usr/bin/time -f "rss_kb %M" java -cp "$root/model-packager/target/lib/*" "$here/LoadTime.java" \
      --threads "$threads" "$p"; } 2>&1 | tr '\n' ' ')
    echo "round $r $line" | tee -a "$out"
  done
done
first="${pkgs[0]%%=*}"
python3 - "$out" "$first" "${pkgs[@]}" <<'EOF'
import sys, statistics as st
path, first, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = {}  # label -> round -> (ms, rss MB)
for line in open(path):
    f = line.split()
    r, label, ms, rss = int(f[1]), f[2], int(f[3]), int(f[f.index("rss_kb") + 1]) / 1024
    runs.setdefault(label, {})[r] = (ms, rss)
print(f"\n| package | session creation ms, median (min-max) | vs {first} | peak RSS MB, median (min-max) |")
print("|---|---|---|---|")
for spec in specs:
    label = spec.split("=", 1)[0]
    rs = runs[label]
    ms = [v[0] for v in rs.values()]
    rss = [v[1] for v in rs.values()]
    ratio = [rs[r][0] / runs[first][r][0] for r in rs if r in runs[first]]
    print(f"| {label} | {st.median(ms):.0f} ({min(ms)}-{max(ms)}) | {st.median(ratio):.2f} ({min(ratio):.2f}-{max(ratio):.2f}) "
          f"| {st.median(rss):.0f} ({min(rss):.0f}-{max(rss):.0f}) |")
EOF

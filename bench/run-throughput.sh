#!/usr/bin/env bash
# The batching throughput bench of issue 17 §3 against both servers on loopback, each with the tiny package
# (models/tiny-llada/package, or $PACKAGE): the functions (quarkus-run.jar) and the agent (unmask serve), one after
# the other, each started fresh with -Xmx1g and the same batch size, and stopped afterwards. bench/throughput.py runs
# the windows (every cache mode x every client count, repeated, the order rotated) and prints the table; the JSON
# lines go to stdout and to target/throughput/<server>.jsonl, the servers' logs next to them.
#
# Build first:  ./mvnw -pl functions,edge-runtime/agent -am package -DskipTests
# and convert:  bin/unmask-pack convert --from models/tiny-llada --out models/tiny-llada/package
# Usage:        bench/run-throughput.sh [functions|agent|both] [throughput.py options, e.g. --caches none,prefix,dual]
# The default cell serves 8 answers of 64 tokens (each of C clients sends ceil(8 / C) requests, all counted; the
# 16-client cell 16), prompt of about 64 tokens, greedy, one token per step; 3 rounds, the order rotated. With
# --caches none,prefix,dual --clients 1,2,4,8,16 that is about 10 minutes for both servers on a quiet 2-core
# machine (docs/benchmarks.md, "Batching throughput"). At the end, one table with both servers side by side.
# Environment:  MAX_BATCH     requests per forward pass on both servers (default 16: the 16-client cell batches too)
#               MAX_QUEUE     requests that may wait (default 64: no client is refused)
#               LOADGEN_NICE  run the load generator under nice -n N (default 0)
#               FUNCTIONS_JAR the functions' quarkus-run.jar (default: this tree's build; another build to compare)
#               AGENT_JAR     the agent's jar, its lib/ beside it (default: this tree's build, through bin/unmask)
#               SERVER_OPTS   extra JVM options for both servers, e.g. -XX:+UseSerialGC
#               SPINNING      auto|spin|sleep for both servers (default auto: the servers' own, sleep); spin to compare
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
shift || true
PORT=${PORT:-18091}
PACKAGE=${PACKAGE:-models/tiny-llada/package}
MAX_BATCH=${MAX_BATCH:-16}
MAX_QUEUE=${MAX_QUEUE:-64}
OUT=target/throughput
mkdir -p "$OUT"
touch "$OUT/.started"
[ -f "$PACKAGE/manifest.json" ] || {
  echo "No $PACKAGE: bin/unmask-pack convert --from models/tiny-llada --out $PACKAGE" >&2; exit 1; }
model=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$PACKAGE/manifest.json")

pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT
trap 'stop; exit 143' INT TERM

wait_healthy() { # url, log
  local deadline=$((SECONDS + 120))
  until curl -sf -o /dev/null "$1"; do
    kill -0 "$pid" 2>/dev/null || { echo "the server exited; see $2" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "not healthy after 120 s; see $2" >&2; exit 1; }
    sleep 0.2
  done
}

run() { # name, health path, throughput options...
  local name=$1 health=$2
  shift 2
  echo "== $name (pid $pid, http://127.0.0.1:$PORT, batch $MAX_BATCH, queue $MAX_QUEUE, model $model)"
  wait_healthy "http://127.0.0.1:$PORT$health" "$OUT/$name.log"
  local rc=0
  nice -n "${LOADGEN_NICE:-0}" python3 bench/throughput.py --port "$PORT" --pid "$pid" --server "$name" --model "$model" "$@" \
    | tee "$OUT/$name.jsonl" || rc=$?
  stop
  return $rc
}

status=0
if [ "$which" = functions ] || [ "$which" = both ]; then
  JAR=${FUNCTIONS_JAR:-functions/target/quarkus-app/quarkus-run.jar}
  [ -f "$JAR" ] || { echo "No $JAR: ./mvnw -pl functions -am package -DskipTests" >&2; exit 1; }
  java -Xmx1g ${SERVER_OPTS:-} -Dunmask.spinning="${SPINNING:-auto}" -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
       -Dunmask.batch.max-size="$MAX_BATCH" -Dunmask.batch.max-queue="$MAX_QUEUE" \
       -Dunmask.models."$model".path="$PACKAGE" -jar "$JAR" > "$OUT/functions.log" 2>&1 &
  pid=$!
  run functions /q/health/ready --metrics /q/metrics "$@" || status=1
fi
if [ "$which" = agent ] || [ "$which" = both ]; then
  home=$(mktemp -d) # an empty store: the agent serves the package it is given
  agent=(bin/unmask)
  [ -z "${AGENT_JAR:-}" ] || agent=(java -Xmx1g ${SERVER_OPTS:-} -jar "$AGENT_JAR")
  UNMASK_HOME="$home" JAVA_OPTS="-Xmx1g ${SERVER_OPTS:-}" "${agent[@]}" serve --port "$PORT" --model "$PACKAGE" \
    --max-batch "$MAX_BATCH" --max-queue "$MAX_QUEUE" --spinning "${SPINNING:-auto}" > "$OUT/agent.log" 2>&1 &
  pid=$!
  run agent /health --health /health "$@" || status=1
  rm -rf "$home"
fi
# both servers' summaries in one table: the cells side by side
python3 - "$OUT" <<'PY' || true
import json, os, sys
rows = {}
servers = []
for name in ("functions", "agent"):
    path = os.path.join(sys.argv[1], name + ".jsonl")
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(sys.argv[1] + "/.started"):
        continue
    servers.append(name)
    for line in open(path):
        if line.startswith("{") and '"summary": true' in line:
            r = json.loads(line)
            rows.setdefault((r["cache"], r["clients"]), {})[name] = r
if len(servers) > 1:
    f = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"
    print("\n### side by side: requests/s (× 1 client), tokens/s, p50 / p99 ms, requests per step\n")
    print("| cache | clients | " + " | ".join(servers) + " |")
    print("|---|---|" + "---|" * len(servers))
    for (cache, c), by in rows.items():
        cells = []
        for s in servers:
            r = by.get(s)
            cells.append("–" if r is None else f"{f(r['requests_per_s'])} ({f(r['speedup_over_1_client'])}x), "
                         f"{f(r['tokens_per_s'], 0)} tok/s, {f(r['p50_ms'], 0)} / {f(r['p99_ms'], 0)} ms, "
                         f"{f(r['requests_per_forward'])}")
        print(f"| {cache} | {c} | " + " | ".join(cells) + " |")
PY
exit $status

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
# The default run (3 rounds of 5 client counts x the cache modes, 20 s windows) takes about 5 minutes per server and
# cache mode and keeps the cores busy.
# Environment:  MAX_BATCH     requests per forward pass on both servers (default 16: the 16-client cell batches too)
#               MAX_QUEUE     requests that may wait (default 64: no client is refused)
#               LOADGEN_NICE  run the load generator under nice -n N (default 0)
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
  JAR=functions/target/quarkus-app/quarkus-run.jar
  [ -f "$JAR" ] || { echo "No $JAR: ./mvnw -pl functions -am package -DskipTests" >&2; exit 1; }
  java -Xmx1g -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
       -Dunmask.batch.max-size="$MAX_BATCH" -Dunmask.batch.max-queue="$MAX_QUEUE" \
       -Dunmask.models."$model".path="$PACKAGE" -jar "$JAR" > "$OUT/functions.log" 2>&1 &
  pid=$!
  run functions /q/health/ready --metrics /q/metrics "$@" || status=1
fi
if [ "$which" = agent ] || [ "$which" = both ]; then
  home=$(mktemp -d) # an empty store: the agent serves the package it is given
  UNMASK_HOME="$home" JAVA_OPTS=-Xmx1g bin/unmask serve --port "$PORT" --model "$PACKAGE" \
    --max-batch "$MAX_BATCH" --max-queue "$MAX_QUEUE" > "$OUT/agent.log" 2>&1 &
  pid=$!
  run agent /health "$@" || status=1
  rm -rf "$home"
fi
exit $status

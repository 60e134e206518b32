#!/usr/bin/env bash
# Starts the service on 127.0.0.1 with the tiny package, measures process start to ready, and runs the bounded load
# test once batched (unmask.batch.max-size=8) and once one at a time (max-size=1).
# Build first: ./mvnw -pl functions -am package -DskipTests
# Usage: functions/bench/run-loadtest.sh [seconds (<= 60)] [clients]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-60}
CLIENTS=${2:-32}
PORT=${PORT:-18080}
JAR=functions/target/quarkus-app/quarkus-run.jar
[ -f "$JAR" ] || { echo "No $JAR: run ./mvnw -pl functions -am package -DskipTests first" >&2; exit 1; }

for BATCH in 8 1; do
  start_ns=$(date +%s%N)
  java -Xmx1g -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=$PORT \
       -Dunmask.models.tiny-llada.path=models/tiny-llada/package -Dunmask.batch.max-size=$BATCH \
       -Dunmask.batch.max-queue=64 -jar "$JAR" > /tmp/unmask-loadtest-server-$BATCH.log 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  until curl -sf "http://127.0.0.1:$PORT/q/health/ready" > /dev/null; do
    kill -0 $pid 2>/dev/null || { echo "server exited; see /tmp/unmask-loadtest-server-$BATCH.log" >&2; exit 1; }
    sleep 0.1
  done
  ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  echo "batch.max-size=$BATCH: process start to ready ${ready_ms} ms"
  python3 functions/bench/loadtest.py --port $PORT --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
  curl -s "http://127.0.0.1:$PORT/q/metrics" | grep -E '^unmask_batch_size_(sum|count)' || true
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
done

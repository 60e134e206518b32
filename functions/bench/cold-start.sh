#!/usr/bin/env bash
# Process start to ready (package loaded and warmed: /q/health/ready 200) with the tiny package, with and without
# the AppCDS archive. Build first with the archive:
#   ./mvnw -pl functions -am package -DskipTests -Dquarkus.package.jar.appcds.enabled=true
# Usage: functions/bench/cold-start.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
RUNS=${1:-3}
PORT=${PORT:-18082}
APP=functions/target/quarkus-app
[ -f $APP/app-cds.jsa ] || { echo "No $APP/app-cds.jsa: build with -Dquarkus.package.jar.appcds.enabled=true" >&2; exit 1; }

measure() { # $1 = label, rest = extra JVM flags
  local label=$1; shift
  for run in $(seq 1 "$RUNS"); do
    start_ns=$(date +%s%N)
    # the archive records the class path as built: run from the app folder, as Quarkus did to create it
    (cd $APP && exec java "$@" -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=$PORT \
         -Dunmask.models.tiny-llada.path="$ROOT/models/tiny-llada/package" -jar quarkus-run.jar) > /tmp/unmask-cold-start.log 2>&1 &
    pid=$!
    until curl -sf "http://127.0.0.1:$PORT/q/health/live" > /dev/null; do sleep 0.02; done
    live_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    until curl -sf "http://127.0.0.1:$PORT/q/health/ready" > /dev/null; do sleep 0.02; done
    ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    if grep -q 'Unable to use shared archive' /tmp/unmask-cold-start.log; then echo "the AppCDS archive did not load" >&2; fi
    echo "$label run $run: listening ${live_ms} ms, ready ${ready_ms} ms ($(grep -o 'loaded and warmed in [0-9]* ms' /tmp/unmask-cold-start.log))"
    kill $pid; wait $pid 2>/dev/null || true
  done
}
measure "no AppCDS" -Xshare:auto
measure "AppCDS   " -XX:SharedArchiveFile=app-cds.jsa

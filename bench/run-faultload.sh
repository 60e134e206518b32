#!/usr/bin/env bash
# The load and fault run of issue 12 against both servers on loopback, each with the tiny package
# (models/tiny-llada/package): the functions (quarkus-run.jar) and the agent (unmask serve), one after the other,
# each started fresh with -Xmx1g and stopped afterwards. bench/faultload.py does the scenarios and prints the figures;
# the JSON lines go to stdout and to target/faultload/<server>.jsonl, the servers' logs next to them.
#
# Build first:  ./mvnw -pl functions,edge-runtime/agent -am package -DskipTests
# and convert:  bin/unmask-pack convert --from models/tiny-llada --out models/tiny-llada/package
# Usage:        bench/run-faultload.sh [functions|agent|both] [faultload.py options, e.g. --seconds 15]
# The full run (60 s per load scenario) takes about 6 minutes per server and keeps the cores busy.
# Environment:  FUNCTIONS_JAVA_OPTS  the functions' JVM options (default: -Xmx1g and the heap settings the images use)
#               LOADGEN_NICE         run the load generator under nice -n N (default 0: not niced). The generator
#                                    shares the cores with the server; niced, the server's figures are its own.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-both}
shift || true
PORT=${PORT:-18090}
PACKAGE=models/tiny-llada/package
OUT=target/faultload
mkdir -p "$OUT"
[ -f "$PACKAGE/manifest.json" ] || {
  echo "No $PACKAGE: bin/unmask-pack convert --from models/tiny-llada --out $PACKAGE" >&2; exit 1; }

pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap stop EXIT

wait_healthy() { # url, log
  local deadline=$((SECONDS + 120))
  until curl -sf -o /dev/null "$1"; do
    kill -0 "$pid" 2>/dev/null || { echo "the server exited; see $2" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "not healthy after 120 s; see $2" >&2; exit 1; }
    sleep 0.2
  done
}

run() { # name, health path, faultload options...
  local name=$1 health=$2
  shift 2
  echo "== $name (pid $pid, http://127.0.0.1:$PORT, health $health)"
  wait_healthy "http://127.0.0.1:$PORT$health" "$OUT/$name.log"
  local rc=0
  nice -n "${LOADGEN_NICE:-0}" python3 bench/faultload.py --port "$PORT" --pid "$pid" --health "$health" "$@" \
    | tee "$OUT/$name.jsonl" || rc=$?
  stop
  return $rc
}

# The heap as the images run it (infra/aws/gpu/Dockerfile, infra/k8s): G1 gives memory back once a burst is over
FUNCTIONS_HEAP="-Xmx1g -XX:+UseG1GC -XX:G1PeriodicGCInterval=5000 -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30"
status=0
if [ "$which" = functions ] || [ "$which" = both ]; then
  JAR=functions/target/quarkus-app/quarkus-run.jar
  [ -f "$JAR" ] || { echo "No $JAR: ./mvnw -pl functions -am package -DskipTests" >&2; exit 1; }
  # shellcheck disable=SC2086 # the options are words
  java ${FUNCTIONS_JAVA_OPTS:-$FUNCTIONS_HEAP} -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
       -Dunmask.models.tiny-llada.path="$PACKAGE" -jar "$JAR" > "$OUT/functions.log" 2>&1 &
  pid=$!
  run functions /q/health/ready "$@" || status=1
fi
if [ "$which" = agent ] || [ "$which" = both ]; then
  home=$(mktemp -d) # an empty store: the agent serves the bundled package only
  UNMASK_HOME="$home" JAVA_OPTS=-Xmx1g bin/unmask serve --port "$PORT" > "$OUT/agent.log" 2>&1 &
  pid=$!
  run agent /health "$@" || status=1
  rm -rf "$home"
fi
exit $status

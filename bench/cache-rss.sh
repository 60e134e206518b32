#!/usr/bin/env bash
# Peak memory of `unmask serve` with concurrent cached requests (issue 14's "Proof": memory). For each cache mode
# it starts a fresh agent on loopback serving PACKAGE from an empty store, warms it with one request (the model
# loads on its first), then sends CLIENTS concurrent /v1/completions requests with that "cache" and samples
# /proc/<pid>/status (VmRSS every 100 ms; VmHWM, the kernel's own peak, at the end). One line per mode: RSS after
# the warm-up, peak RSS under the clients, and the difference, which holds the caches' buffers and the batch's
# activations. The cache bytes per request it expects are kv_cache.bytesPerPosition() x canvas ('unmask bench'
# prints them).
#
# Build first:  ./mvnw -pl edge-runtime/agent -am package -DskipTests
# Usage:        bench/cache-rss.sh PACKAGE [modes=none,prefix,dual] [clients=8] [prompt_tokens=256] [max_tokens=256]
# Environment:  PORT (default 18091), JAVA_OPTS (default -Xmx1g, as bin/unmask)
set -euo pipefail
cd "$(dirname "$0")/.."
package=${1:?usage: bench/cache-rss.sh PACKAGE [modes=none,prefix,dual] [clients=8] [prompt_tokens=256] [max_tokens=256]}
modes=${2:-none,prefix,dual}
clients=${3:-8}
prompt_tokens=${4:-256}
max_tokens=${5:-256}
PORT=${PORT:-18091}
[ -f "$package/manifest.json" ] || { echo "$package holds no manifest.json: name a package folder" >&2; exit 2; }
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$package/manifest.json")

pid=
home=
stop() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi
  if [ -n "$home" ]; then rm -rf "$home"; home=; fi
}
trap stop EXIT

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

echo "package $package ($name), $clients concurrent clients, prompt ~$prompt_tokens tokens + $max_tokens, $(nproc) cores, $(date -u +%FT%TZ)"
echo "| cache | RSS after warm-up (MiB) | peak RSS, $clients clients (MiB) | difference (MiB) | answers |"
echo "|---|---:|---:|---:|---:|"
for mode in ${modes//,/ }; do
  home=$(mktemp -d)
  UNMASK_HOME="$home" bin/unmask pull "$package" > /dev/null
  UNMASK_HOME="$home" bin/unmask serve --port "$PORT" > "$home/serve.log" 2>&1 &
  pid=$!
  deadline=$((SECONDS + 120))
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/health"; do
    kill -0 "$pid" 2>/dev/null || { echo "the server exited:" >&2; cat "$home/serve.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "not healthy after 120 s" >&2; exit 1; }
    sleep 0.2
  done
  result=$(python3 - "$PORT" "$name" "$mode" "$clients" "$prompt_tokens" "$max_tokens" "$pid" <<'EOF'
import json, sys, threading, time, urllib.request
port, model, mode, clients, prompt_tokens, max_tokens, pid = sys.argv[1:]
clients, prompt_tokens, max_tokens = int(clients), int(prompt_tokens), int(max_tokens)
code = "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n"
prompt = (code * (prompt_tokens // 8 + 1))[: prompt_tokens * 3]  # about 3 characters per token of code; cut long
def body():
    b = {"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}
    if mode != "none":
        b["cache"] = mode  # issue 14's request field; a server without it answers 400, which is counted
    return json.dumps(b).encode()
def post():
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=body(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            json.load(r)
            return True
    except Exception as e:
        print(f"request failed: {e}", file=sys.stderr)
        return False
def rss_kib(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
post()  # loads the model and warms the session
warm = rss_kib("VmRSS")
peak = warm
ok = []
threads = [threading.Thread(target=lambda: ok.append(post())) for _ in range(clients)]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    peak = max(peak, rss_kib("VmRSS"))
    time.sleep(0.1)
peak = max(peak, rss_kib("VmHWM"))
print(f"{warm / 1024:.0f} {peak / 1024:.0f} {(peak - warm) / 1024:.0f} {sum(ok)}/{clients}")
EOF
)
  read -r warm peak diff answers <<< "$result"
  echo "| $mode | $warm | $peak | $diff | $answers |"
  stop
done

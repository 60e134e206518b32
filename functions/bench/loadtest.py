#!/usr/bin/env python3
"""Bounded loopback load test of the OpenAI-compatible API.

N concurrent clients send completions to 127.0.0.1 for a fixed time; prints throughput, latency percentiles and
status counts as one JSON line. Only the loopback address is accepted.

  python3 functions/bench/loadtest.py --port 8080 --clients 32 --seconds 60 --max-tokens 32
"""
import argparse
import http.client
import json
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--model", default="tiny-llada")
    ap.add_argument("--key", default=None)
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only: --host 127.0.0.1")
    if not 0 < args.seconds <= 60:
        raise SystemExit("--seconds must be in (0, 60]")

    prompts = ["def add(a, b):", "The cat sat", "1, 2, 3,", "Once upon a time", "import numpy as np", "Hello"]
    deadline = time.monotonic() + args.seconds
    lock = threading.Lock()
    latencies, statuses, tokens = [], {}, [0]

    def client(i):
        conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
        n = 0
        while time.monotonic() < deadline:
            body = json.dumps({"model": args.model, "prompt": prompts[(i + n) % len(prompts)],
                               "max_tokens": args.max_tokens}).encode()
            headers = {"Content-Type": "application/json"}
            if args.key:
                headers["Authorization"] = "Bearer " + args.key
            t = time.monotonic()
            try:
                conn.request("POST", "/v1/completions", body, headers)
                r = conn.getresponse()
                data = r.read()
                status = r.status
            except Exception as e:  # counted, and the connection renewed
                status = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
                data = b""
            elapsed = time.monotonic() - t
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    latencies.append(elapsed)
                    tokens[0] += json.loads(data)["usage"]["completion_tokens"]
            if status == 429:
                time.sleep(1)
            n += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000) if latencies else None

    print(json.dumps({"clients": args.clients, "seconds": round(wall, 1), "max_tokens": args.max_tokens,
                      "ok": len(latencies), "statuses": {str(k): v for k, v in statuses.items()},
                      "requests_per_s": round(len(latencies) / wall, 2),
                      "completion_tokens_per_s": round(tokens[0] / wall, 1),
                      "p50_ms": pct(50), "p99_ms": pct(99)}))


if __name__ == "__main__":
    main()

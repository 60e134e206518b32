#!/usr/bin/env python3
"""Batching throughput of one running Unmask server on loopback (issue 17 §3), Python 3 standard library only.

For every cache mode in --caches and every client count in --clients, that many closed-loop clients send
POST /v1/completions back to back (each waits for its answer, then sends the next). Two ways to bound a cell:

* --answers N (the default, 8): a fixed amount of work. Each of C clients sends ceil(N / C) requests, and every
  answer counts, over the time from the first send to the last answer. Cells of one mode then do about the same
  work whatever the client count, and nothing is lost at the edges.
* --answers 0 --seconds S: timed windows; only answers that end inside [start + --ramp, start + S] count. Right only
  when S is many times one answer's latency: a batch of C uncached answers finishes together after C times one
  answer's steps, so a window shorter than that counts next to nothing (the "none, 8 clients: 0.20x" of the first
  quiet run was this, not the server: 8 uncached 128-token answers take about 27 s, the window was 20 s).

Per cell it prints one JSON line: requests/s, completion tokens/s (from each answer's `usage`), p50 and p99 latency
(send to end of body), and, where the server exposes Prometheus metrics (the functions' /q/metrics, or the
agent's /health counters), the mean number of requests per step of the batch.

Side by side and repeated: --repeats rounds, each running every (cache, clients) window once, the order rotated from
round to round, so that a change of load on the machine spreads over all cells instead of biasing one. The summary
gives each cell's median with the min-max over the rounds, and each cache mode's throughput at N clients over its
throughput at 1 client (the "8 clients >= 3x one at a time" target of the issue).

The request (all fields the servers take, see docs/api.md): a prompt of about --prompt-tokens tokens, --max-tokens
tokens in blocks of --block-length, one token per step (steps = max_tokens, greedy), and "cache": MODE for every mode
but "none" (which sends no cache field, so that a server without the field runs too). A preflight sends one request
per mode first and stops when the server refuses one: no window silently measures a mode the server does not know.

Only loopback addresses are accepted; every window is bounded in time and clients.

  python3 bench/throughput.py --port 18090 --server functions --clients 1,2,4,8,16 --caches none,prefix,dual
"""
import argparse
import http.client
import json
import os
import re
import statistics
import threading
import time

# Distinct code-like prompts (the tiny models are trained on code and stories); each is repeated to --prompt-tokens
PROMPTS = [
    "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n",
    "The cat sat on the mat. The dog sat on the log. The bird",
    "import numpy as np\n\ndef mean(xs):\n    return np.sum(xs) / len(xs)\n\ndef",
    "Once upon a time there was a little girl who lived in a village near the forest.",
    "for i in range(10):\n    print(i)\nwhile True:\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n",
]


def prompt(i, tokens):
    """About `tokens` tokens (4 characters a token is close for these byte-level BPE vocabularies)."""
    base = PROMPTS[i % len(PROMPTS)]
    text = base
    while len(text) < tokens * 4:
        text += "\n" + base
    return text[: tokens * 4]


def body(args, i, cache):
    b = {"model": args.model, "prompt": prompt(i, args.prompt_tokens), "max_tokens": args.max_tokens,
         "block_length": args.block_length, "steps": args.max_tokens, "temperature": 0}
    if cache != "none":
        b["cache"] = cache
    if args.refresh is not None and cache != "none":
        b["cache_refresh"] = args.refresh
    return json.dumps(b).encode()


def headers(args):
    h = {"Content-Type": "application/json"}
    if args.key:
        h["Authorization"] = "Bearer " + args.key
    return h


def post(args, data, timeout=300):
    conn = http.client.HTTPConnection(args.host, args.port, timeout=timeout)
    try:
        conn.request("POST", "/v1/completions", data, headers(args))
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def agent_counts(args):
    """(batched requests, steps) of the agent's loaded model from GET /health, or None."""
    try:
        conn = http.client.HTTPConnection(args.host, args.port, timeout=10)
        conn.request("GET", args.health)
        r = conn.getresponse()
        health = json.loads(r.read())
        conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        return None
    for m in health.get("loaded", []):
        if m.get("model") == args.model and "steps" in m:
            return float(m["batched_requests"]), float(m["steps"])
    return None


def batch_metrics(args):
    """(requests summed over steps, steps): the functions' unmask_batch_size summary (--metrics) or the agent's
    /health counters (--health); None where the server has neither."""
    if args.health and not args.metrics:
        return agent_counts(args)
    if not args.metrics:
        return None
    try:
        conn = http.client.HTTPConnection(args.host, args.port, timeout=10)
        conn.request("GET", args.metrics)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        if r.status != 200:
            return None
    except (OSError, http.client.HTTPException):
        return None
    total = count = None
    for line in text.splitlines():
        m = re.match(r"unmask_batch_size_(sum|count)(\{[^}]*\})?\s+([0-9.eE+-]+)", line)
        if m:
            if m.group(1) == "sum":
                total = (total or 0) + float(m.group(3))
            else:
                count = (count or 0) + float(m.group(3))
    return (total, count) if total is not None and count is not None else None


def cpu_seconds(pid):
    """The server's user + system CPU seconds so far (/proc/<pid>/stat), or None without --pid."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return None


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))] if v else None


def window(args, clients, cache):
    """One measurement: `clients` closed-loop clients for --seconds; the steady window's figures."""
    lock = threading.Lock()
    done = []  # (end time, latency s, completion tokens)
    errors = {}
    start = time.monotonic()
    deadline = start + args.seconds

    per_client = args.requests_per_client or (-(-args.answers // clients) if args.answers else 0)

    def more(k):
        if per_client:
            return k < per_client
        return time.monotonic() < deadline

    def client(i):
        conn = http.client.HTTPConnection(args.host, args.port, timeout=300)
        k = 0
        while more(k):
            t = time.monotonic()
            try:
                conn.request("POST", "/v1/completions", body(args, i * 7 + k, cache), headers(args))
                r = conn.getresponse()
                payload = r.read()
                end = time.monotonic()
                if r.status == 200:
                    tokens = json.loads(payload).get("usage", {}).get("completion_tokens", 0)
                    with lock:
                        done.append((end, end - t, tokens))
                else:
                    with lock:
                        errors[str(r.status)] = errors.get(str(r.status), 0) + 1
                    if r.status == 429:
                        time.sleep(float(r.getheader("Retry-After") or 1))
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(args.host, args.port, timeout=300)
            except (OSError, http.client.HTTPException, ValueError) as e:
                with lock:
                    errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection(args.host, args.port, timeout=300)
                time.sleep(0.1)
            k += 1
        conn.close()

    m0 = batch_metrics(args)
    cpu0 = cpu_seconds(args.pid)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m1 = batch_metrics(args)
    cpu1 = cpu_seconds(args.pid)
    if per_client:  # a fixed amount of work: every answer counts, over the time to the last one
        lo, hi = start, max([start + 1e-3] + [e for e, _, _ in done])
    else:
        lo, hi = start + args.ramp, deadline
    steady = [(e, lat, tok) for e, lat, tok in done if lo <= e <= hi]
    span = hi - lo
    lat = [x[1] for x in steady]
    out = {"server": args.server, "cache": cache, "clients": clients, "window_s": round(span, 1),
           "answers": len(steady), "answers_all": len(done), "errors": errors,
           "requests_per_s": round(len(steady) / span, 3),
           "tokens_per_s": round(sum(x[2] for x in steady) / span, 1),
           "tokens_per_answer": round(sum(x[2] for x in steady) / len(steady), 1) if steady else None,
           "p50_ms": round(pct(lat, 50) * 1000) if lat else None,
           "p99_ms": round(pct(lat, 99) * 1000) if lat else None}
    if cpu0 is not None and cpu1 is not None and done:
        # the work per answer, whatever share of the cores the server got: on a shared machine the figure that
        # compares batch sizes (wall-clock throughput there is the server's share of the CPU)
        out["server_cpu_s"] = round(cpu1 - cpu0, 1)
        out["answers_per_cpu_s"] = round(len(done) / max(cpu1 - cpu0, 1e-3), 3)
        out["tokens_per_cpu_s"] = round(sum(x[2] for x in done) / max(cpu1 - cpu0, 1e-3), 1)
    if m0 and m1 and m1[1] > m0[1]:
        # the whole run's forwards (ramp and drain too): how full the batch was
        out["requests_per_forward"] = round((m1[0] - m0[0]) / (m1[1] - m0[1]), 2)
    return out


def cell(results, key):
    vals = [r[key] for r in results if r.get(key) is not None]
    if not vals:
        return None, None, None
    return statistics.median(vals), min(vals), max(vals)


def fmt(v, digits):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}".replace(",", " ")


def summary(args, results):
    """Median (min–max) per cell; the speed-up over one client of the same cache mode."""
    rows = []
    how = (f"{args.requests_per_client} requests per client" if args.requests_per_client
           else f"ceil({args.answers} / clients) requests per client, all counted" if args.answers
           else f"{args.seconds:g} s windows ({args.ramp:g} s ramp left out)")
    how += f", {args.max_tokens} tokens per answer, prompt of about {args.prompt_tokens} tokens"
    print(f"\n### {args.server}: median (min–max) over {args.repeats} rounds, {how}\n")
    print("| cache | clients | requests/s | tokens/s | p50 ms | p99 ms | × 1 client | requests per step "
          "| tokens per server CPU-s | × 1 client (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cache in args.caches:
        base = cell(results[(cache, args.clients[0])], "requests_per_s")[0] if args.clients[0] == 1 else None
        base_cpu = cell(results[(cache, args.clients[0])], "tokens_per_cpu_s")[0] if args.clients[0] == 1 else None
        for c in args.clients:
            rs = results[(cache, c)]
            rps, rlo, rhi = cell(rs, "requests_per_s")
            tps, tlo, thi = cell(rs, "tokens_per_s")
            p50 = cell(rs, "p50_ms")[0]
            p99, plo, phi = cell(rs, "p99_ms")
            rpf = cell(rs, "requests_per_forward")[0]
            speedup = rps / base if base and rps is not None else None
            tpc, clo, chi = cell(rs, "tokens_per_cpu_s")
            cpu_speedup = tpc / base_cpu if base_cpu and tpc is not None else None
            print(f"| {cache} | {c} | {fmt(rps, 2)} ({fmt(rlo, 2)}–{fmt(rhi, 2)}) | {fmt(tps, 0)} ({fmt(tlo, 0)}–"
                  f"{fmt(thi, 0)}) | {fmt(p50, 0)} | {fmt(p99, 0)} ({fmt(plo, 0)}–{fmt(phi, 0)}) | "
                  f"{fmt(speedup, 2)} | {fmt(rpf, 2)} | {fmt(tpc, 1)} ({fmt(clo, 1)}–{fmt(chi, 1)}) | "
                  f"{fmt(cpu_speedup, 2)} |")
            rows.append({"summary": True, "server": args.server, "cache": cache, "clients": c,
                         "requests_per_s": rps, "requests_per_s_range": [rlo, rhi], "tokens_per_s": tps,
                         "tokens_per_s_range": [tlo, thi], "p50_ms": p50, "p99_ms": p99, "p99_ms_range": [plo, phi],
                         "speedup_over_1_client": round(speedup, 2) if speedup else None,
                         "requests_per_forward": rpf, "tokens_per_cpu_s": tpc,
                         "cpu_speedup_over_1_client": round(cpu_speedup, 2) if cpu_speedup else None})
    for r in rows:
        print(json.dumps(r), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server", default="server", help="a name for the tables: functions, agent")
    ap.add_argument("--model", default="tiny-llada")
    ap.add_argument("--key", default=None)
    ap.add_argument("--pid", type=int, default=None, help="the server's pid: its CPU seconds per answer, from /proc")
    ap.add_argument("--metrics", default=None, help="Prometheus path for requests per step: /q/metrics (functions)")
    ap.add_argument("--health", default=None, help="health path with batch counters for requests per step: /health "
                                                     "(the agent)")
    ap.add_argument("--clients", default="1,2,4,8,16", help="comma-separated client counts; start with 1 for the ×")
    ap.add_argument("--caches", default="none", help="comma-separated: none,prefix,dual")
    ap.add_argument("--refresh", type=int, default=None, help="cache_refresh (steps between refreshes, 0 = per block)")
    ap.add_argument("--seconds", type=float, default=20, help="per window, at most 120")
    ap.add_argument("--ramp", type=float, default=4, help="seconds at a window's start left out")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--requests-per-client", type=int, default=0,
                    help="instead of timed windows: each client sends this many requests; all answers count, over "
                         "the time from the first send to the last answer (the rows of a batch finish together, so "
                         "there is no ragged tail); for a loaded machine where a window would hold few answers")
    ap.add_argument("--answers", type=int, default=8,
                    help="answers per cell, spread over its clients (each sends ceil(N / clients)); 0 = timed "
                         "windows of --seconds")
    ap.add_argument("--prompt-tokens", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--block-length", type=int, default=32)
    args = ap.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    args.caches = args.caches.split(",")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only: --host 127.0.0.1")
    if (not 0 < args.seconds <= 120 or not 0 <= args.ramp < args.seconds or max(args.clients) > 64
            or not 1 <= args.repeats <= 10 or not 0 <= args.answers <= 256):
        raise SystemExit("bounded runs only: --seconds in (0, 120], --ramp in [0, seconds), clients <= 64, "
                         "--repeats in [1, 10], --answers in [0, 256]")

    for cache in args.caches:  # preflight: every mode is served (and the JIT and the session warm up)
        status, payload = post(args, body(args, 0, cache))
        if status != 200:
            raise SystemExit(f"the server refused cache {cache!r}: {status} {payload[:300]!r}")
    for _ in range(2):
        post(args, body(args, 1, args.caches[0]))

    cells = [(cache, c) for cache in args.caches for c in args.clients]
    results = {k: [] for k in cells}
    for r in range(args.repeats):
        shift = (r * max(1, len(cells) // args.repeats + 1)) % len(cells)
        order = cells[shift:] + cells[:shift]
        if r % 2 == 1:
            order.reverse()
        for cache, c in order:
            w = window(args, c, cache)
            w["round"] = r
            results[(cache, c)].append(w)
            print(json.dumps(w), flush=True)
    summary(args, results)


if __name__ == "__main__":
    main()

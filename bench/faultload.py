#!/usr/bin/env python3
"""Load and fault scenarios against one running Unmask server on loopback (issue 12), Python 3 standard library only.

Runs, in order, against a server that is already up (the functions' quarkus-run.jar or `unmask serve`):

  steady      --clients (32) clients for --seconds, POST /v1/completions back to back, honouring Retry-After
  flood       --flood-clients (200) clients for --seconds, honouring Retry-After
  flood-raw   the same, retrying at once after a 429 (a client that ignores Retry-After)
  streams     --streams (100) streaming requests, each dropped after its first data chunk
  dropped     --dropped (30) non-streaming requests, each dropped 0.5 s after it was sent
  oversize    --oversize (8) completions with a --oversize-mb (9) MB prompt, all at once
  idle        --idle (3000) connections that send half a request line and then nothing, held --idle-hold s
  refusals    (only with --only refusals) the server filled with long requests, then --refusal-clients (8) clients
              sending completions for --refusal-seconds (10) s, each on a new connection: the server's CPU per 429,
              counted on its request threads only (event loops and workers, not the stepping thread)

A monitor samples the server's RSS and thread count from /proc/<pid>/status every 0.25 s and probes its health URL
every second (a probe that is not 200 within 5 s counts as down). After the dropped requests it measures how long
the server's CPU stays busy (cancelled work stops; abandoned work keeps the cores busy). It prints one JSON line per
scenario and a summary with the issue's targets: no 500s, no crash, RSS growth under 200 MB, served answers per
second at 200 clients at least 80 % of the figure at 32. The exit status is 0 when every target is met, 1 otherwise.

Only loopback addresses are accepted; every scenario is bounded in count and time.

  python3 bench/faultload.py --port 18080 --pid 1234 --health /q/health/ready --seconds 60
"""
import argparse
import http.client
import json
import os
import resource
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

PROMPTS = ["def add(a, b):", "The cat sat", "1, 2, 3,", "Once upon a time", "import numpy as np", "Hello"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Server:
    """The process under test, read from /proc: RSS, threads, CPU; and its health, probed over HTTP."""

    def __init__(self, args):
        self.args = args
        self.pid = args.pid

    def alive(self):
        return os.path.exists(f"/proc/{self.pid}")

    def status(self):
        out = {}
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "Threads"):
                        out[k] = int(v.split()[0])
        except OSError:
            pass
        return out.get("VmRSS", 0) // 1024, out.get("Threads", 0)  # MiB, threads

    def cpu_seconds(self):
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
        except (OSError, IndexError):
            return 0.0

    def thread_cpu_seconds(self, prefixes):
        """CPU seconds of the server's threads whose names start with one of `prefixes` (from /proc/<pid>/task)."""
        total = 0.0
        try:
            tids = os.listdir(f"/proc/{self.pid}/task")
        except OSError:
            return 0.0
        for tid in tids:
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    name = f.read().strip()
                if not name.startswith(prefixes):
                    continue
                with open(f"/proc/{self.pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            except (OSError, IndexError):
                pass
        return total

    def healthy(self):
        try:
            conn = http.client.HTTPConnection(self.args.host, self.args.port, timeout=5)
            conn.request("GET", self.args.health, headers=self.headers())
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except (OSError, http.client.HTTPException):
            return False

    def headers(self):
        h = {"Content-Type": "application/json"}
        if self.args.key:
            h["Authorization"] = "Bearer " + self.args.key
        return h


class Monitor(threading.Thread):
    """Peak RSS and threads, and failed health probes, over the whole run and per scenario."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.peak_rss = self.peak_threads = 0
        self.window_rss = self.window_threads = 0
        self.probes = self.down = self.window_down = 0
        self.last_probe = 0.0

    def run(self):
        while not self.stop.wait(0.25):
            rss, threads = self.server.status()
            with self.lock:
                self.peak_rss = max(self.peak_rss, rss)
                self.peak_threads = max(self.peak_threads, threads)
                self.window_rss = max(self.window_rss, rss)
                self.window_threads = max(self.window_threads, threads)
            if time.monotonic() - self.last_probe >= 1.0:
                self.last_probe = time.monotonic()
                ok = self.server.healthy()
                with self.lock:
                    self.probes += 1
                    if not ok:
                        self.down += 1
                        self.window_down += 1

    def window(self):
        """Peak RSS, peak threads and failed probes since the last call."""
        with self.lock:
            w = (self.window_rss, self.window_threads, self.window_down)
            self.window_rss = self.window_threads = self.window_down = 0
            return w


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = {}
        self.latencies = []

    def add(self, status, elapsed=None):
        with self.lock:
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            if status == 200 and elapsed is not None:
                self.latencies.append(elapsed)

    def pct(self, p):
        lat = sorted(self.latencies)
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000) if lat else None


def completion_body(args, i, stream=False, prompt=None):
    body = {"model": args.model, "prompt": prompt if prompt is not None else PROMPTS[i % len(PROMPTS)],
            "max_tokens": args.max_tokens}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def raw_request(args, server, body, path="/v1/completions"):
    head = [f"POST {path} HTTP/1.1", f"Host: {args.host}:{args.port}", f"Content-Length: {len(body)}",
            "Connection: close"] + [f"{k}: {v}" for k, v in server.headers().items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def clients(args, server, n, seconds, honour_retry_after):
    """n clients sending completions back to back for `seconds`; served answers per second and latencies."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    def client(i):
        conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
        k = 0
        while time.monotonic() < deadline:
            t = time.monotonic()
            retry_after = 0
            try:
                conn.request("POST", "/v1/completions", completion_body(args, i + k), server.headers())
                r = conn.getresponse()
                r.read()
                status = r.status
                retry_after = int(r.getheader("Retry-After") or 0)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
            except (OSError, http.client.HTTPException, ValueError) as e:
                status = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
                time.sleep(0.05)
            tally.add(status, time.monotonic() - t)
            if status == 429 and honour_retry_after:
                time.sleep(min(max(retry_after, 1), max(0.0, deadline - time.monotonic())))
            k += 1
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {"clients": n, "seconds": round(wall, 1), "honour_retry_after": honour_retry_after,
            "statuses": tally.statuses, "served_per_s": round(len(tally.latencies) / wall, 2),
            "p50_ms": tally.pct(50), "p99_ms": tally.pct(99)}


def busy_after(server, settle_s, cap_s):
    """Seconds until the server's CPU use falls under 0.15 core for a whole second (capped), and CPU spent."""
    time.sleep(settle_s)
    start, cpu0 = time.monotonic(), server.cpu_seconds()
    while time.monotonic() - start < cap_s:
        before = server.cpu_seconds()
        time.sleep(1.0)
        if server.cpu_seconds() - before < 0.15:
            break
    return round(time.monotonic() - start + settle_s, 1), round(server.cpu_seconds() - cpu0, 1)


def dropped(args, server, n, stream):
    """n requests at once, each dropped: streams after their first data chunk, others 0.5 s after sending."""
    tally = Tally()
    deadline = time.monotonic() + 60

    def one(i):
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection((args.host, args.port), timeout=30)
                s.sendall(raw_request(args, server, completion_body(args, i, stream=stream)))
                if not stream:
                    time.sleep(0.5)
                    s.setblocking(False)
                    try:
                        early = s.recv(64, socket.MSG_PEEK)  # answered within 0.5 s: a refusal, most likely
                    except BlockingIOError:
                        early = b""
                    s.close()
                    tally.add(int(early.split(b" ", 2)[1]) if early.startswith(b"HTTP/") and len(early) > 12
                              else "dropped-before-answer")
                    return
                got = b""
                while b"\r\n\r\n" not in got:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    got += chunk
                status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/") else "no-answer"
                if status == 200:
                    while b"data:" not in got:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                    s.close()
                    tally.add("dropped-mid-stream")
                    return
                s.close()
                tally.add(status)
                if status != 429:
                    return
                time.sleep(1)  # a place frees when a dropped stream is cancelled
            except (OSError, ValueError, IndexError) as e:
                tally.add(type(e).__name__)
                return

    with ThreadPoolExecutor(n) as pool:
        list(pool.map(one, range(n)))
    busy_s, cpu_s = busy_after(server, 1.0, args.busy_cap)
    return {"requests": n, "stream": stream, "statuses": tally.statuses, "cpu_busy_after_drop_s": busy_s,
            "cpu_s_after_drop": cpu_s}


def oversize(args, server):
    """--oversize prompts of --oversize-mb MB at once: refused (or served) without the memory staying up."""
    tally = Tally()
    prompt = ("lorem ipsum " * (args.oversize_mb * 1024 * 1024 // 12 + 1))[: args.oversize_mb * 1024 * 1024]
    body = completion_body(args, 0, prompt=prompt)
    cpu0 = server.cpu_seconds()

    def one(_):
        t = time.monotonic()
        try:
            conn = http.client.HTTPConnection(args.host, args.port, timeout=120)
            conn.request("POST", "/v1/completions", body, server.headers())
            r = conn.getresponse()
            r.read()
            tally.add(r.status, time.monotonic() - t)
            conn.close()
        except (OSError, http.client.HTTPException) as e:
            tally.add(type(e).__name__)

    started = time.monotonic()
    with ThreadPoolExecutor(args.oversize) as pool:
        list(pool.map(one, range(args.oversize)))
    return {"requests": args.oversize, "prompt_mb": args.oversize_mb, "statuses": tally.statuses,
            "seconds": round(time.monotonic() - started, 1), "cpu_s": round(server.cpu_seconds() - cpu0, 1)}


def idle(args, server):
    """--idle connections that send half a request line, held --idle-hold s; how many the server closed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    socks, failed = [], [0]
    lock = threading.Lock()

    def connect(_):
        try:
            s = socket.create_connection((args.host, args.port), timeout=2)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
            with lock:
                socks.append(s)
        except OSError:
            with lock:
                failed[0] += 1

    with ThreadPoolExecutor(64) as pool:
        list(pool.map(connect, range(args.idle)))
    opened = len(socks)
    probe_ok, probe_ms, threads = [], [], 0
    hold_end = time.monotonic() + args.idle_hold
    while time.monotonic() < hold_end:
        t = time.monotonic()
        probe_ok.append(server.healthy())
        probe_ms.append(round((time.monotonic() - t) * 1000))
        threads = max(threads, server.status()[1])
        time.sleep(1)
    closed = 0
    for s in socks:
        try:
            s.setblocking(False)
            s.recv(4096, socket.MSG_PEEK)
            closed += 1  # readable: an answer (408, 400) or the end of the stream
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    for s in socks:
        s.close()
    return {"connections": args.idle, "opened": opened, "connect_failed": failed[0], "hold_s": args.idle_hold,
            "statuses": {}, "closed_by_server": closed, "peak_threads": threads,
            "health_ok_during": f"{sum(probe_ok)}/{len(probe_ok)}", "health_max_ms": max(probe_ms or [0])}


# The threads that read, refuse and answer requests, by their names in /proc (15 characters at most): Vert.x event
# loops and Quarkus's worker pool (the functions); the agent's server threads. Not the stepping thread, not ONNX Runtime's.
REQUEST_THREADS = ("vert.x-eventloo", "executor-thread", "vert.x-worker-t", "unmask-http", "qtp", "HttpServer")


def refusals(args, server):
    """The CPU one 429 costs the server: fill the batch and the queue with long requests that keep it full, then
    --refusal-clients clients send completions back to back for --refusal-seconds, each on a new connection (so that
    no per-connection pacing applies); request-thread CPU over the burst / refusals."""
    fillers, stop = [], threading.Event()
    body = completion_body(args, 0, prompt="Once upon a time")
    # an infill denoises every step (no early exit): 256 steps hold each place for many seconds
    long_body = json.dumps({"model": args.model, "prompt": "a", "suffix": "b", "max_tokens": 256,
                            "block_length": 256, "steps": 256}).encode()

    def fill(_):
        try:
            s = socket.create_connection((args.host, args.port), timeout=5)
            s.sendall(raw_request(args, server, long_body))
            fillers.append(s)  # held open: the request runs (or waits) until the socket closes
        except OSError:
            pass

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(fill, range(args.refusal_fill)))
    time.sleep(2)
    tally = Tally()
    cpu0, req0 = server.cpu_seconds(), server.thread_cpu_seconds(REQUEST_THREADS)
    deadline = time.monotonic() + args.refusal_seconds

    def client(i):
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(args.host, args.port, timeout=30)
                h = dict(server.headers(), Connection="close")
                conn.request("POST", "/v1/completions", body, h)
                r = conn.getresponse()
                r.read()
                tally.add(r.status)
                conn.close()
            except (OSError, http.client.HTTPException) as e:
                tally.add(type(e).__name__)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.refusal_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    cpu = server.cpu_seconds() - cpu0
    req = server.thread_cpu_seconds(REQUEST_THREADS) - req0
    for s in fillers:
        s.close()
    n = tally.statuses.get("429", 0)
    return {"filled_with": len(fillers), "clients": args.refusal_clients, "seconds": round(wall, 1),
            "statuses": tally.statuses, "refusals_per_s": round(n / wall), "request_thread_cpu_s": round(req, 2),
            "us_per_429_request_threads": round(req / n * 1e6) if n else None,
            "us_per_429_whole_process": round(cpu / n * 1e6) if n else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's process id (RSS, threads, CPU from /proc)")
    ap.add_argument("--health", default="/health", help="health path: /health (agent), /q/health/ready (functions)")
    ap.add_argument("--model", default="tiny-llada")
    ap.add_argument("--key", default=None)
    ap.add_argument("--seconds", type=float, default=60, help="per load scenario, at most 60")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--flood-clients", type=int, default=200)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--dropped", type=int, default=30)
    ap.add_argument("--oversize", type=int, default=8)
    ap.add_argument("--oversize-mb", type=int, default=9)
    ap.add_argument("--idle", type=int, default=3000)
    ap.add_argument("--idle-hold", type=float, default=20)
    ap.add_argument("--busy-cap", type=float, default=60, help="longest wait for the CPU to settle after drops")
    ap.add_argument("--refusal-fill", type=int, default=72, help="long requests that fill batch and queue (8 + 64)")
    ap.add_argument("--refusal-clients", type=int, default=8)
    ap.add_argument("--refusal-seconds", type=float, default=10)
    ap.add_argument("--only", default=None, help="comma-separated scenarios to run (default: all)")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("loopback only: --host 127.0.0.1")
    if (not 0 < args.seconds <= 60 or args.flood_clients > 500 or args.idle > 5000 or args.oversize_mb > 16
            or not 0 < args.refusal_seconds <= 60 or args.refusal_clients > 64 or args.refusal_fill > 500):
        raise SystemExit("bounded runs only: --seconds in (0, 60], --flood-clients <= 500, --idle <= 5000, "
                         "--oversize-mb <= 16, --refusal-seconds in (0, 60], --refusal-clients <= 64, "
                         "--refusal-fill <= 500")
    server = Server(args)
    if not server.alive() or not server.healthy():
        raise SystemExit(f"no healthy server: pid {args.pid}, http://{args.host}:{args.port}{args.health}")
    only = set(args.only.split(",")) if args.only else None
    run = (lambda name: only is None or name in only)

    clients(args, server, 4, 3, True)  # warm-up: the model loads (agent) and the JIT settles
    time.sleep(1)
    baseline_rss, _ = server.status()
    monitor = Monitor(server)
    monitor.start()
    results = {}

    def scenario(name, fn):
        if not run(name):
            return
        monitor.window()
        r = fn()
        peak_rss, peak_threads, down = monitor.window()
        r.update({"scenario": name, "peak_rss_mib": peak_rss, "peak_threads": max(peak_threads,
                  r.get("peak_threads", 0)), "health_down_probes": down, "alive": server.alive()})
        results[name] = r
        print(json.dumps(r), flush=True)

    scenario("steady", lambda: clients(args, server, args.clients, args.seconds, True))
    scenario("flood", lambda: clients(args, server, args.flood_clients, args.seconds, True))
    scenario("flood-raw", lambda: clients(args, server, args.flood_clients, args.seconds, False))
    scenario("streams", lambda: dropped(args, server, args.streams, True))
    scenario("dropped", lambda: dropped(args, server, args.dropped, False))
    scenario("oversize", lambda: oversize(args, server))
    scenario("idle", lambda: idle(args, server))
    if only is not None and "refusals" in only:  # not part of the default run: it measures, it sets no target
        scenario("refusals", lambda: refusals(args, server))

    time.sleep(3)
    final_rss, _ = server.status()
    monitor.stop.set()
    monitor.join()
    fives = sum(v for r in results.values() for k, v in r["statuses"].items() if k.startswith("5"))
    steady = results.get("steady", {}).get("served_per_s")
    ratios = {k: round(results[k]["served_per_s"] / steady, 2) for k in ("flood", "flood-raw")
              if k in results and steady}
    alive = server.alive()
    targets = {
        "no_500s": fives == 0,
        "no_crash": alive,
        "rss_growth_under_200mb": alive and final_rss - baseline_rss < 200,
        "served_at_200_at_least_80pct_of_32": bool(ratios) and min(ratios.values()) >= 0.8,
        "health_stayed_up": monitor.down == 0,
    }
    summary = {"summary": True, "5xx": fives, "alive": alive, "baseline_rss_mib": baseline_rss,
               "final_rss_mib": final_rss, "peak_rss_mib": monitor.peak_rss,
               "rss_growth_mib": final_rss - baseline_rss, "peak_threads": monitor.peak_threads,
               "health_probes": monitor.probes, "health_down": monitor.down,
               "served_per_s_ratio_to_steady": ratios, "targets": targets}
    print(json.dumps(summary), flush=True)
    raise SystemExit(0 if all(targets.values()) else 1)


if __name__ == "__main__":
    main()

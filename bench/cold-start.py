#!/usr/bin/env python3
"""Cold start of the functions (issue 17 §2): process start to ready, and the first token after ready.

Starts `functions/target/quarkus-app/quarkus-run.jar` on 127.0.0.1 with the tiny package, once per run and JVM-flag
variant (variants interleaved, so that the load of a shared machine spreads over all of them alike), and measures:

  listening    process start (just before exec) to the first 200 from /q/health/live (the HTTP server is up)
  ready        process start to the first 200 from /q/health/ready (the package is loaded and warmed: ModelHost)
  CPU          user + system CPU time the JVM had used when it was listening / ready (/proc/<pid>/stat): on a
               machine shared with other jobs the wall times stretch with the load, the CPU time much less
  first token  after ready: a streamed chat completion (max_tokens 16), request sent to the first SSE chunk whose
               delta carries text; "answer" is the whole stream, and its CPU the server's CPU time over it (what
               the first request costs the process, first-use work included, much less stretched by load);
  second       the same request once more, warm: the floor the first request is compared with

Polls every 10 ms, so each figure is late by up to 10 ms plus one loopback round trip. Also reads the process's own
log: Quarkus's "started in" and ModelHost's "Ready: ... loaded and warmed in N ms".

Build first (the appcds variants need Quarkus's archive; the trained ones write their own with one training run,
train_cds; the natives variant extracts ONNX Runtime's library once):
  ./mvnw -pl functions -am package -DskipTests -Dquarkus.package.jar.appcds.enabled=true
  ./mvnw -pl model-packager -am package -DskipTests && <unmask-pack> convert ... (see README: models/tiny-llada/package)

Usage:
  bench/cold-start.py [--runs 10] [--variants default,appcds,appcds+c1] [--package models/tiny-llada/package]
  bench/cold-start.py --runs 10 --variants default,appcds+c1+natives,trained+c1+natives,trained+c1+serial+natives
  bench/cold-start.py --app <other quarkus-app> ...  another build (say, before a change), run by run with this one
  bench/cold-start.py --class-load        one run per variant with -Xlog:class+load: classes loaded, and from where

Python 3 standard library only; loopback only; every wait bounded.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APP = os.path.join(ROOT, "functions/target/quarkus-app")
NATIVES = os.path.join(ROOT, "functions/target/natives-linux-x64")

# written by train_cds: the classes of a whole start, warm-up and first request
TRAINED_CDS = "app-cds-trained.jsa"

# the JVM flags of each variant; "natives" adds -Donnxruntime.native.path (set below) so that ONNX Runtime loads its
# library from a fixed folder instead of copying 22 MB out of the jar into a new temporary folder on every start
VARIANTS = {
    "default": [],
    "appcds": ["-XX:SharedArchiveFile=app-cds.jsa"],
    "c1": ["-XX:TieredStopAtLevel=1"],
    "appcds+c1": ["-XX:SharedArchiveFile=app-cds.jsa", "-XX:TieredStopAtLevel=1"],
    "appcds+c1+natives": ["-XX:SharedArchiveFile=app-cds.jsa", "-XX:TieredStopAtLevel=1", "NATIVES"],
    "appcds+natives": ["-XX:SharedArchiveFile=app-cds.jsa", "NATIVES"],
    "c1+natives": ["-XX:TieredStopAtLevel=1", "NATIVES"],
    # the archive of a training run that served a request (train_cds below), not Quarkus's, which stops at startup
    "trained+c1+natives": ["-XX:SharedArchiveFile=" + TRAINED_CDS, "-XX:TieredStopAtLevel=1", "NATIVES"],
    "trained+c1+serial+natives": ["-XX:SharedArchiveFile=" + TRAINED_CDS, "-XX:TieredStopAtLevel=1",
                                  "-XX:+UseSerialGC", "NATIVES"],
}

POLL_S = 0.01
START_TIMEOUT_S = 300  # a shared 2-core machine at load average 25+ took over 120 s


def get(port, path, timeout=2.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def cpu_ms(pid):
    """User + system CPU time the process has used so far (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def wait_for(port, path, proc, deadline):
    """When path first answered 200, and the CPU time the server had used by then."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before {path} answered 200")
        try:
            if get(port, path) == 200:
                return time.monotonic(), cpu_ms(proc.pid)
        except OSError:
            pass
        time.sleep(POLL_S)
    raise RuntimeError(f"{path} did not answer 200 within {START_TIMEOUT_S} s")


def first_token(port):
    """Seconds from sending a streamed chat completion to its first chunk with text, and to its end."""
    body = json.dumps({
        "model": "tiny-llada",
        "messages": [{"role": "user", "content": "Hello"}],
        "max_tokens": 16,
        "stream": True,
    })
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        t0 = time.monotonic()
        c.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"chat completion: HTTP {r.status}: {r.read()[:300]!r}")
        first = None
        for line in r:
            line = line.strip()
            if not line.startswith(b"data: {"):
                continue
            chunk = json.loads(line[6:])
            for choice in chunk.get("choices", []):
                if first is None and choice.get("delta", {}).get("content"):
                    first = time.monotonic()
        end = time.monotonic()
        if first is None:
            raise RuntimeError("the stream carried no text")
        return first - t0, end - t0
    finally:
        c.close()


def ensure_natives():
    """ONNX Runtime's linux-x64 libraries, extracted once from the app's jar (what the Lambda zip ships at native/)."""
    if os.path.exists(os.path.join(NATIVES, "libonnxruntime4j_jni.so")):
        return
    lib = os.path.join(APP, "lib/main")
    jar = next(os.path.join(lib, f) for f in os.listdir(lib) if re.match(r"com\.microsoft\.onnxruntime\.onnxruntime.*\.jar", f))
    os.makedirs(NATIVES, exist_ok=True)
    with zipfile.ZipFile(jar) as z:
        for name in ("libonnxruntime.so", "libonnxruntime4j_jni.so"):
            with z.open("ai/onnxruntime/native/linux-x64/" + name) as src, open(os.path.join(NATIVES, name), "wb") as dst:
                shutil.copyfileobj(src, dst)


def run_once(flags, package, port, log_path, app=None):
    flags = [("-Donnxruntime.native.path=" + NATIVES) if f == "NATIVES" else f for f in flags]
    cmd = ["java", *flags, "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={port}",
           f"-Dunmask.models.tiny-llada.path={package}", "-jar", "quarkus-run.jar"]
    with open(log_path, "wb") as log:
        t0 = time.monotonic()
        # the AppCDS archive records the class path as built: run from the app folder, as Quarkus did to create it
        proc = subprocess.Popen(cmd, cwd=app or APP, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = t0 + START_TIMEOUT_S
            live, live_cpu = wait_for(port, "/q/health/live", proc, deadline)
            ready, ready_cpu = wait_for(port, "/q/health/ready", proc, deadline)
            before_cpu = cpu_ms(proc.pid)
            tok, answer = first_token(port)
            request_cpu = cpu_ms(proc.pid) - before_cpu
            # the same request again, warm: the floor the first one is compared with
            before_cpu = cpu_ms(proc.pid)
            second_tok, _ = first_token(port)
            second_cpu = cpu_ms(proc.pid) - before_cpu
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = open(log_path, encoding="utf-8", errors="replace").read()
    if "Unable to use shared archive" in text or "An error has occurred while processing the shared archive" in text:
        raise RuntimeError("the AppCDS archive did not load: " + log_path)
    started = re.search(r"started in ([0-9.]+)s", text)
    warmed = re.search(r"loaded and warmed in (\d+) ms", text)
    return {
        "listening_ms": (live - t0) * 1000,
        "ready_ms": (ready - t0) * 1000,
        "listening_cpu_ms": live_cpu,
        "ready_cpu_ms": ready_cpu,
        "first_token_ms": tok * 1000,
        "answer_ms": answer * 1000,
        "request_cpu_ms": request_cpu,
        "second_token_ms": second_tok * 1000,
        "second_cpu_ms": second_cpu,
        "quarkus_started_ms": float(started.group(1)) * 1000 if started else None,
        "load_and_warm_ms": int(warmed.group(1)) if warmed else None,
    }


def train_cds(package, port, app):
    """A dynamic AppCDS archive of everything a start loads up to and through its first request.

    Quarkus's own archive (quarkus.package.jar.appcds.enabled) comes from a training run that exits as soon as the
    application has started, so it misses what loads after: the package's load on its own thread, the warm-up, and
    the request path (about 3 300 of 7 500 classes were still parsed from jars with it). This run starts the app with
    -XX:ArchiveClassesAtExit, waits until ready, sends the same streamed chat as a measured run, and stops it with
    SIGTERM, on which the JVM writes the archive as it exits.
    """
    path = os.path.join(app, TRAINED_CDS)
    if os.path.exists(path):
        os.remove(path)
    log = os.path.join(tempfile.gettempdir(), "unmask-cold-start-train.log")
    run_once(["-XX:ArchiveClassesAtExit=" + path, "NATIVES"], package, port, log, app)
    if not os.path.exists(path):
        sys.exit(f"the training run wrote no {path}: see {log}")
    print(f"trained {path}: {os.path.getsize(path) / 1e6:.1f} MB", flush=True)


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def class_load(variants, package, port):
    for name in variants:
        with tempfile.NamedTemporaryFile(suffix=".log", delete=False) as f:
            log = f.name
        flags = VARIANTS[name] + ["-Xlog:class+load=info:file=" + log + ".classes"]
        run_once(flags, package, port, log)
        lines = open(log + ".classes", encoding="utf-8", errors="replace").read().splitlines()
        shared = sum(1 for l in lines if "shared objects file" in l)
        print(f"{name}: {len(lines)} classes loaded, {shared} from a CDS archive "
              f"(the JDK's or the app's), {len(lines) - shared} parsed from jars")


def main():
    global APP
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--variants", default="default,appcds,appcds+c1,appcds+c1+natives")
    ap.add_argument("--package", default=os.path.join(ROOT, "models/tiny-llada/package"))
    ap.add_argument("--port", type=int, default=18083)
    ap.add_argument("--class-load", action="store_true")
    ap.add_argument("--train-cds", action="store_true",
                    help="write app-cds-trained.jsa again even if it exists (after a rebuild: an archive of other jars "
                         "is refused)")
    ap.add_argument("--json", help="write every run's figures here")
    ap.add_argument("--app", default=APP, help="the quarkus-app folder (default: functions/target/quarkus-app)")
    ap.add_argument("--before", help="a second quarkus-app folder (the build before a change): variants named "
                                     "before:<variant> run from it, interleaved with the others run by run")
    args = ap.parse_args()
    # the servers run with the app folder as their working directory: a relative package path would not resolve there
    args.package = os.path.abspath(args.package)
    APP = os.path.abspath(args.app)
    variants = args.variants.split(",")
    apps = {"": APP, "before:": os.path.abspath(args.before) if args.before else None}

    def split(v):
        """('before:', 'default') for before:default; ('', v) otherwise."""
        return ("before:", v[len("before:"):]) if v.startswith("before:") else ("", v)

    for v in variants:
        where, name = split(v)
        app = apps[where]
        if name not in VARIANTS:
            sys.exit(f"unknown variant {v}: one of {', '.join(VARIANTS)} (before:<one of them> with --before)")
        if app is None:
            sys.exit(f"variant {v} needs --before <quarkus-app folder>")
        if not os.path.exists(os.path.join(app, "quarkus-run.jar")):
            sys.exit(f"no {app}/quarkus-run.jar: ./mvnw -pl functions -am package -DskipTests "
                     "-Dquarkus.package.jar.appcds.enabled=true")
        if "-XX:SharedArchiveFile=app-cds.jsa" in VARIANTS[name] and not os.path.exists(os.path.join(app, "app-cds.jsa")):
            sys.exit(f"no {app}/app-cds.jsa: build with -Dquarkus.package.jar.appcds.enabled=true")
    if not os.path.exists(os.path.join(args.package, "manifest.json")):
        sys.exit(f"no package at {args.package} (manifest.json): convert models/tiny-llada first (README)")
    if any("NATIVES" in VARIANTS[split(v)[1]] for v in variants) or args.train_cds:
        ensure_natives()
    trained = set()
    for v in variants:
        where, name = split(v)
        app = apps[where]
        if any(TRAINED_CDS in f for f in VARIANTS[name]) and app not in trained and (
                args.train_cds or not os.path.exists(os.path.join(app, TRAINED_CDS))):
            train_cds(args.package, args.port, app)
            trained.add(app)
    if args.class_load:
        class_load(variants, args.package, args.port)
        return

    results = {v: [] for v in variants}
    log = os.path.join(tempfile.gettempdir(), "unmask-cold-start.log")
    for run in range(1, args.runs + 1):
        for v in variants:
            where, name = split(v)
            r = run_once(VARIANTS[name], args.package, args.port, log, apps[where])
            results[v].append(r)
            print(f"run {run:2d} {v:18s} listening {r['listening_ms']:6.0f} ms  ready {r['ready_ms']:6.0f} ms  "
                  f"(CPU {r['listening_cpu_ms']:.0f} / {r['ready_cpu_ms']:.0f} ms)  "
                  f"first token {r['first_token_ms']:5.0f} ms  answer {r['answer_ms']:5.0f} ms "
                  f"(CPU {r['request_cpu_ms']:.0f} ms)  second {r['second_token_ms']:5.0f} ms "
                  f"(CPU {r['second_cpu_ms']:.0f} ms)  "
                  f"(log: started {r['quarkus_started_ms']} ms, load+warm {r['load_and_warm_ms']} ms)  "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
    print()
    print(f"median (min–max) over {args.runs} runs, ms; load average at the end: {os.getloadavg()[0]:.1f}")
    print("| variant | listening | ready | CPU to listening | CPU to ready | first token after ready | whole answer (16 tokens) | CPU of the first answer | second request: first token / CPU | Quarkus 'started in' | load + warm-up (log) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for v in variants:
        rs = results[v]
        print(f"| {v} | {summary([r['listening_ms'] for r in rs])} | {summary([r['ready_ms'] for r in rs])} | "
              f"{summary([r['listening_cpu_ms'] for r in rs])} | {summary([r['ready_cpu_ms'] for r in rs])} | "
              f"{summary([r['first_token_ms'] for r in rs])} | {summary([r['answer_ms'] for r in rs])} | "
              f"{summary([r['request_cpu_ms'] for r in rs])} | "
              f"{summary([r.get('second_token_ms') for r in rs])} / {summary([r.get('second_cpu_ms') for r in rs])} | "
              f"{summary([r['quarkus_started_ms'] for r in rs])} | {summary([r['load_and_warm_ms'] for r in rs])} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

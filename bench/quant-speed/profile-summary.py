#!/usr/bin/env python3
"""Sums an ONNX Runtime profile (the JSON trace of SessionOptions.enableProfiling) by operator type.

Usage: profile-summary.py <profile.json> [forwards]   — prints ms per forward by op_name, largest first, with the
share of all node time; `forwards` divides the totals (default: the number of model_run events).
"""
import collections, json, sys

events = json.load(open(sys.argv[1]))
runs = sum(1 for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
forwards = int(sys.argv[2]) if len(sys.argv) > 2 else max(runs, 1)
by_op = collections.Counter()
count = collections.Counter()
for e in events:
    if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
        op = e.get("args", {}).get("op_name", "?")
        by_op[op] += e["dur"]
        count[op] += 1
total = sum(by_op.values())
print(f"{runs} model_run events; per forward over {forwards}; node time {total / forwards / 1000:.1f} ms")
for op, us in by_op.most_common():
    print(f"{op:28s} {us / forwards / 1000:8.2f} ms  {100 * us / total:5.1f} %  {count[op] // forwards:4d} nodes")

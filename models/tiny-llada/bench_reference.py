#!/usr/bin/env python3
"""Time LLaDA's reference decoding (generate.py's loop, PyTorch, fp32) on the tiny-llada checkpoint.

The baseline that `unmask bench` is compared with in docs/benchmarks.md: same weights, same canvas
(prompt + gen_length masks), same steps and block length, same thread count. Uses train.py's own
forward, so what is timed is exactly the model the golden fixtures come from.

Usage:  python3 bench_reference.py [--gen-length 64 --steps 64 --block-length 32 --threads 2 --runs 5]
Prints one JSON line: tokens/s, steps/s, ms per step (median of --runs after one warm-up run).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402  (the model and generate() the fixtures were made with)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=here)
    ap.add_argument("--prompt", default="def fibonacci(n):\n")
    ap.add_argument("--gen-length", type=int, default=64)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--block-length", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with open(os.path.join(args.checkpoint, "config.json")) as f:
        cfg = json.load(f)
    model = train.LLaDAModelLM(cfg)
    model.load_state_dict({k: v.float() for k, v in load_file(os.path.join(args.checkpoint, "model.safetensors")).items()})
    model.eval()
    tok = Tokenizer.from_file(os.path.join(args.checkpoint, "tokenizer.json"))
    ids = tok.encode(args.prompt).ids
    x = torch.tensor([ids + [train.MASK] * args.gen_length])

    def once():
        start = time.perf_counter()
        out, _ = train.generate(model, x, len(ids), args.gen_length, args.steps, args.block_length)
        return time.perf_counter() - start, out

    once()  # warm-up
    seconds = sorted(once()[0] for _ in range(args.runs))
    median_s = statistics.median(seconds)
    print(json.dumps({
        "engine": "pytorch-reference", "torch": torch.__version__, "threads": args.threads,
        "prompt_tokens": len(ids), "gen_length": args.gen_length, "steps": args.steps,
        "block_length": args.block_length, "runs": args.runs,
        "median_s": round(median_s, 4), "tokens_per_s": round(args.gen_length / median_s, 1),
        "steps_per_s": round(args.steps / median_s, 1), "ms_per_step": round(1000 * median_s / args.steps, 2),
    }))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Check that the fixture generator's _sample with torch's own RNG (Dream's literal torch.rand /
torch.multinomial lines) and with the explicit uniform stream agree where neither draws: the top-k algs
(maskgit_plus, topk_margin, entropy) at alg_temp 0 and temperature 0. Exits 1 on any difference.

Usage:  python3 check_sampler.py [DIR]     (DIR holds model.safetensors; default: this folder)
"""
import sys

import torch

import fixtures
import train


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else train.HERE
    model, tok = train.load_model(out), train.load_tokenizer()
    failures = 0
    # two different prompts, lengths and step counts from the fixture list (fib: 32 in 32; Stack: 32 in 16)
    cases = [(p, n, s) for name, p, n, s, _, _, _ in fixtures.GENERATION_CASES
             if name in ("fib_maskgit_plus", "stack_entropy_16_steps")]
    for prompt, gen_length, steps in cases:
        ids = tok.encode(prompt).ids
        x = torch.tensor([ids + [train.MASK] * gen_length])
        for alg in ("maskgit_plus", "topk_margin", "entropy"):
            torch.manual_seed(0)
            a, trace_a = fixtures.sample(model, x, steps, alg, 0.0, torch_rng=True)
            b, trace_b = fixtures.sample(model, x, steps, alg, 0.0, stream=fixtures.UniformStream(0))
            drew = any(step.get("uniforms") for step in trace_b)
            same = torch.equal(a, b) and [s["committed"] for s in trace_a] == [s["committed"] for s in trace_b]
            print(f"{alg:13s} {prompt!r:40s} steps {steps}: {'same' if same and not drew else 'DIFFERENT'}"
                  f"{' (the stream drew)' if drew else ''}")
            failures += (not same) or drew
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

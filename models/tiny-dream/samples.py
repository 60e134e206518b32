#!/usr/bin/env python3
"""The model card's samples: Dream's default alg (origin, from generation_config.json), temperature 0 and 1,
48 new tokens in 48 steps, torch's RNG seeded 0 for the draws. Usage: python3 samples.py [DIR]"""
import sys

import torch

import fixtures
import train

PROMPTS = ["def fibonacci(n):\n", "import os\nimport ", "class Stack:\n    def push(self, item):\n"]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else train.HERE
    model, tok = train.load_model(out), train.load_tokenizer()
    for prompt in PROMPTS:
        for temperature in (0.0, 1.0):
            for alg in ("origin", "entropy"):
                torch.manual_seed(0)
                ids = tok.encode(prompt).ids
                x = torch.tensor([ids + [train.MASK] * 48])
                y, _ = fixtures.sample(model, x, 48, alg, None, torch_rng=True, temperature=temperature)
                text = tok.decode(y[0, len(ids):].tolist(), skip_special_tokens=True)
                print(f"| `{prompt!r}` | {alg} | {temperature} | `{text!r}` |")


if __name__ == "__main__":
    main()

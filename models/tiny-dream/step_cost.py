#!/usr/bin/env python3
"""CPU-seconds per training step (batch 16 x 256, forward + backward + AdamW, one thread) of tiny-llada's and
tiny-dream's models on this machine, interleaved so that both see the same load. For the model card: it
tells whether a difference in steps per CPU-minute comes from the architecture or from the machine.
Usage: python3 step_cost.py [rounds]"""
import importlib.util
import os
import sys
import time

import torch

import train as dream

spec = importlib.util.spec_from_file_location("llada_train", os.path.join(dream.LLADA_DIR, "train.py"))
llada = importlib.util.module_from_spec(spec)
spec.loader.exec_module(llada)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randint(6, 4096, (16, 256))
    gen = torch.Generator().manual_seed(0)
    lcfg = dict(d_model=256, n_layers=6, n_heads=8, n_kv_heads=2, mlp_hidden_size=704, rms_norm_eps=1e-5,
                rope_theta=10000.0, embedding_size=4096)
    models = {"tiny-llada": llada.LLaDAModelLM(lcfg), "tiny-dream": dream.DreamModel(dream.CONFIG)}
    losses = {"tiny-llada": lambda m: llada.masked_diffusion_loss(m, x, gen)[0],
              "tiny-dream": lambda m: dream.masked_diffusion_loss(m, x, gen)[0]}
    opts = {k: torch.optim.AdamW(m.parameters(), lr=1e-4) for k, m in models.items()}
    spent = {k: [] for k in models}
    for r in range(rounds + 1):
        for k, m in models.items():
            c = time.process_time()
            loss = losses[k](m)
            opts[k].zero_grad()
            loss.backward()
            opts[k].step()
            if r > 0:  # round 0 warms up
                spent[k].append(time.process_time() - c)
    for k, v in spent.items():
        v = sorted(v)
        print(f"{k}: median {v[len(v) // 2]:.2f} CPU-s/step over {len(v)} steps (min {v[0]:.2f}, max {v[-1]:.2f})")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Print the model card's held-out table: tiny-dream's rows beside tiny-llada's at equal CPU time.

tiny-dream's rows were taken at tiny-llada's row times (train.py takes them there), so each tiny-dream row
is paired with the tiny-llada row whose training time is nearest (within 60 s).

Usage:  python3 compare.py [tiny-dream training_log.json]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "training_log.json")
    with open(path) as f:
        dream = json.load(f)
    with open(os.path.join(HERE, "..", "tiny-llada", "training_log.json")) as f:
        llada = json.load(f)["held_out"]
    ts = ("t=0.25", "t=0.5", "t=0.75")
    print("| CPU-min | tiny-dream step (phase) | dream t=0.25 | t=0.5 | t=0.75 | dream next-token CE "
          "| tiny-llada step | llada t=0.25 | t=0.5 | t=0.75 |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in dream["held_out"]:
        near = min(llada, key=lambda r: abs(r["elapsed_s"] - row["cpu_s"]))
        paired = abs(near["elapsed_s"] - row["cpu_s"]) <= 60
        cells = [f"{row['cpu_s'] / 60:.1f}", f"{row['step']} ({row['phase']})",
                 *[f"{row[t]:.3f}" for t in ts], f"{row['next_token_ce']:.3f}" if "next_token_ce" in row else ""]
        cells += [str(near["step"]), *[f"{near[t]:.3f}" for t in ts]] if paired else ["", "", "", ""]
        print("| " + " | ".join(cells) + " |")
    if "final_held_out_bf16" in dream:
        print(f"\nbf16 weights as shipped: {dream['final_held_out_bf16']}; "
              f"{dream['steps_total']} steps ({dream['ar_steps']} autoregressive), "
              f"{dream['train_cpu_seconds'] / 60:.1f} CPU-min, {dream['train_wall_seconds'] / 60:.1f} wall-min")


if __name__ == "__main__":
    main()

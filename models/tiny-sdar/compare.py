#!/usr/bin/env python3
"""The model card's comparison of our three reference models on the same held-out prompts, greedy, with
threshold decoding, from each model's own PyTorch forward (the bf16 checkpoints upcast to fp32):

  tiny-sdar   SDAR's block_diffusion_generate (fixtures.py), block 4, low_confidence_dynamic
  tiny-llada  Fast-dLLM's threshold rule over LLaDA's semi-autoregressive blocks (block 4 and block 32):
  tiny-dream  each step one forward over the whole canvas; in the current block, every masked position whose
              top probability is above the threshold is committed, and at least the best one (Dream with the
              logit shift)

It prints, per model and threshold, the tokens committed per forward over all prompts and every output.
No stop tokens: every run decodes all GEN tokens, so the counts compare like with like.

Usage:  python3 compare.py [--gen 64] [--thresholds 0.85,0.5]      (CPU, one thread; a few CPU-minutes)
"""
import argparse
import importlib.util
import json
import os

import torch

import fixtures
import train

HERE = train.HERE


def load_module(folder, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "..", folder, "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def llada():
    m = load_module("tiny-llada", "tiny_llada_train")
    from safetensors.torch import load_file
    with open(os.path.join(HERE, "..", "tiny-llada", "config.json")) as f:
        cfg = json.load(f)
    model = m.LLaDAModelLM(cfg)
    state = load_file(os.path.join(HERE, "..", "tiny-llada", "model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    tok = m.Tokenizer.from_file(os.path.join(HERE, "..", "tiny-llada", "tokenizer.json"))
    # LLaDA's tokenizer prepends <|startoftext|> (its post-processor); the canvas is [BOS] + prompt as LLaDA runs it
    return model.eval(), tok, m.MASK, lambda x: model(x)


def dream():
    m = load_module("tiny-dream", "tiny_dream_train")
    model = m.load_model(os.path.join(HERE, "..", "tiny-dream"))
    return model, m.load_tokenizer(), m.MASK, lambda x: m.shift_logits(model(x))


@torch.no_grad()
def threshold_decode(predict, mask_id, prompt_ids, gen, block, threshold):
    """Fast-dLLM's parallel decoding on a bidirectional model: blocks of `block` tokens from the end of the prompt;
    each step one forward over the whole canvas; commit every masked position of the block whose greedy
    probability is above the threshold, at least the best one. Returns (generated ids, forwards)."""
    x = torch.tensor([prompt_ids + [mask_id] * gen])
    start = len(prompt_ids)
    forwards = 0
    for s in range(start, start + gen, block):
        e = min(s + block, start + gen)
        while bool((x[0, s:e] == mask_id).any()):
            logits = predict(x)[0, s:e]
            forwards += 1
            x0, p = fixtures.greedy(logits)
            masked = x[0, s:e] == mask_id
            conf = torch.where(masked, p, torch.tensor(-1.0))
            chosen = (conf > threshold).nonzero().flatten().tolist() or [int(conf.argmax())]
            for j in chosen:
                x[0, s + j] = x0[j]
    return x[0, start:].tolist(), forwards


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--thresholds", default="0.85,0.5")
    ap.add_argument("--blocks", default="32", help="block lengths for tiny-llada and tiny-dream (Fast-dLLM: 32)")
    ap.add_argument("--models", default="sdar,llada,dream")
    args = ap.parse_args()
    torch.set_num_threads(1)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    prompts = [(name, prompt) for name, _, prompt in fixtures.HELD_OUT_PROMPTS]

    models = args.models.split(",")
    blocks = [int(b) for b in args.blocks.split(",")]
    sdar, sdar_tok = train.load_model(HERE), train.load_tokenizer()
    others = []
    if "llada" in models:
        others.append(("tiny-llada",) + llada()[1:])
    if "dream" in models:
        others.append(("tiny-dream",) + dream()[1:])

    rows = []
    for threshold in thresholds:
        runs = {}
        for name, prompt in prompts:
            if "sdar" in models:
                ids = sdar_tok.encode(prompt).ids
                out, trace, info = fixtures.block_diffusion_generate(
                    sdar, ids, args.gen, train.BLOCK_SIZE, train.BLOCK_SIZE, "low_confidence_dynamic", threshold,
                    stop_ids=None, use_cache=True)
                gen_ids = out[0, len(ids):len(ids) + args.gen].tolist()
                runs.setdefault("tiny-sdar (block 4)", []).append(
                    (name, sdar_tok.decode(gen_ids), args.gen, len(trace)))
            for label, tok, mask, predict in others:
                pids = tok.encode(prompt).ids  # tiny-llada's post-processor prepends BOS, Dream's adds nothing
                for block in blocks:
                    gen_ids, forwards = threshold_decode(predict, mask, pids, args.gen, block, threshold)
                    runs.setdefault(f"{label} (block {block})", []).append(
                        (name, tok.decode(gen_ids, skip_special_tokens=True), args.gen, forwards))
        for model, results in runs.items():
            tokens = sum(r[2] for r in results)
            forwards = sum(r[3] for r in results)
            rows.append((threshold, model, round(tokens / forwards, 3)))
            print(f"threshold {threshold} {model}: {tokens} tokens in {forwards} denoising forwards = "
                  f"{tokens / forwards:.2f} tokens per forward", flush=True)
            for name, text, _, f in results:
                print(f"    {name} ({f} forwards): {text!r}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()

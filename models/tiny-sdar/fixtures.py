#!/usr/bin/env python3
"""Golden fixtures for tiny-sdar, from an independent float32 PyTorch forward (train.py's SDARForCausalLM, written
from SDAR's modeling_sdar.py, not from our ONNX graph) of the bf16 checkpoint upcast to fp32.

  fixtures/forward.json     full-canvas forwards under the block-causal mask: top-5 ids, natural-log
                            probabilities, raw logits and logsumexp at chosen positions (no logit shift)
  fixtures/generation.json  SDAR's block_diffusion_generate (generate.py), greedy, every step's commits, run
                            twice: with the key/value cache as SDAR runs it and with none (whole canvas every
                            step); the two must give the same tokens, and the script fails if they do not

Run alone on existing weights:  python3 fixtures.py [DIR]   (or train.py --fixtures-only --out DIR)

What was mirrored (JetAstra/SDAR generate.py, block_diffusion_generate):
  num_blocks = ceil((prompt_length + gen_length) / block_length); total_length = num_blocks * block_length
  the canvas is x = [prompt, MASK...] of total_length; blocks are aligned to multiples of block_length from
  position 0, so the prompt's last partial block is the first decoded block (its prompt tokens stay fixed)
  prefill: the prompt's whole blocks in one forward under the block-causal mask, K/V stored
  per block b: for step in range(denoising_steps + 1):
      no mask left in the block -> one more forward over the finished block with store_kv (commit), next block
      else: logits = model(block, past = committed blocks); x0, x0_p = argmax / its softmax probability
            (greedy: generate.py samples with torch.multinomial at temperature > 0; the fixtures take the
            argmax and its probability, which is what temperature -> 0 gives)
            num_transfer_tokens = get_num_transfer_tokens(block_length, denoising_steps)[step]
            low_confidence_static:  the num_transfer_tokens masked positions of highest confidence
            low_confidence_dynamic: every masked position with confidence > threshold if there are at least
                                    num_transfer_tokens of them, else the num_transfer_tokens highest
  after each block: stop if any stopping id occurs in x[:, prompt_length:] (the rest stays MASK)
Every case uses denoising_steps = block_length (SDAR's default: 4 and 4), so num_transfer_tokens is 1 at every
step and never exceeds the masked count; generate.py's topk over -inf confidences (which would rewrite an
already committed token when steps < block_length and a threshold step committed more) cannot occur.
"""
import json
import os

import torch
import torch.nn.functional as F

import train
from train import BLOCK_SIZE, EOS, IM_END, MASK, block_causal_mask

# Forward inputs (no logit shift in SDAR: row i is the model's prediction for position i). Canvases as decoding
# sees them: clean earlier blocks, a partly masked current block, fully masked later blocks.
FORWARD_CASES = [
    ("def_body_last_block", "def add(a, b):\n    return a + b\n", "last block", None),
    ("import_two_blocks", "import os\nimport sys\n\n\ndef main():\n    print(sys.argv)\n", [9, 10, 12, 13, 14, 15], None),
    ("class_tail_masked", "class Stack:\n    def __init__(self):\n        self.items = []\n", "from 8", None),
    ("first_block", "for i in range(10):\n    print(i)\n", [0, 1, 3], None),
]

# Held-out prompts: openings of files in tiny-llada's held-out split (sha256(relpath) % 10 == 0), never trained on.
HELD_OUT_PROMPTS = [
    ("safe_repr", "unittest/util.py", "def safe_repr(obj, short=False):\n    try:\n"),
    ("total_ordering", "functools.py", "def total_ordering(cls):\n    \"\"\"Class decorator that fills in missing ordering methods\"\"\"\n"),
    ("topological_sorter", "graphlib.py", "class TopologicalSorter:\n    \"\"\"Provides functionality to topologically sort a graph of hashable nodes\"\"\"\n\n    def __init__(self, graph=None):\n"),
    ("fibonacci", None, "def fibonacci(n):\n"),
]
# strategy, threshold
STRATEGIES = [("low_confidence_static", None), ("low_confidence_dynamic", 0.85), ("low_confidence_dynamic", 0.5)]
GEN_LENGTH = 32
STOP_IDS = [IM_END, EOS]  # generation_config.json's eos_token_id


def forward_canvas(model, ids):
    """Whole canvas, no cache, block-causal mask: logits [n, V] (float32)."""
    x = torch.tensor([ids])
    n = len(ids)
    logits, _ = model(x, torch.arange(n)[None], block_causal_mask(n, BLOCK_SIZE))
    return logits[0].float()


@torch.no_grad()
def forward_fixture(model, tok):
    cases = []
    for name, text, which, _ in FORWARD_CASES:
        ids = tok.encode(text).ids
        n = len(ids)
        if which == "last block":
            positions = list(range((n - 1) // BLOCK_SIZE * BLOCK_SIZE, n))
        elif isinstance(which, str) and which.startswith("from "):
            positions = list(range(int(which[5:]), n))
        else:
            positions = [p for p in which if p < n]
        x = list(ids)
        for p in positions:
            x[p] = MASK
        logits = forward_canvas(model, x)  # [n, V]
        lse = torch.logsumexp(logits, dim=-1)
        logp = logits - lse[:, None]
        top = torch.topk(logp[positions], k=5, dim=-1)
        cases.append({"name": name, "text": text, "input_ids": x, "position_ids": list(range(n)),
                      "masked_positions": positions, "original_ids": [ids[p] for p in positions],
                      "top5_ids": top.indices.tolist(),
                      "top5_logprobs": [[round(v, 6) for v in row] for row in top.values.tolist()],
                      "top5_logits": [[round(float(logits[p, i]), 6) for i in row]
                                      for p, row in zip(positions, top.indices.tolist())],
                      "logsumexp": [round(float(lse[p]), 6) for p in positions]})
    return {"description": "fp32 forward of the bf16 checkpoint (train.py SDARForCausalLM, written from SDAR's "
                           "modeling_sdar.py) over the whole canvas under the block-causal mask (query q reads key "
                           "k iff k // block_size <= q // block_size), position_ids 0..n-1, no cache; at each "
                           "masked position the top-5 token ids, natural-log probabilities, raw logits and the "
                           "logsumexp of the raw logits. No logit shift: row i predicts position i.",
            "logits_shift": False, "block_size": BLOCK_SIZE, "mask_token_id": MASK, "cases": cases}


def greedy(logits):
    """logits [S, V] -> (x0 [S], x0_p [S]): argmax and its softmax probability, float32."""
    probs = torch.softmax(logits.float(), dim=-1)
    x0_p, x0 = probs.max(dim=-1)
    return x0, x0_p


def num_transfer_tokens(block_length, steps):
    """generate.py's get_num_transfer_tokens."""
    base, remainder = divmod(block_length, steps)
    counts = [base] * steps
    for i in range(remainder):
        counts[i] += 1
    return counts


@torch.no_grad()
def block_diffusion_generate(model, prompt_ids, gen_length, block_length, denoising_steps, strategy,
                             threshold=None, stop_ids=None, use_cache=True):
    """SDAR's block_diffusion_generate for batch 1, greedy. use_cache=False runs the whole canvas under the
    block-causal mask at every denoising step instead (no prefill, no commit forwards). Returns (x, trace, info)."""
    prompt_length = len(prompt_ids)
    num_blocks = (prompt_length + gen_length + block_length - 1) // block_length
    total_length = num_blocks * block_length
    x = torch.full((1, total_length), MASK, dtype=torch.long)
    x[0, :prompt_length] = torch.tensor(prompt_ids)
    prefill_blocks = prompt_length // block_length
    prefill_length = prefill_blocks * block_length
    past = None  # per layer (k, v) [1, KV, P, hd] of the committed blocks
    forwards = 0
    full_mask = block_causal_mask(total_length, block_length)

    def commit(tokens, start):
        nonlocal past, forwards
        s = tokens.shape[1]
        allowed = block_causal_mask(s, block_length) if start == 0 else torch.ones(1, 1, s, start + s, dtype=torch.bool)
        _, presents = model(tokens, torch.arange(start, start + s)[None], allowed, past)
        past = presents if past is None else [(torch.cat([pk, k], 2), torch.cat([pv, v], 2))
                                              for (pk, pv), (k, v) in zip(past, presents)]
        forwards += 1

    if use_cache and prefill_length > 0:
        commit(x[:, :prefill_length], 0)
    counts = num_transfer_tokens(block_length, denoising_steps)
    trace = []
    for b in range(prefill_blocks, num_blocks):
        s, e = b * block_length, (b + 1) * block_length
        cur_x = x[:, s:e].clone()
        for step in range(denoising_steps + 1):
            mask_index = cur_x[0] == MASK
            if int(mask_index.sum()) == 0:
                if use_cache:
                    commit(cur_x, s)  # store the finished block's K/V
                break
            if use_cache:
                # the block attends to every committed key and, bidirectionally, to itself
                allowed = torch.ones(1, 1, block_length, s + block_length, dtype=torch.bool)
                logits, _ = model(cur_x, torch.arange(s, e)[None], allowed, past)
                logits = logits[0]
            else:
                canvas = x.clone()
                canvas[:, s:e] = cur_x
                logits, _ = model(canvas, torch.arange(total_length)[None], full_mask)
                logits = logits[0, s:e]
            forwards += 1
            x0, x0_p = greedy(logits)
            k = counts[step]
            confidence = torch.where(mask_index, x0_p, torch.tensor(-torch.inf))
            if strategy == "low_confidence_static":
                chosen = torch.topk(confidence, k).indices.tolist()
            elif strategy == "low_confidence_dynamic":
                high = confidence > threshold
                chosen = high.nonzero().flatten().tolist() if int(high.sum()) >= k else torch.topk(confidence, k).indices.tolist()
            else:
                raise ValueError(strategy)
            assert all(bool(mask_index[j]) for j in chosen), "a committed position was chosen again"
            committed = []
            for j in sorted(chosen):
                cur_x[0, j] = x0[j]
                committed.append({"position": s + j, "token": int(x0[j]), "confidence": float(x0_p[j])})
            trace.append({"block": b, "step": step, "masked_before": int(mask_index.sum()), "transfer_count": k,
                          "committed": committed})
        x[:, s:e] = cur_x
        if stop_ids is not None and any(int(t) in stop_ids for t in x[0, prompt_length:].tolist()):
            break
    decoded_to = e
    return x, trace, {"forwards": forwards, "decoded_to": decoded_to, "num_blocks": num_blocks,
                      "total_length": total_length, "prefill_length": prefill_length}


@torch.no_grad()
def generation_fixture(model, tok):
    cases = []
    for name, source, prompt in HELD_OUT_PROMPTS:
        ids = tok.encode(prompt).ids
        for strategy, threshold in STRATEGIES:
            cached, trace, info = block_diffusion_generate(model, ids, GEN_LENGTH, BLOCK_SIZE, BLOCK_SIZE, strategy,
                                                           threshold, STOP_IDS, use_cache=True)
            plain, trace_plain, info_plain = block_diffusion_generate(model, ids, GEN_LENGTH, BLOCK_SIZE, BLOCK_SIZE,
                                                                      strategy, threshold, STOP_IDS, use_cache=False)
            if not torch.equal(cached, plain):
                raise AssertionError(f"{name}/{strategy}: cached and uncached decoding differ:\n"
                                     f"{cached[0].tolist()}\n{plain[0].tolist()}")
            same_commits = [[(c["position"], c["token"]) for c in s["committed"]] for s in trace] == \
                           [[(c["position"], c["token"]) for c in s["committed"]] for s in trace_plain]
            assert same_commits, f"{name}/{strategy}: the step-by-step commits differ with and without the cache"
            out = cached[0].tolist()
            generated = out[len(ids):info["decoded_to"]]
            denoise_steps = len(trace)
            label = strategy.replace("low_confidence_", "") + ("" if threshold is None else f"_{threshold}")
            cases.append({"name": f"{name}_{label}", "prompt": prompt, "source": source, "prompt_ids": ids,
                          "gen_length": GEN_LENGTH, "block_length": BLOCK_SIZE, "denoising_steps": BLOCK_SIZE,
                          "remasking_strategy": strategy, "confidence_threshold": threshold, "temperature": 0.0,
                          "stopping_ids": STOP_IDS, **info, "forwards_uncached": info_plain["forwards"],
                          "denoising_forwards": denoise_steps,
                          "tokens_per_denoising_step": round(sum(len(s["committed"]) for s in trace) / max(denoise_steps, 1), 4),
                          "trace": trace, "output_ids": out, "generated_ids": generated,
                          "output_text": tok.decode(generated, skip_special_tokens=True)})
    return {"description": "SDAR's block_diffusion_generate (generate.py) on the fp32 forward of the bf16 checkpoint, "
                           "batch 1, greedy (argmax, confidence = its softmax probability in float32), "
                           "denoising_steps = block_length; run with SDAR's key/value cache (prefill of the "
                           "prompt's whole blocks, one commit forward per finished block) and with none (the "
                           "whole canvas under the block-causal mask every step): identical tokens and commits. "
                           "output_ids is the whole canvas (MASK after a stop); generated_ids runs from the end of "
                           "the prompt to the end of the last decoded block. 'forwards' counts the cached run's "
                           "forwards (prefill + denoising steps + commits), 'forwards_uncached' the plain run's.",
            "logits_shift": False, "block_size": BLOCK_SIZE, "mask_token_id": MASK,
            "mirrored": __doc__.split("What was mirrored")[1].strip(), "cases": cases}


def write_fixtures(model, tok, out):
    model = model.eval()
    os.makedirs(os.path.join(out, "fixtures"), exist_ok=True)
    with open(os.path.join(out, "fixtures", "forward.json"), "w") as f:
        json.dump(forward_fixture(model, tok), f, indent=1)
    gen = generation_fixture(model, tok)
    with open(os.path.join(out, "fixtures", "generation.json"), "w") as f:
        json.dump(gen, f, indent=1)
    for c in gen["cases"]:
        print(f"fixture {c['name']}: {c['tokens_per_denoising_step']} tok/step, {c['output_text']!r}", flush=True)


if __name__ == "__main__":
    import sys
    out = sys.argv[1] if len(sys.argv) > 1 else train.HERE
    torch.set_num_threads(1)
    write_fixtures(train.load_model(out), train.load_tokenizer(), out)

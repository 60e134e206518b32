#!/usr/bin/env python3
"""Golden fixtures for tiny-dream, from an independent float32 PyTorch forward (train.py's DreamModel, written
from Dream's modeling_dream.py, not from our ONNX graph) of the bf16 checkpoint upcast to fp32.

  fixtures/forward.json     top-5 ids and natural-log probabilities at masked positions, AFTER the logit shift
  fixtures/generation.json  Dream's _sample (generation_utils.py), every step's draws, commits and confidences

Run alone on existing weights:  python3 train.py --fixtures-only --out DIR
The randomness contract (RANDOMNESS below) is what the Java engine implements too.

What was mirrored (HKUNLP/Dream generation_utils.py, read in the copies NVlabs/Fast-dLLM and
ashukla21/Fast-dLLM dream/model/generation_utils.py, "Modified from Dream repos"; the lines are the same):
  timesteps = torch.linspace(1, eps, steps + 1)
  logits = torch.cat([logits[:,:1], logits[:, :-1]], dim=1)
  origin:   p_transfer = 1 - s / t if i < steps - 1 else 1
            transfer_index_t_s = torch.rand(*x0.shape) < p_transfer ; x0[transfer] = sample_tokens(...)[1]
  top-k:    confidence, x0 = sample_tokens(mask_logits, temperature, top_p, top_k, margin_confidence / neg_entropy)
            num_mask_token = mask_index.sum() / mask_index.shape[0]
            number_transfer_tokens = int(num_mask_token * (1 - s / t)) if i < steps - 1 else int(num_mask_token)
            alg_temp None/0: torch.topk(full_confidence, k); else softmax(full_confidence / alg_temp) -> multinomial(k)
  sample_tokens (temperature 0): probs = softmax(logits); confidence, x0 = probs.max(-1);
            margin: sorted top1 - top2; neg_entropy: sum(probs * log(probs + 1e-10))
"""
import json
import math
import os
import random

import torch
import torch.nn.functional as F

import train
from train import MASK, shift_logits

RANDOMNESS = (
    "torch's RNG is replaced by an explicit stream of uniform doubles u in [0, 1), recorded per step as "
    "'uniforms'. Draws happen only where the alg needs them. origin: one u per still-masked position of the "
    "canvas, in increasing position order; the position is revealed (with its argmax token) iff "
    "u < p_transfer where p_transfer = 1 - s/t computed in float32 and widened to double; on the last step "
    "every masked position is revealed and nothing is drawn. Top-k algs (maskgit_plus, topk_margin, entropy) "
    "with alg_temp > 0: one u per still-masked position in increasing position order; "
    "key_i = log_softmax(confidence / alg_temp)_i - log(-log u_i) (double; the softmax over the still-masked "
    "positions only, which equals Dream's softmax over the whole canvas where unmasked positions are -inf); "
    "the k positions with the largest keys are committed (Gumbel-top-k: the same distribution as "
    "torch.multinomial without replacement). With alg_temp 0 (or None) no draws: the k largest confidences. "
    "Temperature 0: no draws for tokens (argmax). k = int(n_masked * (1 - s/t)) in float32 except on the "
    "last step (all); k may be 0. timesteps = torch.linspace(1, eps, steps + 1) in float32 (recorded per step "
    "as t and s)."
)

# Forward inputs: tiny-llada's texts. Dream's tokenizer adds no BOS, so the ids start at the text; the masked
# positions are tiny-llada's minus one, plus one case that masks position 0 (the shift's edge: position 0
# is predicted from its own logits).
FORWARD_CASES = [
    ("def_body", "def add(a, b):\n    return a + b\n", [4, 5, 6, 8, 9]),
    ("import_block", "import os\nimport sys\n\n\ndef main():\n    print(sys.argv)\n", [1, 2, 3, 7, 11, 12, 13]),
    ("all_masked_tail", "class Stack:\n    def __init__(self):\n        self.items = []\n", list(range(5, 17))),
    ("first_positions", "for i in range(10):\n    print(i)\n", [0, 1, 2, 6]),
]

# name, prompt, gen_length (max_new_tokens), steps, alg, alg_temp, stream seed (draws only where needed)
GENERATION_CASES = [
    ("fib_origin", "def fibonacci(n):\n", 32, 32, "origin", None, 11),
    ("fib_maskgit_plus", "def fibonacci(n):\n", 32, 32, "maskgit_plus", 0.0, None),
    ("fib_topk_margin", "def fibonacci(n):\n", 32, 32, "topk_margin", 0.0, None),
    ("fib_entropy", "def fibonacci(n):\n", 32, 32, "entropy", 0.0, None),
    ("stack_entropy_16_steps", "class Stack:\n    def __init__(self):\n", 32, 16, "entropy", 0.0, None),
    ("import_maskgit_plus_alg_temp", "import os\nimport", 16, 8, "maskgit_plus", 0.5, 12),
    ("import_origin_8_steps", "import os\nimport", 16, 8, "origin", None, 13),
]
# name, prefix, suffix, middle length, steps, alg, alg_temp, seed
INFILL_CASES = [
    ("infill_square_entropy", "def square(x):\n", "\n\ndef cube(x):\n    return x * x * x\n", 16, 16, "entropy", 0.0, None),
    ("infill_square_origin", "def square(x):\n", "\n\ndef cube(x):\n    return x * x * x\n", 16, 16, "origin", None, 14),
]
EPS = 1e-3


def confidences(mask_logits, alg, temperature=0.0):
    """sample_tokens, top_p/top_k None. mask_logits [n, V] float32 -> (confidence [n], x0 [n]).
    temperature > 0 draws tokens from torch's RNG (used for the model card's samples only, not the fixtures)."""
    if temperature > 0:
        mask_logits = mask_logits / temperature
    probs = torch.softmax(mask_logits, dim=-1)
    if temperature > 0:
        x0 = torch.distributions.Categorical(probs=probs).sample()
        confidence = torch.gather(probs, -1, x0.unsqueeze(-1)).squeeze(-1)
    else:
        confidence, x0 = probs.max(dim=-1)
    if alg == "topk_margin":
        sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)
        confidence = sorted_probs[:, 0] - sorted_probs[:, 1]
    elif alg == "entropy":
        confidence = torch.sum(probs * torch.log(probs + 1e-10), dim=-1)
    return confidence, x0


class UniformStream:
    """The explicit randomness: uniform doubles in [0, 1) from Python's Mersenne Twister, recorded."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def draw(self, n):
        return [self.rng.random() for _ in range(n)]


@torch.no_grad()
def sample(model, x, steps, alg, alg_temp=None, eps=EPS, stream=None, torch_rng=False, temperature=0.0):
    """Dream's _sample for batch 1, temperature 0, no padding (attention_mask "full").

    x: [1, L] canvas; whatever is MASK is denoised (prompt + appended masks, or prefix/middle/suffix).
    stream: UniformStream for the explicit contract; torch_rng=True instead runs Dream's own torch.rand /
    torch.multinomial lines (used by check_sampler.py). Returns (x, trace)."""
    x = x.clone()
    timesteps = torch.linspace(1, eps, steps + 1)
    trace = []
    for i in range(steps):
        mask_index = x == MASK  # [1, L]
        logits = shift_logits(model(x))  # [1, L, V]
        mask_logits = logits[mask_index]  # [n, V]
        t, s = timesteps[i], timesteps[i + 1]
        positions = mask_index[0].nonzero().flatten().tolist()  # increasing order
        n = len(positions)
        assert temperature == 0 or torch_rng, "the explicit stream covers temperature 0 only"
        conf, x0 = confidences(mask_logits, "maskgit_plus" if alg == "origin" else alg, temperature)
        step = {"step": i, "t": float(t), "s": float(s), "masked_before": n}
        committed = []
        if alg == "origin":
            p_transfer = (1 - s / t) if i < steps - 1 else torch.tensor(1.0)
            step["p_transfer"] = float(p_transfer)
            if i < steps - 1:
                if torch_rng:
                    reveal = (torch.rand(n) < p_transfer).tolist()
                else:
                    us = stream.draw(n)
                    step["uniforms"] = us
                    reveal = [u < float(p_transfer) for u in us]
            else:
                reveal = [True] * n
                step["uniforms"] = []
            chosen = [j for j in range(n) if reveal[j]]
        else:
            num_mask_token = mask_index.sum() / mask_index.shape[0]
            k = int(num_mask_token * (1 - s / t)) if i < steps - 1 else int(num_mask_token)
            step["transfer_count"] = k
            chosen = []
            if alg_temp is None or alg_temp == 0:
                if k > 0:
                    full = torch.full((x.shape[1],), -torch.inf)
                    full[mask_index[0]] = conf
                    _, idx = torch.topk(full, k)
                    chosen = [positions.index(p) for p in idx.tolist()]
            else:
                if torch_rng:
                    if k > 0:
                        full = torch.full((x.shape[1],), -torch.inf)
                        full[mask_index[0]] = conf
                        idx = torch.multinomial(F.softmax(full / alg_temp, dim=-1), num_samples=k)
                        chosen = [positions.index(p) for p in idx.tolist()]
                else:
                    us = stream.draw(n)
                    step["uniforms"] = us
                    if k > 0:
                        logp = torch.log_softmax(conf.double() / alg_temp, dim=-1).tolist()
                        keys = [logp[j] - math.log(-math.log(us[j])) if us[j] > 0 else -math.inf for j in range(n)]
                        chosen = sorted(range(n), key=lambda j: keys[j], reverse=True)[:k]
        for j in sorted(chosen, key=lambda j: positions[j]):
            p = positions[j]
            x[0, p] = x0[j]
            committed.append({"position": p, "token": int(x0[j]), "confidence": float(conf[j])})
        step["committed"] = committed
        trace.append(step)
    return x, trace


@torch.no_grad()
def forward_fixture(model, tok):
    cases = []
    for name, text, positions in FORWARD_CASES:
        ids = tok.encode(text).ids
        positions = [p for p in positions if p < len(ids)]
        x = torch.tensor([ids])
        x[0, positions] = MASK
        logp = F.log_softmax(shift_logits(model(x))[0].float(), dim=-1)  # [L, V], row i = prediction for i
        top = torch.topk(logp[positions], k=5, dim=-1)
        cases.append({"name": name, "text": text, "input_ids": x[0].tolist(), "masked_positions": positions,
                      "original_ids": [ids[p] for p in positions], "top5_ids": top.indices.tolist(),
                      "top5_logprobs": [[round(v, 6) for v in row] for row in top.values.tolist()]})
    return {"description": "fp32 forward of the bf16 checkpoint (train.py DreamModel, written from Dream's "
                           "modeling_dream.py); top-5 token ids and natural-log probabilities at each masked "
                           "position AFTER the logit shift: row i is what the model predicts for position i, "
                           "taken from the hidden state at i-1 (position 0 from its own)",
            "logits_shift": True, "mask_token_id": MASK, "cases": cases}


def generation_case(model, tok, name, x, gen_start, gen_length, steps, alg, alg_temp, seed, extra):
    stream = UniformStream(seed) if seed is not None else None
    if stream is None and (alg == "origin" or (alg_temp or 0) > 0):
        raise ValueError(f"{name}: alg {alg} with alg_temp {alg_temp} draws and needs a stream seed")
    out, trace = sample(model, x, steps, alg, alg_temp, stream=stream)
    generated = out[0, gen_start:gen_start + gen_length].tolist()
    return {"name": name, **extra, "input_ids": x[0].tolist(), "gen_start": gen_start, "gen_length": gen_length,
            "steps": steps, "alg": alg, "alg_temp": alg_temp, "eps": EPS, "temperature": 0.0, "top_p": None,
            "top_k": None, "stream_seed": seed, "trace": trace, "output_ids": out[0].tolist(),
            "generated_ids": generated, "output_text": tok.decode(generated, skip_special_tokens=True)}


@torch.no_grad()
def generation_fixture(model, tok):
    cases = []
    for name, prompt, gen_length, steps, alg, alg_temp, seed in GENERATION_CASES:
        ids = tok.encode(prompt).ids
        x = torch.tensor([ids + [MASK] * gen_length])  # F.pad(input_ids, (0, max_length - len), value=mask)
        cases.append(generation_case(model, tok, name, x, len(ids), gen_length, steps, alg, alg_temp, seed,
                                     {"prompt": prompt, "prompt_ids": ids, "max_new_tokens": gen_length}))
    for name, prefix, suffix, middle, steps, alg, alg_temp, seed in INFILL_CASES:
        pre, suf = tok.encode(prefix).ids, tok.encode(suffix).ids
        x = torch.tensor([pre + [MASK] * middle + suf])  # max_length = canvas length: nothing appended
        cases.append(generation_case(model, tok, name, x, len(pre), middle, steps, alg, alg_temp, seed,
                                     {"prefix": prefix, "suffix": suffix, "prefix_ids": pre, "suffix_ids": suf}))
    return {"description": "Dream's _sample (generation_utils.py) on the fp32 forward of the bf16 checkpoint, "
                           "batch 1, temperature 0, top_p/top_k None, no padding; every step's draws, transfer "
                           "count, committed positions (increasing), tokens and confidences (the alg's: max prob, "
                           "top1-top2 margin, or sum p log(p+1e-10); origin records the max prob, which Dream "
                           "computes and discards)",
            "logits_shift": True, "mask_token_id": MASK, "randomness": RANDOMNESS,
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
        print(f"fixture {c['name']}: {c['output_text']!r}", flush=True)


if __name__ == "__main__":
    import sys
    out = sys.argv[1] if len(sys.argv) > 1 else train.HERE
    write_fixtures(train.load_model(out), train.load_tokenizer(), out)

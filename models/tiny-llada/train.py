#!/usr/bin/env python3
"""Train tiny-llada: a small masked-diffusion LM with LLaDA-8B's exact architecture and file layout.

Everything here is reproducible from --seed: the tokenizer, the train/held-out split, the batches,
the initial weights and the masks. The script writes, into --out:

  config.json, generation_config.json        LLaDA's keys (model_type llada, LLaDAModelLM)
  model.safetensors                           LLaDA's tensor names, bf16 as LLaDA ships
  tokenizer.json, tokenizer_config.json       byte-level BPE with LLaDA's special tokens + chat template
  special_tokens_map.json
  training_log.json                           loss curve and held-out masked-token loss over training
  fixtures/forward.json                       top-5 ids and log-probs at masked positions (fp32 forward)
  fixtures/generation.json                    LLaDA reference decoding traces, token by token (incl. infill)

This is a training tool: PyTorch is used here only, never in the product or in CI.

Usage:  python3 train.py [--out DIR] [--steps 1000] [--threads 1] [--seed 1234]
"""
import argparse
import hashlib
import json
import math
import os
import random
import sys
import sysconfig
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

SPECIAL_TOKENS = ["<|startoftext|>", "<|endoftext|>", "<|eot_id|>", "<|mdm_mask|>",
                  "<|start_header_id|>", "<|end_header_id|>"]
BOS, EOS, EOT, MASK = 0, 1, 2, 3  # ids follow the order of SPECIAL_TOKENS (the BPE trainer puts them first)

# LLaDA-8B-Instruct's chat template (Llama-3 style); the tiny model is not instruction-tuned,
# the template is here so that the chat path of the kit is exercised on a real checkpoint.
CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


# ----------------------------------------------------------------------------------------------
# Model: LLaDA's modeling_llada.py, LLaDALlamaBlock, reduced to what inference and training need.
# ----------------------------------------------------------------------------------------------
class RMSLayerNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x):
        dtype = x.dtype
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return x32.to(dtype) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class RotaryEmbedding:
    """NEOX ("half") layout, computed in fp32 as LLaDA does with rope_full_precision."""

    def __init__(self, head_dim, theta):
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))

    def __call__(self, q, k):
        seq_len = q.shape[-2]
        pos = torch.arange(seq_len, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)  # [L, head_dim]
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        qf, kf = q.float(), k.float()
        return ((qf * cos + rotate_half(qf) * sin).to(q.dtype),
                (kf * cos + rotate_half(kf) * sin).to(k.dtype))


class LLaDALlamaBlock(nn.Module):
    def __init__(self, cfg, rope):
        super().__init__()
        d, hd = cfg["d_model"], cfg["d_model"] // cfg["n_heads"]
        self.n_heads, self.n_kv_heads, self.head_dim = cfg["n_heads"], cfg["n_kv_heads"], hd
        self.rope = rope
        self.attn_norm = RMSLayerNorm(d, cfg["rms_norm_eps"])
        self.ff_norm = RMSLayerNorm(d, cfg["rms_norm_eps"])
        self.q_proj = nn.Linear(d, cfg["n_heads"] * hd, bias=False)
        self.k_proj = nn.Linear(d, cfg["n_kv_heads"] * hd, bias=False)
        self.v_proj = nn.Linear(d, cfg["n_kv_heads"] * hd, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_proj = nn.Linear(d, cfg["mlp_hidden_size"], bias=False)  # gate, through SiLU
        self.up_proj = nn.Linear(d, cfg["mlp_hidden_size"], bias=False)
        self.ff_out = nn.Linear(cfg["mlp_hidden_size"], d, bias=False)  # down

    def forward(self, x, key_padding_mask=None):
        b, l, _ = x.shape
        n1 = self.attn_norm(x)
        q = self.q_proj(n1).view(b, l, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(n1).view(b, l, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(n1).view(b, l, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q, k = self.rope(q, k)
        group = self.n_heads // self.n_kv_heads  # query head h reads kv head h // group
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        attn_mask = None
        if key_padding_mask is not None:  # [B, L] True = real token
            attn_mask = key_padding_mask[:, None, None, :]
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=False)  # bidirectional
        att = att.transpose(1, 2).reshape(b, l, -1)
        h = x + self.attn_out(att)
        n2 = self.ff_norm(h)
        return h + self.ff_out(F.silu(self.ff_proj(n2)) * self.up_proj(n2))


class LLaDAModelLM(nn.Module):
    """Module tree chosen so that state_dict() keys are LLaDA's: model.transformer.blocks.N.q_proj.weight ..."""

    def __init__(self, cfg):
        super().__init__()
        rope = RotaryEmbedding(cfg["d_model"] // cfg["n_heads"], cfg["rope_theta"])
        self.model = nn.Module()
        self.model.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(cfg["embedding_size"], cfg["d_model"]),
            blocks=nn.ModuleList([LLaDALlamaBlock(cfg, rope) for _ in range(cfg["n_layers"])]),
            ln_f=RMSLayerNorm(cfg["d_model"], cfg["rms_norm_eps"]),
            ff_out=nn.Linear(cfg["d_model"], cfg["embedding_size"], bias=False),  # untied head
        ))

    def forward(self, input_ids, key_padding_mask=None):
        t = self.model.transformer
        x = t.wte(input_ids)
        for block in t.blocks:
            x = block(x, key_padding_mask)
        return t.ff_out(t.ln_f(x))  # [B, L, vocab] logits, no scaling


def init_weights(model, cfg):
    std = 0.02
    for name, p in model.named_parameters():
        if name.endswith("norm.weight") or name.endswith("ln_f.weight"):
            nn.init.ones_(p)
        elif ".blocks." in name and (name.endswith("attn_out.weight") or name.endswith("ff_out.weight")):
            # residual-branch outputs scaled down with depth (GPT-2/OLMo style) for stable training
            nn.init.normal_(p, std=std / math.sqrt(2 * cfg["n_layers"]))
        else:
            nn.init.normal_(p, std=std)


# ----------------------------------------------------------------------------------------------
# LLaDA's reference decoding (generate.py), generalised to a canvas whose masked region starts at
# gen_start (so that infilling, with a fixed suffix after the masked middle, uses the same loop).
# ----------------------------------------------------------------------------------------------
def add_gumbel_noise(logits, temperature):
    if temperature == 0:
        return logits
    logits = logits.to(torch.float64)
    noise = torch.rand_like(logits, dtype=torch.float64)
    gumbel_noise = (-torch.log(noise)) ** temperature
    return logits.exp() / gumbel_noise


def get_num_transfer_tokens(mask_index, steps):
    mask_num = mask_index.sum(dim=1, keepdim=True)
    base = mask_num // steps
    remainder = mask_num % steps
    num = torch.zeros(mask_num.size(0), steps, dtype=torch.int64) + base
    for i in range(mask_num.size(0)):
        num[i, :remainder[i]] += 1
    return num


@torch.no_grad()
def generate(model, x, gen_start, gen_length, steps, block_length, temperature=0.0, remasking="low_confidence"):
    """x: [1, L] canvas with MASK at [gen_start, gen_start+gen_length). Returns (x, trace)."""
    x = x.clone()
    assert gen_length % block_length == 0
    num_blocks = gen_length // block_length
    assert steps % num_blocks == 0
    steps_per_block = steps // num_blocks
    trace = []
    for b in range(num_blocks):
        lo, hi = gen_start + b * block_length, gen_start + (b + 1) * block_length
        block_mask_index = x[:, lo:hi] == MASK
        num_transfer = get_num_transfer_tokens(block_mask_index, steps_per_block)
        for i in range(steps_per_block):
            mask_index = x == MASK
            logits = model(x)
            x0 = torch.argmax(add_gumbel_noise(logits, temperature), dim=-1)
            if remasking == "low_confidence":
                p = F.softmax(logits, dim=-1)
                x0_p = torch.gather(p, dim=-1, index=x0.unsqueeze(-1)).squeeze(-1)
            else:
                x0_p = torch.rand(x0.shape)
            x0_p[:, hi:] = -math.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, torch.tensor(-math.inf))
            _, select = torch.topk(confidence[0], k=int(num_transfer[0, i]))
            committed = []
            for pos in sorted(select.tolist()):
                x[0, pos] = x0[0, pos]
                committed.append({"position": pos, "token": int(x0[0, pos]), "confidence": float(confidence[0, pos])})
            trace.append({"block": b, "step": i, "committed": committed})
    return x, trace


# ----------------------------------------------------------------------------------------------
# Data: the Python standard library's own source (PSF licence), split into train/held-out by file.
# ----------------------------------------------------------------------------------------------
def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = rel.split(os.sep)
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "test", "tests", "idle_test", "__pycache__"))
        if any(p.startswith("lib2to3") or p == "ensurepip" for p in parts):
            continue
        for f in sorted(filenames):
            if f.endswith(".py"):
                files.append(os.path.join(dirpath, f))
    return root, files


def is_held_out(relpath):
    # 1 file in 10, by a stable hash of its path, so the split never depends on the machine or order.
    return int(hashlib.sha256(relpath.encode()).hexdigest(), 16) % 10 == 0


def read_text(path):
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        return f.read()


def train_tokenizer(texts, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # Like LLaDA's tokenizer, a plain encode starts with <|startoftext|>.
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A", pair="<|startoftext|> $A $B", special_tokens=[("<|startoftext|>", BOS)])
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, (t, tok.token_to_id(t))
    return tok


class Sampler:
    """Windows of seq_len tokens from whole files. A window that runs past the end of its file is
    padded with EOS, as LLaDA's SFT data pads answers, so the model learns to fill a canvas tail with EOS."""

    def __init__(self, docs, seq_len, rng):
        self.docs = [d for d in docs if len(d) > 8]
        self.weights = [len(d) for d in self.docs]
        self.seq_len = seq_len
        self.rng = rng

    def batch(self, batch_size):
        rows = []
        for doc in self.rng.choices(self.docs, weights=self.weights, k=batch_size):
            start = self.rng.randrange(0, max(1, len(doc) - self.seq_len // 2))
            window = doc[start:start + self.seq_len]
            rows.append(window + [EOS] * (self.seq_len - len(window)))
        return torch.tensor(rows, dtype=torch.long)


def masked_diffusion_loss(model, x, gen, eps=1e-3, t=None):
    """LLaDA's pre-training objective: t ~ U(0,1), mask each token with p = (1-eps) t + eps,
    cross-entropy on masked tokens weighted by 1/p, averaged over all B*L positions."""
    b, l = x.shape
    if t is None:
        t = torch.rand(b, generator=gen)
    p_mask = ((1 - eps) * t + eps)[:, None].expand(b, l)
    masked = torch.rand(b, l, generator=gen) < p_mask
    noisy = torch.where(masked, torch.full_like(x, MASK), x)
    logits = model(noisy)
    ce = F.cross_entropy(logits[masked], x[masked], reduction="none")
    weighted = (ce / p_mask[masked]).sum() / (b * l)
    return weighted, ce.sum(), masked.sum()


@torch.no_grad()
def held_out_loss(model, windows, t, seed):
    """Mean cross-entropy (nats/token) over masked tokens at a fixed mask ratio t, fixed masks."""
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), 16):
        x = windows[i:i + 16]
        _, ce_sum, n = masked_diffusion_loss(model, x, gen, t=torch.full((x.shape[0],), t))
        total += float(ce_sum)
        count += int(n)
    model.train()
    return total / max(count, 1)


# ----------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every", type=int, default=125)
    ap.add_argument("--vocab-size", type=int, default=4096)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(os.path.join(args.out, "fixtures"), exist_ok=True)
    started = time.time()

    # ---- data and tokenizer
    root, files = stdlib_files()
    rel = [os.path.relpath(f, root) for f in files]
    train_files = [f for f, r in zip(files, rel) if not is_held_out(r)]
    held_files = [f for f, r in zip(files, rel) if is_held_out(r)]
    print(f"data: {len(train_files)} train files, {len(held_files)} held-out files from {root} (Python {sys.version.split()[0]})", flush=True)
    train_texts = [read_text(f) for f in train_files]
    held_texts = [read_text(f) for f in held_files]
    tok = train_tokenizer(train_texts, args.vocab_size)
    print(f"tokenizer: byte-level BPE, {tok.get_vocab_size()} tokens", flush=True)

    def encode_doc(text):
        return tok.encode(text).ids + [EOS]  # BOS from the post-processor, EOS at the end

    train_docs = [encode_doc(t) for t in train_texts]
    held_docs = [encode_doc(t) for t in held_texts]
    n_train_tokens = sum(map(len, train_docs))
    n_held_tokens = sum(map(len, held_docs))
    print(f"tokens: {n_train_tokens:,} train, {n_held_tokens:,} held-out", flush=True)
    held_rng = random.Random(args.seed + 1)
    held_windows = Sampler(held_docs, args.seq_len, held_rng).batch(128)

    cfg = dict(
        model_type="llada", architectures=["LLaDAModelLM"], block_type="llama", activation_type="silu",
        layer_norm_type="rms", rms_norm_eps=1e-5, rope=True, rope_theta=10000.0, rope_full_precision=True,
        d_model=256, n_layers=6, n_heads=8, n_kv_heads=2, mlp_hidden_size=704, mlp_ratio=2.75,
        vocab_size=tok.get_vocab_size(), embedding_size=args.vocab_size, max_sequence_length=512,
        weight_tying=False, include_bias=False, include_qkv_bias=False, bias_for_layer_norm=False,
        scale_logits=False, input_emb_norm=False, attention_dropout=0.0, residual_dropout=0.0,
        embedding_dropout=0.0, init_std=0.02, mask_token_id=MASK, eos_token_id=EOS, pad_token_id=EOS,
        bos_token_id=BOS, use_cache=False, torch_dtype="bfloat16", transformers_version="4.38.2",
        auto_map={"AutoConfig": "configuration_llada.LLaDAConfig",
                  "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
                  "AutoModel": "modeling_llada.LLaDAModelLM"},
    )
    model = LLaDAModelLM(cfg).to(device)
    init_weights(model, cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters ({cfg['n_layers']} layers, d_model {cfg['d_model']}, "
          f"{cfg['n_heads']} heads / {cfg['n_kv_heads']} kv heads), device {device}, {args.threads} threads", flush=True)

    # ---- training
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = max(1, args.steps // 20)

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    sampler = Sampler(train_docs, args.seq_len, random.Random(args.seed))
    gen = torch.Generator().manual_seed(args.seed)
    log = {"steps": [], "held_out": []}
    t_train = time.time()
    ema = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x = sampler.batch(args.batch_size).to(device)
        loss, _, _ = masked_diffusion_loss(model, x, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_value = loss.item()
        ema = loss_value if ema is None else 0.95 * ema + 0.05 * loss_value
        if step % 10 == 0:
            log["steps"].append({"step": step, "loss": round(loss_value, 4)})
        if step % args.eval_every == 0 or step == args.steps - 1:
            evals = {f"t={t}": round(held_out_loss(model, held_windows, t, args.seed + 2), 4) for t in (0.25, 0.5, 0.75)}
            elapsed = time.time() - t_train
            log["held_out"].append({"step": step, "elapsed_s": round(elapsed, 1), **evals})
            eta = elapsed / (step + 1) * (args.steps - step - 1)
            print(f"step {step:5d}/{args.steps}  loss(ema) {ema:.3f}  held-out CE {evals}  "
                  f"lr {lr_at(step):.2e}  {elapsed/60:.1f} min, eta {eta/60:.1f} min", flush=True)
    train_seconds = time.time() - t_train

    # ---- export in LLaDA's layout, bf16 as LLaDA ships. Everything after this point uses the
    # bf16-rounded weights (upcast to fp32), so fixtures describe exactly the checkpoint on disk.
    model = model.cpu().eval()
    state = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    model.load_state_dict({k: v.float() for k, v in state.items()})

    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": EOS, "mask_token_id": MASK,
                   "steps": 64, "gen_length": 64, "block_length": 32, "temperature": 0.0,
                   "remasking": "low_confidence", "cfg_scale": 0.0, "transformers_version": "4.38.2"}, f, indent=2)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    added = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True} for i, t in enumerate(SPECIAL_TOKENS)}
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"added_tokens_decoder": added, "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "mask_token": "<|mdm_mask|>", "chat_template": CHAT_TEMPLATE,
                   "clean_up_tokenization_spaces": False, "model_max_length": cfg["max_sequence_length"],
                   "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=2)
    with open(os.path.join(args.out, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                   "mask_token": "<|mdm_mask|>", "additional_special_tokens": ["<|eot_id|>"]}, f, indent=2)

    final = {f"t={t}": round(held_out_loss(model, held_windows, t, args.seed + 2), 4) for t in (0.25, 0.5, 0.75)}
    print(f"final held-out masked-token CE (bf16 weights): {final}", flush=True)

    write_fixtures(model, tok, args.out)
    log.update({"seed": args.seed, "steps_total": args.steps, "batch_size": args.batch_size, "seq_len": args.seq_len,
                "lr": args.lr, "threads": args.threads, "device": device, "parameters": n_params,
                "train_files": len(train_files), "held_out_files": len(held_files),
                "train_tokens": n_train_tokens, "held_out_tokens": n_held_tokens,
                "tokens_seen": args.steps * args.batch_size * args.seq_len,
                "train_seconds": round(train_seconds, 1), "total_seconds": round(time.time() - started, 1),
                "final_held_out_bf16": final, "python": sys.version.split()[0], "torch": torch.__version__})
    with open(os.path.join(args.out, "training_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    print(f"done in {(time.time() - started)/60:.1f} min", flush=True)


# Inputs for the golden fixtures. Java reproduces these from the files written above.
FORWARD_CASES = [
    ("def_body", "def add(a, b):\n    return a + b\n", [5, 6, 7, 9, 10]),
    ("import_block", "import os\nimport sys\n\n\ndef main():\n    print(sys.argv)\n", [2, 3, 4, 8, 12, 13, 14]),
    ("all_masked_tail", "class Stack:\n    def __init__(self):\n        self.items = []\n", list(range(6, 18))),
]
GENERATION_CASES = [
    # name, prompt, gen_length, block_length, steps
    ("def_function", "def fibonacci(n):\n", 32, 16, 32),
    ("class_header", "class Stack:\n    def __init__(self):\n", 32, 32, 16),
    ("import_lines", "import os\nimport", 16, 8, 16),
]
INFILL_CASE = ("infill_return", "def square(x):\n", "\n\ndef cube(x):\n    return x * x * x\n", 16, 16, 16)


@torch.no_grad()
def write_fixtures(model, tok, out):
    forward = []
    for name, text, positions in FORWARD_CASES:
        ids = tok.encode(text).ids
        positions = [p for p in positions if p < len(ids)]
        x = torch.tensor([ids])
        for p in positions:
            x[0, p] = MASK
        logp = F.log_softmax(model(x)[0].float(), dim=-1)
        top = torch.topk(logp[positions], k=5, dim=-1)
        forward.append({"name": name, "text": text, "input_ids": x[0].tolist(), "masked_positions": positions,
                        "original_ids": [ids[p] for p in positions],
                        "top5_ids": top.indices.tolist(),
                        "top5_logprobs": [[round(v, 6) for v in row] for row in top.values.tolist()]})
    with open(os.path.join(out, "fixtures", "forward.json"), "w") as f:
        json.dump({"description": "fp32 forward of the bf16 checkpoint; top-5 token ids and log-probabilities "
                                  "(natural log) at each masked position", "mask_token_id": MASK, "cases": forward}, f, indent=1)

    cases = []
    for name, prompt, gen_length, block_length, steps in GENERATION_CASES:
        ids = tok.encode(prompt).ids
        x = torch.tensor([ids + [MASK] * gen_length])
        cases.append(run_case(model, tok, name, x, len(ids), gen_length, block_length, steps,
                              {"prompt": prompt, "prompt_ids": ids}))
    name, prefix, suffix, gen_length, block_length, steps = INFILL_CASE
    pre = tok.encode(prefix).ids
    suf = tok.encode(suffix, add_special_tokens=False).ids
    x = torch.tensor([pre + [MASK] * gen_length + suf])
    cases.append(run_case(model, tok, name, x, len(pre), gen_length, block_length, steps,
                          {"prefix": prefix, "suffix": suffix, "prefix_ids": pre, "suffix_ids": suf}))
    with open(os.path.join(out, "fixtures", "generation.json"), "w") as f:
        json.dump({"description": "LLaDA reference decoding (generate.py), fp32 forward of the bf16 checkpoint, "
                                  "low_confidence remasking, temperature 0, cfg 0; every step's committed "
                                  "positions in order", "mask_token_id": MASK, "cases": cases}, f, indent=1)
    for c in cases:
        print(f"fixture {c['name']}: {c['output_text']!r}", flush=True)


def run_case(model, tok, name, x, gen_start, gen_length, block_length, steps, extra):
    out, trace = generate(model, x, gen_start, gen_length, steps, block_length)
    generated = out[0, gen_start:gen_start + gen_length].tolist()
    return {"name": name, **extra, "input_ids": x[0].tolist(), "gen_start": gen_start, "gen_length": gen_length,
            "block_length": block_length, "steps": steps, "temperature": 0.0, "remasking": "low_confidence",
            "trace": trace, "output_ids": out[0].tolist(), "generated_ids": generated,
            "output_text": tok.decode(generated, skip_special_tokens=True)}


if __name__ == "__main__":
    main()

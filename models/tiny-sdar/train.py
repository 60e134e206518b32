#!/usr/bin/env python3
"""Train tiny-sdar: a small block-diffusion LM in SDAR's exact Hugging Face layout (JetLM/SDAR-*-Chat).

SDAR (JetAstra/SDAR, arXiv 2510.06303) is Qwen3 (RMSNorm, QK-norm over head_dim, RoPE in the NEOX "half"
layout, SwiGLU, grouped-query attention) trained with the block-diffusion objective of BD3-LM: the canvas is
cut into blocks of `block_size` tokens; attention is bidirectional inside a block and causal across blocks.
Training runs the noisy sequence x_t and the clean sequence x_0 side by side in one forward (x_t || x_0,
positions 0..L-1 twice) under SDAR's `block_diff_mask`:

    noisy block b   attends to   noisy block b (itself, bidirectionally) and clean blocks < b
    clean block b   attends to   clean blocks <= b (block-causal)

and the loss is the cross-entropy of the tokens masked in x_t, read at their own position (no logit shift:
SDAR's labels[logits_to_keep_half] are taken at the noisy positions), weighted 1/p_mask and divided by the
number of tokens (SDAR's FusedLinearDiffusionCrossEntropyLoss(reduction='sum') / answer_len). The noise
level is drawn per block, p = (1 - eps) t + eps with t ~ U(0, 1): BD3-LM draws one t per block; SDAR's
forward_add_noise_packed draws one per packed sample, which for a one-block sample is the same thing.

Data, split, BPE and held-out windows are tiny-llada's (models/tiny-llada/train.py), as tiny-dream's are.
The tokenizer is tiny-dream's choice, tiny-llada's byte-level BPE with its six special tokens renamed in place,
here to Qwen3's names (SDAR ships Qwen3's tokenizer) plus SDAR's <|MASK|>; ordinary text keeps its ids.

Written from JetAstra/SDAR training/model/SDAR-4B-Chat/modeling_sdar.py (SDARAttention, block_diff_mask,
prepare_for_bd_training, forward_add_noise_packed) and generate.py (block_diffusion_generate). Nothing of
that code is copied; the module tree is chosen so that state_dict() keys are SDARForCausalLM's.

Usage:  python3 train.py [--out DIR] [--cpu-minutes 38] [--threads 1] [--seed 1234]
        python3 train.py --placeholder-steps 3 --out DIR   (a few steps only: a layout placeholder)
        python3 train.py --fixtures-only --out DIR          (HF metadata + fixtures from DIR's weights)

This is a training tool: PyTorch is used here only, never in the product or in CI.
"""
import argparse
import importlib.util
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
LLADA_DIR = os.path.join(HERE, "..", "tiny-llada")
DREAM_DIR = os.path.join(HERE, "..", "tiny-dream")

# tiny-llada's six specials sit at ids 0..5; renamed in place to Qwen3's (which SDAR ships) in Qwen3's relative
# order (<|endoftext|> 151643 < <|im_start|> 151644 < <|im_end|> 151645 < <|object_ref_start|> 151646 <
# <|object_ref_end|> 151647), then SDAR's mask <|MASK|> (151669 in SDAR; SGLang's dllm/config.py uses the same).
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                  "<|MASK|>"]
EOS, IM_START, IM_END, OBJ_REF_START, OBJ_REF_END, MASK = range(6)
# tiny-llada id -> new id. Qwen3 has no begin-of-text token: documents are separated by <|endoftext|>, so
# tiny-llada's <|startoftext|> (0) becomes <|endoftext|> as well, and a training document is
# [<|endoftext|>] + text + [<|endoftext|>]: the same length and positions as tiny-llada's documents, so the
# windows (and the held-out windows) are tiny-llada's, with the one id at the document start renamed.
LLADA_TO_SDAR = {0: EOS, 1: EOS, 2: IM_END, 3: MASK, 4: IM_START, 5: OBJ_REF_START}
BLOCK_SIZE = 4  # SDAR-*-Chat's block_size (config.json; SGLang dllm/config.py: block_size 4)

# ChatML as Qwen3's template renders a conversation without tools or reasoning (no default system prompt).
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# SDAR's config.json keys (SDARConfig = Qwen3Config + block_size, mask_token_id, fuse_cross_entropy; the extra
# keys are named in vllm-ascend's SDARConfig shim and read by SDARForCausalLM.prepare_for_bd_training).
CONFIG = dict(
    architectures=["SDARForCausalLM"],
    attention_bias=False,
    attention_dropout=0.0,
    auto_map={"AutoConfig": "configuration_sdar.SDARConfig", "AutoModel": "modeling_sdar.SDARModel",
              "AutoModelForCausalLM": "modeling_sdar.SDARForCausalLM"},
    block_size=BLOCK_SIZE,
    bos_token_id=EOS,
    eos_token_id=EOS,
    fuse_cross_entropy=True,
    head_dim=32,
    hidden_act="silu",
    hidden_size=256,
    initializer_range=0.02,
    intermediate_size=704,
    mask_token_id=MASK,
    max_position_embeddings=512,
    max_window_layers=6,
    model_type="sdar",
    num_attention_heads=8,
    num_hidden_layers=6,
    num_key_value_heads=2,
    pad_token_id=EOS,
    rms_norm_eps=1e-6,
    rope_scaling=None,
    rope_theta=1000000.0,
    sliding_window=None,
    tie_word_embeddings=False,
    torch_dtype="bfloat16",
    transformers_version="4.52.4",
    use_cache=True,
    use_sliding_window=False,
    vocab_size=4096,
)

GENERATION_CONFIG = {
    # generate.py's defaults (block_length 4, denoising_steps 4, low_confidence_dynamic, threshold 0.85); the
    # stop ids as Qwen3 chat models list them (<|im_end|>, <|endoftext|>).
    "_from_model_config": True, "bos_token_id": EOS, "eos_token_id": [IM_END, EOS], "pad_token_id": EOS,
    "block_length": BLOCK_SIZE, "denoising_steps": BLOCK_SIZE, "remasking_strategy": "low_confidence_dynamic",
    "confidence_threshold": 0.85, "temperature": 1.0, "top_k": 0, "top_p": 1.0,
    "transformers_version": "4.52.4",
}


# ----------------------------------------------------------------------------------------------
# Model: SDARForCausalLM (Qwen3 blocks) reduced to what training and inference need.
# ----------------------------------------------------------------------------------------------
class SDARRMSNorm(nn.Module):
    """RMSNorm in float32 (the eager branch SDAR keeps as a comment beside its flash kernel)."""

    def __init__(self, size, eps):
        super().__init__()
        self.variance_epsilon = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x):
        dtype = x.dtype
        x32 = x.to(torch.float32)
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return self.weight * x32.to(dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def rope(position_ids, head_dim, theta):
    """Qwen3's default rope: inv_freq = 1 / theta^(2i/d); cos/sin of cat(freqs, freqs) (NEOX "half" layout).
    position_ids [B, S] -> cos, sin [B, 1, S, head_dim]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = position_ids[:, :, None].float() * inv_freq[None, None, :]  # [B, S, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[:, None], emb.sin()[:, None]


class SDARAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg["hidden_size"], cfg["head_dim"]
        self.n_heads, self.n_kv, self.head_dim = cfg["num_attention_heads"], cfg["num_key_value_heads"], hd
        bias = cfg["attention_bias"]
        self.q_proj = nn.Linear(d, self.n_heads * hd, bias=bias)
        self.k_proj = nn.Linear(d, self.n_kv * hd, bias=bias)
        self.v_proj = nn.Linear(d, self.n_kv * hd, bias=bias)
        self.o_proj = nn.Linear(self.n_heads * hd, d, bias=bias)
        # Qwen3's QK-norm: one RMSNorm over head_dim, shared by all heads, before rotary.
        self.q_norm = SDARRMSNorm(hd, cfg["rms_norm_eps"])
        self.k_norm = SDARRMSNorm(hd, cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, allowed, past=None):
        """x [B, S, d]; allowed: bool [B or 1, 1, S, P+S] (True = may attend); past: (k, v) [B, KV, P, hd] or None.
        Returns (out [B, S, d], (k, v) of this forward [B, KV, S, hd], after QK-norm and rotary)."""
        b, s, _ = x.shape
        q = self.q_norm(self.q_proj(x).view(b, s, self.n_heads, self.head_dim)).transpose(1, 2)  # [B, H, S, hd]
        k = self.k_norm(self.k_proj(x).view(b, s, self.n_kv, self.head_dim)).transpose(1, 2)  # [B, KV, S, hd]
        v = self.v_proj(x).view(b, s, self.n_kv, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        fresh = (k, v)
        if past is not None:  # SDAR's "only retrieve": cat(past, fresh) along the sequence
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        group = self.n_heads // self.n_kv  # repeat_kv: query head h reads kv head h // group
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)  # scale head_dim^-0.5
        return self.o_proj(att.transpose(1, 2).reshape(b, s, -1)), fresh


class SDARMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, m = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, m, bias=False)
        self.up_proj = nn.Linear(d, m, bias=False)
        self.down_proj = nn.Linear(m, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class SDARDecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = SDARAttention(cfg)
        self.mlp = SDARMLP(cfg)
        self.input_layernorm = SDARRMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = SDARRMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, allowed, past=None):
        a, fresh = self.self_attn(self.input_layernorm(x), cos, sin, allowed, past)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), fresh


class SDARForCausalLM(nn.Module):
    """Keys: model.embed_tokens, model.layers.N.{self_attn,mlp,...}, model.norm, lm_head (untied)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.model.layers = nn.ModuleList([SDARDecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.model.norm = SDARRMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)

    def forward(self, input_ids, position_ids, allowed, past=None, hidden_only=False):
        """input_ids, position_ids [B, S]; allowed bool [B or 1, 1, S, P+S]; past: per layer (k, v) or None.
        Returns (logits [B, S, vocab] (or final hidden states), per layer (k, v) of this forward)."""
        x = self.model.embed_tokens(input_ids)
        cos, sin = rope(position_ids, self.cfg["head_dim"], self.cfg["rope_theta"])
        presents = []
        for i, layer in enumerate(self.model.layers):
            x, fresh = layer(x, cos, sin, allowed, None if past is None else past[i])
            presents.append(fresh)
        h = self.model.norm(x)
        return (h if hidden_only else self.lm_head(h)), presents


def block_causal_mask(n, block_size):
    """Inference attention over a canvas of n tokens: query q may read key k iff block(k) <= block(q).
    generate.py's tril(ones(blocks, blocks)).repeat_interleave(block_length) on both axes. -> bool [1, 1, n, n]."""
    blk = torch.arange(n) // block_size
    return (blk[None, :] <= blk[:, None])[None, None]


def block_diff_mask(n, block_size):
    """SDAR's training mask over x_t || x_0 (2n tokens), as block_diff_mask in modeling_sdar.py:
    block-diagonal within x_t and within x_0, x_t block b reads x_0 blocks < b (offset block-causal),
    x_0 block b reads x_0 blocks <= b (block-causal). -> bool [1, 1, 2n, 2n]."""
    idx = torch.arange(2 * n)
    is_x0 = idx >= n
    blk = torch.where(is_x0, idx - n, idx) // block_size
    q_x0, k_x0 = is_x0[:, None], is_x0[None, :]
    q_b, k_b = blk[:, None], blk[None, :]
    diagonal = (q_b == k_b) & (q_x0 == k_x0)
    offset_causal = (q_b > k_b) & k_x0 & ~q_x0
    causal = (q_b >= k_b) & k_x0 & q_x0
    return (diagonal | offset_causal | causal)[None, None]


def init_from_dream(model, folder):
    """SDAR's recipe in miniature: SDAR-*-Chat start from Qwen3 autoregressive checkpoints; tiny-sdar starts from
    tiny-dream (an AR-initialised, diffusion-adapted Qwen2 of the same shape and vocabulary). Copied: the
    embeddings (also into the untied lm_head, Dream's head being tied), every projection and norm weight of the
    same name. Dropped: Dream's q/k/v biases (SDAR has attention_bias false). New: q_norm/k_norm at 1 (Qwen3's
    QK-norm, which Qwen2 lacks), so the copied model starts as a different function and training adapts it.
    The special ids line up (0..3 the same names; 4 <|beginoftext|> -> <|object_ref_end|>, 5 <|mask|> -> <|MASK|>)."""
    dream = load_file(os.path.join(folder, "model.safetensors"))
    own = model.state_dict()
    copied, dropped = [], []
    with torch.no_grad():
        for name, tensor in dream.items():
            if name in own and own[name].shape == tensor.shape:
                own[name].copy_(tensor.float())
                copied.append(name)
            else:
                dropped.append(name)
        own["lm_head.weight"].copy_(dream["model.embed_tokens.weight"].float())
    fresh = sorted(set(own) - set(copied) - {"lm_head.weight"})
    return {"copied": len(copied), "dropped": dropped, "fresh": fresh}


def init_weights(model, cfg):
    """SDARPreTrainedModel._init_weights: normal(0, initializer_range) for Linear/Embedding, norms at 1; the
    residual-branch outputs scaled down with depth (GPT-2 style) as tiny-llada and tiny-dream do."""
    std = cfg["initializer_range"]
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            nn.init.ones_(p)
        elif name.endswith(".bias"):
            nn.init.zeros_(p)
        elif name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
            nn.init.normal_(p, std=std / math.sqrt(2 * cfg["num_hidden_layers"]))
        else:
            nn.init.normal_(p, std=std)


# ----------------------------------------------------------------------------------------------
# Data: tiny-llada's, through tiny-dream's helpers (the Python standard library, PSF licence, split by hash).
# ----------------------------------------------------------------------------------------------
def _tiny_dream():
    spec = importlib.util.spec_from_file_location("tiny_dream_train", os.path.join(DREAM_DIR, "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sdar_tokenizer_json():
    """tiny-llada's tokenizer.json with the specials renamed to Qwen3's + SDAR's <|MASK|> and Qwen3's
    post-processor (ByteLevel only: Qwen3 adds no BOS on encode). Vocabulary, merges, pre-tokenizer kept."""
    with open(os.path.join(LLADA_DIR, "tokenizer.json")) as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    old_names = {tok["id"]: tok["content"] for tok in tj["added_tokens"]}
    assert sorted(old_names) == list(range(6)), old_names
    for old_name in old_names.values():
        del vocab[old_name]
    for new_id, name in enumerate(SPECIAL_TOKENS):
        vocab[name] = new_id
    tj["model"]["vocab"] = dict(sorted(vocab.items(), key=lambda kv: kv[1]))
    tj["added_tokens"] = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                           "normalized": False, "special": True} for i, t in enumerate(SPECIAL_TOKENS)]
    tj["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return tj


def load_tokenizer():
    return Tokenizer.from_str(json.dumps(sdar_tokenizer_json()))


class Sampler:
    """tiny-llada's Sampler: windows of seq_len tokens from whole files, padded with <|endoftext|> past the end."""

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


def load_data(seed, seq_len):
    dream = _tiny_dream()
    root, files = dream.stdlib_files()
    rel = [os.path.relpath(f, root) for f in files]
    train_files = [f for f, r in zip(files, rel) if not dream.is_held_out(r)]
    held_files = [f for f, r in zip(files, rel) if dream.is_held_out(r)]
    tok = load_tokenizer()

    def encode_doc(text):
        return [EOS] + tok.encode(text).ids + [EOS]

    train_docs = [encode_doc(dream.read_text(f)) for f in train_files]
    held_docs = [encode_doc(dream.read_text(f)) for f in held_files]
    held_windows = Sampler(held_docs, seq_len, random.Random(seed + 1)).batch(128)
    info = {"root": root, "train_files": len(train_files), "held_out_files": len(held_files),
            "train_tokens": sum(map(len, train_docs)), "held_out_tokens": sum(map(len, held_docs))}
    return tok, train_docs, held_windows, info


# ----------------------------------------------------------------------------------------------
# Objective
# ----------------------------------------------------------------------------------------------
def block_diffusion_loss(model, x, gen, eps=1e-3, t=None, block_size=BLOCK_SIZE, masked=None):
    """x [B, L] clean tokens. Per block a noise level t ~ U(0, 1) (or the given t for every block), each token
    masked with p = (1 - eps) t + eps; one forward over x_t || x_0 under block_diff_mask; CE of the masked
    tokens at their own noisy positions, weighted 1/p, summed and divided by B*L (every token is a label in
    pre-training, so SDAR's answer_len is B*L). Returns (weighted loss, CE sum, masked count)."""
    b, l = x.shape
    assert l % block_size == 0, "windows are whole blocks"
    if masked is None:
        if t is None:
            t = torch.rand(b, l // block_size, generator=gen).repeat_interleave(block_size, dim=1)  # [B, L]
        else:
            t = t[:, None].expand(b, l)
        p_mask = (1 - eps) * t + eps
        masked = torch.rand(b, l, generator=gen) < p_mask
    else:
        p_mask = torch.ones(b, l)
    noisy = torch.where(masked, torch.full_like(x, MASK), x)
    ids = torch.cat([noisy, x], dim=1)  # [B, 2L]: x_t || x_0
    pos = torch.arange(l).repeat(2)[None].expand(b, 2 * l)
    h, _ = model(ids, pos, block_diff_mask(l, block_size), hidden_only=True)
    logits = model.lm_head(h[:, :l][masked])  # only the noisy half's masked positions need the head
    ce = F.cross_entropy(logits.float(), x[masked], reduction="none")
    weighted = (ce / p_mask[masked]).sum() / (b * l)
    return weighted, ce.sum(), masked.sum()


@torch.no_grad()
def held_out_loss(model, windows, t, seed):
    """Per-masked-token NLL (nats) at mask ratio t on tiny-llada's held-out windows with tiny-llada's masks
    (same generator, seed and draw order), read under the block-diffusion forward: a masked token sees its
    own noisy block and the CLEAN earlier blocks (what SDAR decoding sees), where tiny-llada's model sees the
    whole canvas noisy at t."""
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), 16):
        x = windows[i:i + 16]
        _, ce_sum, n = block_diffusion_loss(model, x, gen, t=torch.full((x.shape[0],), t))
        total += float(ce_sum)
        count += int(n)
    model.train()
    return total / max(count, 1)


@torch.no_grad()
def held_out_whole_block_loss(model, windows):
    """Per-token NLL with every token of its block masked and all earlier blocks clean: what the first step of
    each decoded block sees. Deterministic: one forward with the whole of x_t masked, since under
    block_diff_mask each noisy block reads only itself and the clean earlier blocks."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(windows), 16):
        x = windows[i:i + 16]
        _, ce_sum, n = block_diffusion_loss(model, x, None, masked=torch.ones_like(x, dtype=torch.bool))
        total += float(ce_sum)
        count += int(n)
    model.train()
    return total / max(count, 1)


# ----------------------------------------------------------------------------------------------
# Hugging Face files
# ----------------------------------------------------------------------------------------------
def write_hf_files(out):
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(GENERATION_CONFIG, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(sdar_tokenizer_json(), f, ensure_ascii=False, indent=2)
    added = {str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True} for i, t in enumerate(SPECIAL_TOKENS)}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": added,
                   "additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                                                 "<|object_ref_end|>", "<|MASK|>"],
                   "bos_token": None, "chat_template": CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
                   # a base model (Qwen3-Base's choice): its documents end with <|endoftext|>, config.json's eos
                   "eos_token": "<|endoftext|>", "errors": "replace", "mask_token": "<|MASK|>",
                   "model_max_length": CONFIG["max_position_embeddings"], "pad_token": "<|endoftext|>",
                   "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer", "unk_token": None},
                  f, indent=2)
    special = lambda s: {"content": s, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
    with open(os.path.join(out, "special_tokens_map.json"), "w") as f:
        json.dump({"additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                                                 "<|object_ref_end|>", "<|MASK|>"],
                   "eos_token": special("<|endoftext|>"), "mask_token": special("<|MASK|>"),
                   "pad_token": special("<|endoftext|>")}, f, indent=2)


def save_weights(model, out):
    """bf16 (as SDAR ships), SDARForCausalLM's names, lm_head.weight stored (untied). Returns the model reloaded
    from the bf16 tensors (upcast to fp32), so that everything after describes exactly the checkpoint on disk."""
    state = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(out, "model.safetensors"), 0o644)  # save_file writes 0600
    return load_model(out)


def load_model(out):
    model = SDARForCausalLM(CONFIG)
    state = load_file(os.path.join(out, "model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.eval()


# ----------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--cpu-minutes", type=float, default=38.0,
                    help="training budget in process CPU time (time.process_time), held-out evals excluded")
    ap.add_argument("--wall-minutes", type=float, default=None,
                    help="also stop when this much wall time has passed (the machine is shared: CPU time is "
                         "what the model got, wall time is what the deadline allows); the log says which ended it")
    ap.add_argument("--init-from", default="tiny-dream", choices=["tiny-dream", "scratch"],
                    help="start from tiny-dream's weights (SDAR's AR-to-block-diffusion recipe) or from random ones")
    ap.add_argument("--placeholder-steps", type=int, default=0,
                    help="train this many steps only, no evals, no fixtures (a layout placeholder checkpoint)")
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3, help="peak; lower than tiny-dream's 2e-3: a warm start")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-every-cpu-minutes", type=float, default=4.0)
    ap.add_argument("--fixtures-only", action="store_true", help="rewrite HF metadata + fixtures from --out's weights")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    if args.fixtures_only:
        import fixtures
        write_hf_files(args.out)
        fixtures.write_fixtures(load_model(args.out), load_tokenizer(), args.out)
        return

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    started_wall = time.time()
    tok, train_docs, held_windows, info = load_data(args.seed, args.seq_len)
    print(f"data: {info}", flush=True)

    model = SDARForCausalLM(CONFIG)
    init_weights(model, CONFIG)
    init = None
    if args.init_from == "tiny-dream" and not args.placeholder_steps:
        init = init_from_dream(model, DREAM_DIR)
        print(f"init from tiny-dream: {init}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters (untied head), {args.threads} threads, budget {args.cpu_minutes} CPU-min",
          flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    budget_s = args.cpu_minutes * 60

    def lr_at(progress):  # tiny-dream's schedule: 5 % linear warm-up, cosine to 10 %
        if progress < 0.05:
            return args.lr * max(progress, 1e-3) / 0.05
        p = (progress - 0.05) / 0.95
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))

    sampler = Sampler(train_docs, args.seq_len, random.Random(args.seed))
    gen = torch.Generator().manual_seed(args.seed)
    log = {"steps": [], "held_out": []}
    cpu0 = time.process_time()
    wall0 = time.time()
    excluded = [0.0]  # eval CPU time, left out of the budget

    def cpu_used():
        return time.process_time() - cpu0 - excluded[0]

    def evaluate(step, phase):
        """The final row has every number; rows during training only t=0.5 (an eval pass over the 128 windows
        costs about 25 CPU-seconds, and CPU is what this shared machine lacks)."""
        c = time.process_time()
        row = {"step": step, "phase": phase, "cpu_s": round(cpu_used(), 1), "wall_s": round(time.time() - wall0, 1)}
        final = phase.startswith("final")
        row.update({f"t={t}": round(held_out_loss(model, held_windows, t, args.seed + 2), 4)
                    for t in ((0.25, 0.5, 0.75) if final else (0.5,))})
        if final:
            row["whole_block"] = round(held_out_whole_block_loss(model, held_windows), 4)
        excluded[0] += time.process_time() - c
        log["held_out"].append(row)
        print(f"eval {row}", flush=True)

    placeholder = args.placeholder_steps > 0
    # (No eval at step 0: an untrained model's NLL is about ln(4096) = 8.3, and each eval costs ~2 CPU-minutes.)
    step, ema = 0, None
    next_eval = args.eval_every_cpu_minutes * 60
    while True:
        cpu = cpu_used()
        if (placeholder and step >= args.placeholder_steps) or (not placeholder and cpu >= budget_s):
            stopped_by = "steps" if placeholder else "cpu budget"
            break
        if args.wall_minutes is not None and time.time() - wall0 >= args.wall_minutes * 60:
            stopped_by = "wall budget"
            break
        progress = step / args.placeholder_steps if placeholder else cpu / budget_s
        for g in opt.param_groups:
            g["lr"] = lr_at(progress)
        loss, _, _ = block_diffusion_loss(model, sampler.batch(args.batch_size), gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        lv = loss.item()
        ema = lv if ema is None else 0.95 * ema + 0.05 * lv
        if step % 10 == 0:
            log["steps"].append({"step": step, "cpu_s": round(cpu_used(), 1), "loss": round(lv, 4)})
            print(f"step {step} loss {lv:.3f} ema {ema:.3f} lr {lr_at(progress):.2e} "
                  f"cpu {cpu_used() / 60:.2f} min wall {(time.time() - wall0) / 60:.2f} min", flush=True)
        step += 1
        wall_left_s = float("inf") if args.wall_minutes is None else args.wall_minutes * 60 - (time.time() - wall0)
        if not placeholder and cpu_used() >= next_eval and cpu_used() < budget_s - 60 and wall_left_s > 300:
            next_eval += args.eval_every_cpu_minutes * 60
            evaluate(step, "train")
    train_cpu_s = cpu_used()
    train_wall_s = time.time() - wall0

    model = save_weights(model.eval(), args.out)
    write_hf_files(args.out)
    if placeholder:
        print(f"placeholder: {step} steps written to {args.out}", flush=True)
        return
    evaluate(step, "final (bf16 weights)")
    log.update({"objective": "block diffusion (SDAR/BD3-LM): x_t || x_0 under block_diff_mask, per-block t, "
                             "CE on masked tokens at their own position weighted 1/p, / (B*L)",
                "held_out_meaning": "t=X: per-masked-token NLL in nats on tiny-llada's 128 held-out windows with "
                                    "tiny-llada's masks at ratio X, each masked token reading its noisy block and "
                                    "the clean earlier blocks; whole_block: every token masked, earlier blocks clean",
                "seed": args.seed, "cpu_minutes_budget": args.cpu_minutes, "wall_minutes_budget": args.wall_minutes,
                "stopped_by": stopped_by, "init_from": args.init_from, "init": init, "block_size": BLOCK_SIZE,
                "steps_total": step, "batch_size": args.batch_size, "seq_len": args.seq_len, "lr": args.lr,
                "threads": args.threads, "parameters": n_params, **{k: v for k, v in info.items() if k != "root"},
                "tokens_seen": step * args.batch_size * args.seq_len,
                "train_cpu_seconds": round(train_cpu_s, 1), "excluded_eval_cpu_seconds": round(excluded[0], 1),
                "train_wall_seconds": round(train_wall_s, 1), "total_wall_seconds": round(time.time() - started_wall, 1),
                "final_held_out_bf16": log["held_out"][-1], "python": sys.version.split()[0], "torch": torch.__version__})
    with open(os.path.join(args.out, "training_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    try:
        import fixtures
        fixtures.write_fixtures(model, tok, args.out)
    except Exception as e:  # the weights and the log are on disk already; fixtures can be rewritten alone
        print(f"fixtures not written ({e!r}); run train.py --fixtures-only --out {args.out}", flush=True)
    print(f"done: {step} steps, {train_cpu_s / 60:.1f} CPU-min, {train_wall_s / 60:.1f} wall-min", flush=True)


if __name__ == "__main__":
    main()

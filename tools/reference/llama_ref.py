"""Llama / Qwen2 (MHA, GQA) reference, written from the Llama equations.

Golden values for these families come from transformers itself; this module exists to check the
blocks that the GTA reference reuses (RMSNorm, rotate-half RoPE, causal softmax, SwiGLU, tied head)
against transformers, and to decode with a cache of per-kv-head keys and values.
"""

import math

import torch

from blocks import Cache, causal_softmax, linear, lm_head, rms_norm, rope_rotate_half, swiglu_mlp


class LlamaReference:
    def __init__(self, config: dict, weights: dict[str, torch.Tensor]):
        self.cfg = config
        self.w = weights
        self.n_heads = config["num_attention_heads"]
        self.n_kv = config.get("num_key_value_heads", self.n_heads)
        self.head_dim = config.get("head_dim") or config["hidden_size"] // self.n_heads
        self.theta = config.get("rope_theta", 10000.0)
        self.eps = config["rms_norm_eps"]

    def new_cache(self) -> Cache:
        return Cache(self.cfg["num_hidden_layers"])

    def attention(self, x: torch.Tensor, pos: torch.Tensor, cache: Cache, layer: int) -> torch.Tensor:
        p = f"model.layers.{layer}.self_attn."
        w = self.w
        t = x.shape[0]
        # q, k, v projections (Qwen2 carries biases on all three; Llama none)
        q = linear(x, w[p + "q_proj.weight"], w.get(p + "q_proj.bias")).view(t, self.n_heads, self.head_dim)
        k = linear(x, w[p + "k_proj.weight"], w.get(p + "k_proj.bias")).view(t, self.n_kv, self.head_dim)
        v = linear(x, w[p + "v_proj.weight"], w.get(p + "v_proj.bias")).view(t, self.n_kv, self.head_dim)
        q = rope_rotate_half(q, pos, self.theta)
        k = rope_rotate_half(k, pos, self.theta)
        kv = cache.append(layer, k=k, v=v)  # k, v: [S, n_kv, head_dim]
        # query head h reads kv head h // (n_heads / n_kv)
        group = self.n_heads // self.n_kv
        keys = kv["k"].repeat_interleave(group, dim=1)  # [S, n_heads, head_dim]
        vals = kv["v"].repeat_interleave(group, dim=1)
        scores = torch.einsum("thd,shd->hts", q, keys) / math.sqrt(self.head_dim)
        probs = causal_softmax(scores, pos)  # [n_heads, T, S]
        out = torch.einsum("hts,shd->thd", probs, vals).reshape(t, self.n_heads * self.head_dim)
        return linear(out, w[p + "o_proj.weight"])

    def forward(self, ids: list[int], cache: Cache) -> torch.Tensor:
        """Logits [T, vocab] for the new tokens ids, which follow the cache.length cached ones."""
        w = self.w
        pos = torch.arange(cache.length, cache.length + len(ids))
        h = w["model.embed_tokens.weight"][torch.tensor(ids)]
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = h + self.attention(rms_norm(h, w[p + "input_layernorm.weight"], self.eps), pos, cache, i)
            h = h + swiglu_mlp(rms_norm(h, w[p + "post_attention_layernorm.weight"], self.eps), w, p + "mlp.")
        cache.length += len(ids)
        return lm_head(rms_norm(h, w["model.norm.weight"], self.eps), w)

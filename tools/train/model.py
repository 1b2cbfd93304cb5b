"""One decoder, four attention variants, with parameter names equal to the released checkpoints'.

Module attribute names are chosen so that `state_dict()` keys are exactly the Hugging Face names
(`model.layers.{i}.self_attn.q_proj.weight`, ...): exporting is a dtype cast, never a renaming, so a
renaming bug cannot hide between training and the file the engine loads.

  mha / gqa : Llama (rotate-half RoPE on all head dims, SwiGLU MLP)
  mla       : PLM (latent KV with kv_a_layernorm, interleaved RoPE on the rope dims, relu^2 MLP)
  gta       : GTA (shared maps, latent values, v_b_proj decoder with tile + delta, sigmoid gate)
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    """Normalise in fp32, cast back, then scale (the order Llama and PLM use)."""

    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_tables(n_pos, dim, theta, device):
    """cos/sin [n_pos, dim/2] (fp32) for frequencies theta^(-2j/dim)."""
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim))
    ang = torch.outer(torch.arange(n_pos, device=device, dtype=torch.float32), inv)
    return ang.cos(), ang.sin()


def rope_half(x, cos, sin):
    """Llama layout: pairs (j, j + d/2). x [B, h, T, d]; cos/sin [T, d/2]."""
    d = x.shape[-1] // 2
    x1, x2 = x[..., :d].float(), x[..., d:].float()
    out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    return out.to(x.dtype)


def rope_interleaved(x, cos, sin):
    """PLM / GPT-J layout: pairs (2j, 2j + 1). x [B, h, T, d]; cos/sin [T, d/2]."""
    x1, x2 = x[..., 0::2].float(), x[..., 1::2].float()
    out = torch.stack([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).flatten(-2)
    return out.to(x.dtype)


def causal_attention(q, k, v, scale):
    """q [B, h, T, dk], k [B, h, T, dk], v [B, h, T, dv] -> [B, h, T, dv]; softmax in fp32."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
    t = q.shape[-2]
    s = (q.float() @ k.float().transpose(-1, -2)) * scale
    mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    p = s.masked_fill(mask, float("-inf")).softmax(-1)
    return (p @ v.float()).to(v.dtype)


class LlamaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, kv, d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.h, self.kv, self.d = h, kv, d
        self.q_proj = nn.Linear(c["hidden_size"], h * d, bias=False)
        self.k_proj = nn.Linear(c["hidden_size"], kv * d, bias=False)
        self.v_proj = nn.Linear(c["hidden_size"], kv * d, bias=False)
        self.o_proj = nn.Linear(h * d, c["hidden_size"], bias=False)

    def forward(self, x, rope):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        q, k = rope_half(q, *rope), rope_half(k, *rope)
        rep = self.h // self.kv  # query head i reads kv head i // rep
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        o = causal_attention(q, k, v, 1.0 / math.sqrt(self.d))
        return self.o_proj(o.transpose(1, 2).reshape(b, t, self.h * self.d))


class PLMAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = c["num_attention_heads"]
        self.nope, self.rope, self.dv = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        self.rank = c["kv_lora_rank"]
        hs = c["hidden_size"]
        self.q_proj = nn.Linear(hs, self.h * (self.nope + self.rope), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(hs, self.rank + self.rope, bias=False)
        self.kv_a_layernorm = RMSNorm(self.rank, c["rms_norm_eps"])
        self.kv_b_proj = nn.Linear(self.rank, self.h * (self.nope + self.dv), bias=False)
        self.o_proj = nn.Linear(self.h * self.dv, hs, bias=False)

    def forward(self, x, rope):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.nope + self.rope).transpose(1, 2)
        q_nope, q_rope = q.split([self.nope, self.rope], dim=-1)
        c_kv, k_rope = self.kv_a_proj_with_mqa(x).split([self.rank, self.rope], dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(c_kv)).view(b, t, self.h, self.nope + self.dv).transpose(1, 2)
        k_nope, v = kv.split([self.nope, self.dv], dim=-1)
        # One rope key per token, shared by every head.
        k_rope = rope_interleaved(k_rope.view(b, 1, t, self.rope), *rope).expand(b, self.h, t, self.rope)
        q = torch.cat([q_nope, rope_interleaved(q_rope, *rope)], dim=-1)
        k = torch.cat([k_nope, k_rope], dim=-1)
        o = causal_attention(q, k, v, 1.0 / math.sqrt(self.nope + self.rope))
        return self.o_proj(o.transpose(1, 2).reshape(b, t, self.h * self.dv))


class GTAAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        hs = c["hidden_size"]
        self.nq, self.qd = c["num_query_heads"], c["query_dim"]
        self.nk, self.kd = c["num_key_heads"], c["key_dim"]
        self.nc, self.vd = c["num_value_heads"], c["value_dim"]
        self.e = hs // (self.nq * self.vd)
        self.scale = 1.0 / math.sqrt(c["head_dim"])  # head_dim, not query_dim (official forward)
        self.q_proj = nn.Linear(hs, self.nq * self.qd, bias=True)
        self.k_proj = nn.Linear(hs, self.nk * self.kd, bias=True)
        self.v_proj = nn.Linear(hs, self.nc * self.vd, bias=True)
        self.g_proj = nn.Linear(hs, hs, bias=True)
        self.v_b_proj = nn.Linear(self.nq * self.vd, self.e * self.vd, bias=False)
        self.o_proj = nn.Linear(c["num_attention_heads"] * c["head_dim"], hs, bias=False)

    def forward(self, x, rope):
        b, t, hs = x.shape
        q = self.q_proj(x).view(b, t, self.nq, self.qd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.nk, self.kd).transpose(1, 2)
        lat = self.v_proj(x).view(b, t, self.nc, self.vd).transpose(1, 2)
        q, k = rope_half(q, *rope), rope_half(k, *rope)
        # Query group g reads key head g // (nq/nk) and latent group g // (nq/nc).
        k = k.repeat_interleave(self.nq // self.nk, dim=1)
        lat = lat.repeat_interleave(self.nq // self.nc, dim=1)
        a = causal_attention(q, k, lat, self.scale).transpose(1, 2)  # [B, T, nq, vd]
        # The decoder is the raw memory of v_b_proj.weight ([e*vd, nq*vd]) read row-major as
        # [nq, vd, e*vd]: a reshape of the buffer, not a transpose.
        w = self.v_b_proj.weight.reshape(self.nq, self.vd, self.e * self.vd)
        delta = torch.einsum("btgv,gvw->btgw", a, w.to(a.dtype))
        out = (a.repeat(1, 1, 1, self.e) + delta).reshape(b, t, hs)  # tile: [a, a, ...] end to end
        return self.o_proj(torch.sigmoid(self.g_proj(x)) * out)


class SwiGLU(nn.Module):
    def __init__(self, hs, f):
        super().__init__()
        self.gate_proj = nn.Linear(hs, f, bias=False)
        self.up_proj = nn.Linear(hs, f, bias=False)
        self.down_proj = nn.Linear(f, hs, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class ReLU2(nn.Module):
    """PLM's MLP: down(relu(up(x))^2), no gate."""

    def __init__(self, hs, f):
        super().__init__()
        self.up_proj = nn.Linear(hs, f, bias=False)
        self.down_proj = nn.Linear(f, hs, bias=False)

    def forward(self, x):
        return self.down_proj(F.relu(self.up_proj(x)).square())


ATTENTION = {"mha": LlamaAttention, "gqa": LlamaAttention, "mla": PLMAttention, "gta": GTAAttention}


class Block(nn.Module):
    def __init__(self, variant, c):
        super().__init__()
        hs, eps = c["hidden_size"], c["rms_norm_eps"]
        self.input_layernorm = RMSNorm(hs, eps)
        self.self_attn = ATTENTION[variant](c)
        self.post_attention_layernorm = RMSNorm(hs, eps)
        mlp = ReLU2 if c["hidden_act"] == "relu2" else SwiGLU
        self.mlp = mlp(hs, c["intermediate_size"])

    def forward(self, x, rope):
        x = x + self.self_attn(self.input_layernorm(x), rope)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, variant, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Block(variant, c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class CausalLM(nn.Module):
    """Decoder + tied lm_head. state_dict keys: model.* (lm_head is the embedding, not stored)."""

    def __init__(self, variant, config):
        super().__init__()
        self.variant, self.config = variant, config
        self.model = Decoder(variant, config)
        rope_dim = config["qk_rope_head_dim"] if variant == "mla" else config.get("query_dim", config["head_dim"])
        self.rope_dim = rope_dim
        self.rope_theta = config["rope_theta"]
        self._init_weights()

    def _init_weights(self):
        std = 0.02
        n_layers = self.config["num_hidden_layers"]
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                continue
            if name.endswith(".bias"):
                nn.init.zeros_(p)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, std=std / math.sqrt(2 * n_layers))  # residual writers (GPT-2)
            elif name.endswith("v_b_proj.weight"):
                nn.init.zeros_(p)  # start as the pure tile: each head reads the attended latent
            else:
                nn.init.normal_(p, std=std)

    def forward(self, ids):
        t = ids.shape[1]
        cos, sin = rope_tables(t, self.rope_dim, self.rope_theta, ids.device)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, (cos, sin))
        x = self.model.norm(x)
        return x @ self.model.embed_tokens.weight.to(x.dtype).t()


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def kv_values_per_token_layer(variant, c):
    """Values one token adds to one layer's cache, as each variant means its cache."""
    if variant in ("mha", "gqa"):
        return 2 * c["num_key_value_heads"] * c["head_dim"]
    if variant == "mla":
        return c["kv_lora_rank"] + c["qk_rope_head_dim"]
    return c["num_key_heads"] * c["key_dim"] + c["num_value_heads"] * c["value_dim"]

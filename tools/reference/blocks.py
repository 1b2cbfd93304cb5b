"""Building blocks shared by the reference modules (plain torch, float64).

Every function takes and returns float64 tensors. Shapes are written as [T, ...] where T is the
number of new tokens in one call; cached tensors are [S, ...] with S the total sequence so far.
"""

import math

import torch

F64 = torch.float64


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    # y = x / sqrt(mean(x^2) + eps) * w, over the last axis (T5/Llama RMSNorm, no mean subtraction)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    # HF stores Linear weights as [out, in]: y = x W^T + b
    y = x @ weight.T
    return y if bias is None else y + bias


def rope_angles(positions: torch.Tensor, dim: int, theta: float) -> torch.Tensor:
    # angle[t, i] = pos_t * theta^(-2i/dim), i < dim/2; computed in float64 (HF uses float32 here)
    inv_freq = theta ** (-torch.arange(0, dim, 2, dtype=F64) / dim)
    return positions.to(F64)[:, None] * inv_freq[None, :]  # [T, dim/2]


def rope_rotate_half(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """Llama/NeoX RoPE: element j is paired with element j + dim/2.

    x: [T, heads, dim]; positions: [T] absolute positions.
    """
    dim = x.shape[-1]
    ang = rope_angles(positions, dim, theta)[:, None, :]  # [T, 1, dim/2]
    cos, sin = ang.cos(), ang.sin()
    lo, hi = x[..., : dim // 2], x[..., dim // 2 :]
    # (lo, hi) -> (lo cos - hi sin, hi cos + lo sin)
    return torch.cat((lo * cos - hi * sin, hi * cos + lo * sin), dim=-1)


def rope_interleaved(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """GPT-J RoPE (PLM, DeepSeek-V2): consecutive elements (2i, 2i+1) form pair i.

    x: [T, heads, dim]; the output keeps the interleaved layout.
    """
    dim = x.shape[-1]
    ang = rope_angles(positions, dim, theta)[:, None, :]  # [T, 1, dim/2]
    cos, sin = ang.cos(), ang.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def causal_softmax(scores: torch.Tensor, q_pos: torch.Tensor) -> torch.Tensor:
    """softmax over the key axis with key s visible to query t iff s <= q_pos[t].

    scores: [heads, T, S]; q_pos: [T] absolute positions of the queries (keys are 0..S-1).
    """
    s_idx = torch.arange(scores.shape[-1])
    masked = scores.masked_fill(s_idx[None, None, :] > q_pos[None, :, None], -math.inf)
    return torch.softmax(masked, dim=-1)


def swiglu_mlp(x: torch.Tensor, w: dict, prefix: str) -> torch.Tensor:
    # Llama MLP: down( silu(gate x) * up x )
    gate = linear(x, w[prefix + "gate_proj.weight"])
    up = linear(x, w[prefix + "up_proj.weight"])
    return linear(torch.nn.functional.silu(gate) * up, w[prefix + "down_proj.weight"])


def lm_head(h: torch.Tensor, w: dict) -> torch.Tensor:
    # tied checkpoints carry no lm_head.weight: the embedding matrix is the output projection
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return h @ head.T


class Cache:
    """Per-layer cached tensors, each [S, ...], appended along axis 0."""

    def __init__(self, n_layers: int):
        self.layers: list[dict[str, torch.Tensor]] = [{} for _ in range(n_layers)]
        self.length = 0

    def append(self, layer: int, **parts: torch.Tensor) -> dict[str, torch.Tensor]:
        store = self.layers[layer]
        for name, value in parts.items():
            store[name] = value if name not in store else torch.cat((store[name], value), dim=0)
        return store

    def values_per_token(self) -> int:
        # cached scalars per token summed over layers: what the variant's cache really holds
        return sum(t.shape[1:].numel() for layer in self.layers for t in layer.values())

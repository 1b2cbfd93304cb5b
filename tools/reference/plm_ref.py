"""PLM (Multi-head Latent Attention + squared-ReLU MLP) reference, from docs/plm.md.

Two attention forms, which must agree:
- expanded: per-head k_nope and v are decoded from the latent c, as transformers' PLM/DeepSeek-V2
  code does; used for full recompute (`forward(..., absorbed=False)` with a fresh cache);
- absorbed: only the normalised latent c (kv_lora_rank) and the shared rope key (qk_rope_head_dim)
  are cached, and W_UK / W_UV are folded into the query and the output (plm.md, "The cache that
  nobody implements"); used for cached decoding.
"""

import math

import torch

from blocks import Cache, causal_softmax, linear, lm_head, rms_norm, rope_interleaved

# transformers builds q_a_layernorm and kv_a_layernorm as RMSNorm(rank) with the class default eps
# (1e-6), not rms_norm_eps; the fixtures set rms_norm_eps 1e-6 so both readings coincide.
LATENT_NORM_EPS = 1e-6


class PLMReference:
    def __init__(self, config: dict, weights: dict[str, torch.Tensor]):
        self.cfg = config
        self.w = weights
        self.n_heads = config["num_attention_heads"]
        self.d_c = config["kv_lora_rank"]
        self.d_nope = config["qk_nope_head_dim"]
        self.d_rope = config["qk_rope_head_dim"]
        self.d_v = config["v_head_dim"]
        self.q_lora = config.get("q_lora_rank")
        self.theta = config["rope_theta"]
        self.eps = config["rms_norm_eps"]
        # score scale 1/sqrt(qk_nope + qk_rope) (192 in PLM-1.8B), not 1/sqrt(head_dim)
        self.scale = 1.0 / math.sqrt(self.d_nope + self.d_rope)

    def new_cache(self) -> Cache:
        return Cache(self.cfg["num_hidden_layers"])

    def queries(self, x: torch.Tensor, p: str, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.w
        t = x.shape[0]
        # q = a Wq  (or q_b( RMSNorm(q_a(a)) ) when q_lora_rank is set) -> heads x [q_nope | q_rope]
        if self.q_lora is None:
            q = linear(x, w[p + "q_proj.weight"])
        else:
            q_a = rms_norm(linear(x, w[p + "q_a_proj.weight"]), w[p + "q_a_layernorm.weight"], LATENT_NORM_EPS)
            q = linear(q_a, w[p + "q_b_proj.weight"])
        q = q.view(t, self.n_heads, self.d_nope + self.d_rope)
        q_nope, q_rope = q[..., : self.d_nope], q[..., self.d_nope :]
        # RoPE on the rope dims only, interleaved pairs (2i, 2i+1), theta rope_theta
        return q_nope, rope_interleaved(q_rope, pos, self.theta)

    def latent(self, x: torch.Tensor, p: str, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self.w
        # [c | k_rope] = a W_kv_a ; c = RMSNorm_{kv_lora_rank}(c); ONE rope key shared by all heads
        ckv = linear(x, w[p + "kv_a_proj_with_mqa.weight"])
        c = rms_norm(ckv[:, : self.d_c], w[p + "kv_a_layernorm.weight"], LATENT_NORM_EPS)  # [T, d_c]
        k_rope = rope_interleaved(ckv[:, None, self.d_c :], pos, self.theta)[:, 0]  # [T, d_rope]
        return c, k_rope

    def up_projections(self, p: str) -> tuple[torch.Tensor, torch.Tensor]:
        # kv_b_proj.weight [n_heads*(d_nope+d_v), d_c]: per head, rows [k_nope | v]
        wkv_b = self.w[p + "kv_b_proj.weight"].view(self.n_heads, self.d_nope + self.d_v, self.d_c)
        return wkv_b[:, : self.d_nope, :], wkv_b[:, self.d_nope :, :]  # W_UK [h, d_nope, d_c], W_UV [h, d_v, d_c]

    def attention(self, x, pos, cache: Cache, layer: int, absorbed: bool) -> torch.Tensor:
        p = f"model.layers.{layer}.self_attn."
        t = x.shape[0]
        q_nope, q_rope = self.queries(x, p, pos)  # [T, h, d_nope], [T, h, d_rope]
        c_new, k_rope_new = self.latent(x, p, pos)
        kv = cache.append(layer, c=c_new, k_rope=k_rope_new)  # the whole MLA cache: [S, d_c] + [S, d_rope]
        c, k_rope = kv["c"], kv["k_rope"]
        w_uk, w_uv = self.up_projections(p)
        rope_scores = torch.einsum("thr,sr->hts", q_rope, k_rope)
        if absorbed:
            # q~_h = W_UK_h^T q_nope_h (d_c wide); score = (q~_h . c_s + q_rope_h . k_rope_s) * scale
            q_lat = torch.einsum("thn,hnc->thc", q_nope, w_uk)
            probs = causal_softmax((torch.einsum("thc,sc->hts", q_lat, c) + rope_scores) * self.scale, pos)
            # o_h = W_UV_h (sum_s p_s c_s)
            ctx = torch.einsum("hts,sc->thc", probs, c)
            out = torch.einsum("thc,hvc->thv", ctx, w_uv)
        else:
            # k_nope_h, v_h = per-head slices of c W_kv_b^T
            k_nope = torch.einsum("sc,hnc->shn", c, w_uk)
            v = torch.einsum("sc,hvc->shv", c, w_uv)
            scores = torch.einsum("thn,shn->hts", q_nope, k_nope) + rope_scores
            probs = causal_softmax(scores * self.scale, pos)
            out = torch.einsum("hts,shv->thv", probs, v)
        return linear(out.reshape(t, self.n_heads * self.d_v), self.w[p + "o_proj.weight"])

    def mlp(self, x: torch.Tensor, p: str) -> torch.Tensor:
        # h + W_down relu(W_up x)^2 : squared ReLU, no gate
        up = linear(x, self.w[p + "mlp.up_proj.weight"])
        return linear(torch.relu(up).square(), self.w[p + "mlp.down_proj.weight"])

    def forward(self, ids: list[int], cache: Cache, absorbed: bool = True) -> torch.Tensor:
        """Logits [T, vocab] for the new tokens ids, which follow the cache.length cached ones."""
        w = self.w
        pos = torch.arange(cache.length, cache.length + len(ids))
        h = w["model.embed_tokens.weight"][torch.tensor(ids)]  # no embedding scale
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            a = rms_norm(h, w[p + "input_layernorm.weight"], self.eps)
            h = h + self.attention(a, pos, cache, i, absorbed)
            h = h + self.mlp(rms_norm(h, w[p + "post_attention_layernorm.weight"], self.eps), p)
        cache.length += len(ids)
        # logits = RMSNorm(h) E^T (tied head)
        return lm_head(rms_norm(h, w["model.norm.weight"], self.eps), w)

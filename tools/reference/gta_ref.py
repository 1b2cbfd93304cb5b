"""GTA (Grouped-head latenT Attention) reference, from docs/gta.md.

The cache holds exactly what the variant needs: per layer and token n_k keys of key_dim (after
RoPE) and n_c latent groups of value_dim. Everything outside attention is Llama.
"""

import math

import torch

from blocks import Cache, causal_softmax, linear, lm_head, rms_norm, rope_rotate_half, swiglu_mlp


class GTAReference:
    def __init__(self, config: dict, weights: dict[str, torch.Tensor]):
        self.cfg = config
        self.w = weights
        self.hidden = config["hidden_size"]
        self.n_q = config["num_query_heads"]
        self.n_k = config["num_key_heads"]
        self.n_c = config["num_value_heads"]
        self.d_q = config["query_dim"]
        self.d_k = config["key_dim"]
        self.d_l = config["value_dim"]
        self.head_dim = config.get("head_dim") or self.hidden // config["num_attention_heads"]
        # expansion e = H / (n_q * value_dim): each group's attended latent decodes to e*value_dim values
        self.e = self.hidden // (self.n_q * self.d_l)
        assert self.e * self.n_q * self.d_l == self.hidden, "H must be a multiple of n_q*value_dim"
        assert self.d_q == self.d_k == self.head_dim, "RoPE spans head_dim, so query_dim = key_dim = head_dim"
        self.theta = config.get("rope_theta", 10000.0)  # the released config omits it: Llama default
        self.eps = config["rms_norm_eps"]

    def new_cache(self) -> Cache:
        return Cache(self.cfg["num_hidden_layers"])

    def attention(self, x: torch.Tensor, pos: torch.Tensor, cache: Cache, layer: int) -> torch.Tensor:
        p = f"model.layers.{layer}.self_attn."
        w = self.w
        t = x.shape[0]
        # step 1: q [n_q, query_dim], k [n_k, key_dim], latent c [n_c, value_dim]; all three carry biases
        q = linear(x, w[p + "q_proj.weight"], w[p + "q_proj.bias"]).view(t, self.n_q, self.d_q)
        k = linear(x, w[p + "k_proj.weight"], w[p + "k_proj.bias"]).view(t, self.n_k, self.d_k)
        c = linear(x, w[p + "v_proj.weight"], w[p + "v_proj.bias"]).view(t, self.n_c, self.d_l)
        # step 2: RoPE on q and k, all head_dim dims, rotate-half pairs (j, j + head_dim/2)
        q = rope_rotate_half(q, pos, self.theta)
        k = rope_rotate_half(k, pos, self.theta)
        # step 3: cache k (after RoPE) and c: [S, n_k, key_dim] and [S, n_c, value_dim]
        kv = cache.append(layer, k=k, c=c)
        # step 4: group g attends with key head g // (n_q/n_k) and latent group g // (n_q/n_c);
        # scale 1/sqrt(head_dim)
        keys = kv["k"].repeat_interleave(self.n_q // self.n_k, dim=1)  # [S, n_q, key_dim]
        lat = kv["c"].repeat_interleave(self.n_q // self.n_c, dim=1)  # [S, n_q, value_dim]
        scores = torch.einsum("tgd,sgd->gts", q, keys) / math.sqrt(self.head_dim)
        probs = causal_softmax(scores, pos)  # [n_q, T, S]
        a = torch.einsum("gts,sgv->tgv", probs, lat)  # a_g: [T, n_q, value_dim]
        # step 5: delta_g = a_g W_vb[g], W_vb = the raw row-major memory of v_b_proj.weight
        # ([e*value_dim, n_q*value_dim]) read as [n_q, value_dim, e*value_dim]: a reshape, not a transpose
        w_vb = w[p + "v_b_proj.weight"].reshape(self.n_q, self.d_l, self.e * self.d_l)
        delta = torch.einsum("tgv,gvd->tgd", a, w_vb)  # [T, n_q, e*value_dim]
        # out_g = tile(a_g, e) + delta_g: the whole a_g repeated e times end to end
        out = (a.repeat(1, 1, self.e) + delta).reshape(t, self.hidden)
        # step 6: attn_out = o_proj( sigmoid(g_proj(x)) * out ), the gate from the current token
        gate = torch.sigmoid(linear(x, w[p + "g_proj.weight"], w[p + "g_proj.bias"]))
        return linear(gate * out, w[p + "o_proj.weight"])

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

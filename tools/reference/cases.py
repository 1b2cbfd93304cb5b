"""The golden cases: tiny configs in each family's real config.json format, and their weight lists.

Configs are written by hand in the field set that the released checkpoints carry (rope_theta,
torch_dtype, ...), not by transformers 5's save_pretrained, whose format (rope_parameters, dtype)
differs from what users download.
"""

HIDDEN = 64
LAYERS = 2
MAX_POS = 256

# kind of each tensor: how make_golden draws it
NORM, BIAS, EMBED, MATRIX = "norm", "bias", "embed", "matrix"


def llama_config(vocab, heads, kv_heads, inter, tied, theta, eps, head_dim_field, bos, eos):
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "max_position_embeddings": MAX_POS,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": heads,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": eps,
        "rope_scaling": None,
        "rope_theta": theta,
        "tie_word_embeddings": tied,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": vocab,
    }
    if head_dim_field:  # Llama 3.x configs carry head_dim; Llama 2 era ones derive it
        cfg["head_dim"] = HIDDEN // heads
    return cfg


def qwen2_config(vocab, heads, kv_heads, inter, theta, eps, bos, eos):
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "max_position_embeddings": MAX_POS,
        "max_window_layers": LAYERS,
        "model_type": "qwen2",
        "num_attention_heads": heads,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": kv_heads,
        "rms_norm_eps": eps,
        "rope_scaling": None,
        "rope_theta": theta,
        "sliding_window": MAX_POS,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": vocab,
    }


def plm_config(vocab, heads, inter, kv_rank, q_rank, nope, rope, v_dim, theta, bos, eos):
    return {
        "architectures": ["PLMForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": bos,
        "eos_token_id": eos,
        # PLMConfig sets head_dim = qk_rope_head_dim: it is NOT the attention head width
        "head_dim": rope,
        "hidden_act": "relu2",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "kv_lora_rank": kv_rank,
        "max_position_embeddings": MAX_POS,
        "model_type": "plm",
        "num_attention_heads": heads,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": heads,
        "pretraining_tp": 1,
        "q_lora_rank": q_rank,
        "qk_nope_head_dim": nope,
        "qk_rope_head_dim": rope,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": theta,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "v_head_dim": v_dim,
        "vocab_size": vocab,
    }


def gta_config(vocab, heads, head_dim, inter, n_q, n_k, n_c, key_dim, value_dim, theta, bos, eos):
    cfg = {
        "architectures": ["GTAForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "auto_map": {
            "AutoConfig": "configuration_gta.GTAConfig",
            "AutoModel": "modeling_gta.GTAModel",
            "AutoModelForCausalLM": "modeling_gta.GTAForCausalLM",
        },
        "bos_token_id": bos,
        "eos_token_id": eos,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "max_position_embeddings": MAX_POS,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": heads,
        "num_hidden_layers": LAYERS,
        "num_query_heads": n_q,
        "query_dim": head_dim,
        "num_key_heads": n_k,
        "key_dim": key_dim,
        "num_value_heads": n_c,
        "value_dim": value_dim,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": vocab,
    }
    if theta is not None:  # the released GTA-1B config omits rope_theta (default 10000)
        cfg["rope_theta"] = theta
    return cfg


def weight_list(cfg: dict) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, shape [out, in], kind) for every tensor of the checkpoint, in file order."""
    arch = cfg["architectures"][0]
    h, v, inter = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    out = [("model.embed_tokens.weight", (v, h), EMBED)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", (h,), NORM))
        out += attention_weights(cfg, p + "self_attn.")
        out.append((p + "post_attention_layernorm.weight", (h,), NORM))
        if arch != "PLMForCausalLM":
            out.append((p + "mlp.gate_proj.weight", (inter, h), MATRIX))
        out.append((p + "mlp.up_proj.weight", (inter, h), MATRIX))
        out.append((p + "mlp.down_proj.weight", (h, inter), MATRIX))
    out.append(("model.norm.weight", (h,), NORM))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", (v, h), EMBED))  # drawn like the embedding so logits are not flat
    return out


def attention_weights(cfg: dict, p: str) -> list[tuple[str, tuple[int, ...], str]]:
    arch = cfg["architectures"][0]
    h = cfg["hidden_size"]
    if arch in ("LlamaForCausalLM", "Qwen2ForCausalLM"):
        hd = cfg.get("head_dim") or h // cfg["num_attention_heads"]
        nq, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        out = [(p + "q_proj.weight", (nq * hd, h), MATRIX)]
        if arch == "Qwen2ForCausalLM":
            out.append((p + "q_proj.bias", (nq * hd,), BIAS))
        out.append((p + "k_proj.weight", (nkv * hd, h), MATRIX))
        if arch == "Qwen2ForCausalLM":
            out.append((p + "k_proj.bias", (nkv * hd,), BIAS))
        out.append((p + "v_proj.weight", (nkv * hd, h), MATRIX))
        if arch == "Qwen2ForCausalLM":
            out.append((p + "v_proj.bias", (nkv * hd,), BIAS))
        return out + [(p + "o_proj.weight", (h, nq * hd), MATRIX)]
    if arch == "PLMForCausalLM":
        nh = cfg["num_attention_heads"]
        qk = cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]
        rank, qr = cfg["kv_lora_rank"], cfg["q_lora_rank"]
        if qr is None:
            out = [(p + "q_proj.weight", (nh * qk, h), MATRIX)]
        else:
            out = [
                (p + "q_a_proj.weight", (qr, h), MATRIX),
                (p + "q_a_layernorm.weight", (qr,), NORM),
                (p + "q_b_proj.weight", (nh * qk, qr), MATRIX),
            ]
        return out + [
            (p + "kv_a_proj_with_mqa.weight", (rank + cfg["qk_rope_head_dim"], h), MATRIX),
            (p + "kv_a_layernorm.weight", (rank,), NORM),
            (p + "kv_b_proj.weight", (nh * (cfg["qk_nope_head_dim"] + cfg["v_head_dim"]), rank), MATRIX),
            (p + "o_proj.weight", (h, nh * cfg["v_head_dim"]), MATRIX),
        ]
    if arch == "GTAForCausalLM":
        nq, dq = cfg["num_query_heads"], cfg["query_dim"]
        nk, dk = cfg["num_key_heads"], cfg["key_dim"]
        nc, dl = cfg["num_value_heads"], cfg["value_dim"]
        e = h // (nq * dl)
        return [
            (p + "q_proj.weight", (nq * dq, h), MATRIX),
            (p + "q_proj.bias", (nq * dq,), BIAS),
            (p + "k_proj.weight", (nk * dk, h), MATRIX),
            (p + "k_proj.bias", (nk * dk,), BIAS),
            (p + "v_proj.weight", (nc * dl, h), MATRIX),
            (p + "v_proj.bias", (nc * dl,), BIAS),
            (p + "o_proj.weight", (h, cfg["num_attention_heads"] * cfg["head_dim"]), MATRIX),
            (p + "g_proj.weight", (h, h), MATRIX),
            (p + "g_proj.bias", (h,), BIAS),
            (p + "v_b_proj.weight", (e * dl, nq * dl), MATRIX),
        ]
    raise ValueError(f"no weight list for {arch}")


# name -> (seed, config, what the case pins down)
CASES = {
    "llama-gqa": (
        1001,
        llama_config(256, 4, 2, 96, tied=False, theta=10000.0, eps=1e-05, head_dim_field=True, bos=1, eos=2),
        "Llama GQA: 4 query heads share 2 kv heads, head_dim 16, untied lm_head, head_dim in config",
    ),
    "llama-mha": (
        1002,
        llama_config(300, 4, 4, 96, tied=True, theta=500000.0, eps=1e-05, head_dim_field=False, bos=1, eos=2),
        "Llama MHA: 4/4 heads, tied embeddings, vocab 300 (no power of two), rope_theta 5e5, head_dim derived",
    ),
    "qwen2-bias": (
        1003,
        qwen2_config(320, 4, 2, 96, theta=1000000.0, eps=1e-06, bos=318, eos=319),
        "Qwen2: q/k/v biases, GQA 4/2, tied, rope_theta 1e6, eps 1e-6",
    ),
    "plm": (
        1004,
        plm_config(320, 4, 128, kv_rank=32, q_rank=None, nope=16, rope=8, v_dim=16, theta=100000.0, bos=318, eos=319),
        "PLM: MLA without query compression, latent 32 + shared rope key 8, qk 16+8, v 16, relu2 MLP",
    ),
    "plm-qlora": (
        1005,
        plm_config(288, 4, 128, kv_rank=32, q_rank=24, nope=16, rope=8, v_dim=16, theta=100000.0, bos=286, eos=287),
        "MLA with query compression: q_a_proj -> q_a_layernorm -> q_b_proj, otherwise as plm",
    ),
    "gta-mqa": (
        1006,
        gta_config(320, 8, 8, 96, n_q=2, n_k=1, n_c=1, key_dim=8, value_dim=16, theta=None, bos=318, eos=319),
        "GTA like GTA-1B in miniature: 8 heads in 2 query groups, 1 key head (8), 1 latent head (16), e=2, no rope_theta",
    ),
    "gta-multi": (
        1007,
        gta_config(264, 8, 8, 96, n_q=4, n_k=2, n_c=2, key_dim=8, value_dim=8, theta=50000.0, bos=262, eos=263),
        "GTA with 4 query groups, 2 key heads, 2 latent heads (8), e=2, non-square v_b_proj [16, 32], rope_theta 5e4",
    ),
}

"""Write a trained zoo model in its family's released format: config.json as the real checkpoints
spell it, F16 safetensors with the real tensor names (tied lm_head not stored), generation_config.json.

  mha / gqa : LlamaForCausalLM (transformers loads it as is)
  mla       : PLMForCausalLM, model_type "plm" (the PLM-1.8B layout)
  gta       : GTAForCausalLM, model_type "llama" (the official GTA-1B layout)
"""

import json
import os

import torch

from data import EOT, IM_END

TRANSFORMERS_VERSION = "5.17.0"


def family_config(variant, c):
    """config.json for one variant; c holds the shared and variant fields under their HF names."""
    common = {
        "vocab_size": c["vocab_size"],
        "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"],
        "max_position_embeddings": c["max_position_embeddings"],
        "rms_norm_eps": c["rms_norm_eps"],
        "hidden_act": c["hidden_act"],
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "bos_token_id": EOT,
        "eos_token_id": EOT,
        "pad_token_id": EOT,
        "use_cache": True,
        "torch_dtype": "float16",
        "transformers_version": TRANSFORMERS_VERSION,
    }
    # transformers 4 reads rope_theta, transformers 5 rope_parameters; both say the same.
    rope = {"rope_theta": c["rope_theta"], "rope_parameters": {"rope_type": "default", "rope_theta": c["rope_theta"]}}
    if variant in ("mha", "gqa"):
        return {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            **common,
            "num_key_value_heads": c["num_key_value_heads"],
            "head_dim": c["head_dim"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "mlp_bias": False,
            "pretraining_tp": 1,
            **rope,
        }
    if variant == "mla":
        return {
            "architectures": ["PLMForCausalLM"],
            "model_type": "plm",
            **common,
            "num_key_value_heads": c["num_attention_heads"],
            "kv_lora_rank": c["kv_lora_rank"],
            "q_lora_rank": None,
            "qk_nope_head_dim": c["qk_nope_head_dim"],
            "qk_rope_head_dim": c["qk_rope_head_dim"],
            "v_head_dim": c["v_head_dim"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "rope_theta": c["rope_theta"],
            "rope_scaling": None,
        }
    return {
        "architectures": ["GTAForCausalLM"],
        "model_type": "llama",
        **common,
        "head_dim": c["head_dim"],
        "num_query_heads": c["num_query_heads"],
        "query_dim": c["query_dim"],
        "num_key_heads": c["num_key_heads"],
        "key_dim": c["key_dim"],
        "num_value_heads": c["num_value_heads"],
        "value_dim": c["value_dim"],
        "rope_theta": c["rope_theta"],
    }


def generation_config():
    # Stop at <|im_end|> (end of a chat turn) as well as <|endoftext|> (end of a document).
    return {"bos_token_id": EOT, "eos_token_id": [IM_END, EOT], "pad_token_id": EOT, "do_sample": True,
            "temperature": 0.8, "top_p": 0.95, "max_new_tokens": 256, "transformers_version": TRANSFORMERS_VERSION}


def export_checkpoint(model, variant, cfg, spec, out_dir):
    from safetensors.torch import save_file

    os.makedirs(out_dir, exist_ok=True)
    tensors = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "variant": variant, "name": spec["name"]}
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata=meta)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(family_config(variant, cfg), f, indent=2)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump(generation_config(), f, indent=2)

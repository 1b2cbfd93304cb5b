"""Checks of the reference modules against transformers' own classes.

- Llama/Qwen2: llama_ref vs LlamaForCausalLM / Qwen2ForCausalLM (validates the blocks GTA reuses).
- PLM: plm_ref vs DeepseekV2ForCausalLM holding the same MLA weights. DeepSeek-V2's dense MLP is
  SwiGLU, down(act(gate x) * up x); with act = relu and gate_proj = up_proj it computes
  relu(u) * u = relu(u)^2, which is exactly PLM's ungated squared-ReLU MLP.
- GTA: gta_ref on a degenerate GTA that must equal a Qwen2 model: n_q = n_heads, e = 1,
  v_b_proj = 0 and a gate saturated at 1 (g_proj weight 0, bias 40: sigmoid(40) rounds to 1.0 in
  float64). This pins RoPE, key-head grouping, scale, masking, q/k/v biases and the Llama parts;
  the tile/delta/gate path is not covered by any library and rests on the docs alone.
"""

import inspect
import json
import os
import tempfile

import torch
from safetensors.torch import save_file

from cases import HIDDEN, LAYERS, MAX_POS, gta_config
from gta_ref import GTAReference
from llama_ref import LlamaReference
from runners import F64, HF_TOL, OWN_TOL, HFRunner, RefRunner, greedy, max_abs

CROSS_TOL = 5e-5  # transformers rounds RoPE tables and RMSNorm inputs to float32


def load_hf(cls, directory: str):
    try:
        model = cls.from_pretrained(directory, dtype=F64, attn_implementation="eager")
    except TypeError:
        model = cls.from_pretrained(directory, torch_dtype=F64, attn_implementation="eager")
    model.eval()
    assert next(model.parameters()).dtype == F64, "model did not load in float64"
    return model


def verify_loaded(model, weights: dict[str, torch.Tensor], tied: bool) -> None:
    """Every file tensor is in the model unchanged and the model has nothing the file lacks
    (a missing weight would be silently random-initialised)."""
    state = model.state_dict()
    for name, t in weights.items():
        assert name in state, f"{name} not in the loaded model"
        assert torch.equal(state[name].cpu(), t), f"{name} changed on load"
    extra = set(state) - set(weights)
    if tied and "lm_head.weight" in state:
        assert torch.equal(state["lm_head.weight"].cpu(), weights["model.embed_tokens.weight"]), "head not tied"
        extra.discard("lm_head.weight")
    assert not extra, f"model has tensors the checkpoint lacks: {sorted(extra)}"


def llama_crosscheck(cfg: dict, w64: dict, prompt: list[int], run: dict) -> dict:
    own = greedy(RefRunner(LlamaReference(cfg, w64)), prompt, len(run["greedy_ids"]), OWN_TOL)
    diff = max_abs(own["full_logits"], run["full_logits"])
    assert diff < CROSS_TOL, f"llama_ref differs from transformers by {diff}"
    assert own["greedy_ids"] == run["greedy_ids"], "llama_ref picks other greedy ids than transformers"
    return {"llama_ref_vs_transformers_max_abs": diff}


def cuda_check(model, ids: list[int], cpu_logits: torch.Tensor) -> float | None:
    if not torch.cuda.is_available():
        return None
    model.to("cuda")
    try:
        gpu = HFRunner(model).full(ids)
    finally:
        model.to("cpu")
    return max_abs(gpu, cpu_logits)


def deepseek_crosscheck(cfg: dict, f32: dict, w64: dict, prompt: list[int], run: dict) -> dict:
    from transformers import DeepseekV2ForCausalLM

    ds_cfg = {
        "architectures": ["DeepseekV2ForCausalLM"],
        "model_type": "deepseek_v2",
        "vocab_size": cfg["vocab_size"],
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "moe_intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_attention_heads"],
        "n_shared_experts": 1,
        "n_routed_experts": 4,
        "num_experts_per_tok": 2,
        "routed_scaling_factor": 1.0,
        "topk_method": "greedy",
        "n_group": 1,
        "topk_group": 1,
        "norm_topk_prob": False,
        "first_k_dense_replace": cfg["num_hidden_layers"],  # every layer dense
        "kv_lora_rank": cfg["kv_lora_rank"],
        "q_lora_rank": cfg["q_lora_rank"],
        "qk_nope_head_dim": cfg["qk_nope_head_dim"],
        "qk_rope_head_dim": cfg["qk_rope_head_dim"],
        "v_head_dim": cfg["v_head_dim"],
        "head_dim": cfg["qk_rope_head_dim"],
        "hidden_act": "relu",
        "mlp_bias": False,
        "max_position_embeddings": cfg["max_position_embeddings"],
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "tie_word_embeddings": True,
        "bos_token_id": cfg["bos_token_id"],
        "eos_token_id": cfg["eos_token_id"],
        "torch_dtype": "float32",
    }
    tensors = dict(f32)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}.mlp."
        tensors[p + "gate_proj.weight"] = f32[p + "up_proj.weight"].clone()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(ds_cfg, f)
        save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        model = load_hf(DeepseekV2ForCausalLM, d)
    dense = all(hasattr(layer.mlp, "gate_proj") for layer in model.model.layers)
    assert dense, "DeepseekV2 built MoE layers despite first_k_dense_replace"
    verify_loaded(model, {k: v.to(F64) for k, v in tensors.items()}, tied=True)
    theirs = greedy(HFRunner(model), prompt, len(run["greedy_ids"]), HF_TOL)
    diff = max(max_abs(theirs["full_logits"], run["full_logits"]), max_abs(theirs["step_logits"], run["step_logits"]))
    if diff >= CROSS_TOL:
        print(inspect.getsource(type(model.model.layers[0].self_attn).forward))
    assert diff < CROSS_TOL, f"plm_ref differs from DeepseekV2ForCausalLM by {diff}"
    assert theirs["greedy_ids"] == run["greedy_ids"], "DeepseekV2 picks other greedy ids than plm_ref"
    return {"plm_ref_vs_deepseek_v2_max_abs": diff}


def gta_degenerate_check(qwen_cfg: dict, w64: dict, prompt: list[int], run: dict) -> dict:
    heads, kv = qwen_cfg["num_attention_heads"], qwen_cfg["num_key_value_heads"]
    hd = HIDDEN // heads
    cfg = gta_config(
        qwen_cfg["vocab_size"], heads, hd, qwen_cfg["intermediate_size"], n_q=heads, n_k=kv, n_c=kv,
        key_dim=hd, value_dim=hd, theta=qwen_cfg["rope_theta"], bos=0, eos=1,
    )
    cfg["rms_norm_eps"] = qwen_cfg["rms_norm_eps"]
    assert cfg["num_hidden_layers"] == LAYERS and cfg["max_position_embeddings"] == MAX_POS
    w = dict(w64)
    for i in range(LAYERS):
        p = f"model.layers.{i}.self_attn."
        w[p + "g_proj.weight"] = torch.zeros(HIDDEN, HIDDEN, dtype=F64)
        w[p + "g_proj.bias"] = torch.full((HIDDEN,), 40.0, dtype=F64)
        w[p + "v_b_proj.weight"] = torch.zeros(hd, heads * hd, dtype=F64)  # e = 1
    own = greedy(RefRunner(GTAReference(cfg, w)), prompt, len(run["greedy_ids"]), OWN_TOL)
    diff = max_abs(own["full_logits"], run["full_logits"])
    assert diff < CROSS_TOL, f"degenerate gta_ref differs from Qwen2ForCausalLM by {diff}"
    assert own["greedy_ids"] == run["greedy_ids"], "degenerate gta_ref picks other greedy ids than Qwen2"
    return {"degenerate_gta_ref_vs_qwen2_max_abs": diff}

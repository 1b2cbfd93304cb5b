"""Attention-map goldens for the v1 fixtures: every layer's softmax attention probabilities.

Usage (on a machine with torch and transformers):
    python3 tools/reference/make_attention_golden.py --out DIR
writes DIR/<case>/attention.json for the seven v1 cases and DIR/summary.json. Copy each
attention.json next to its fixture in test/fixtures/golden/v1/<case>/.

The fixtures are read, never rebuilt: config.json + model.safetensors as committed (the file's
sha256 must equal golden.json's weights_sha256), prompt_ids from golden.json, one prefill of the
prompt from an empty cache, float64 throughout.

Sources of the stored maps:
- llama-gqa, llama-mha, qwen2-bias: transformers LlamaForCausalLM / Qwen2ForCausalLM (eager
  attention, float64, CPU, output_attentions=True), one map per query head. Cross-checked against a
  forward hook on every self_attn module, against llama_ref.py and against the numpy implementation below.
- plm, plm-qlora: plm_ref.py, one map per head, in both its expanded and its absorbed (latent-cache)
  form, which must agree. Cross-checked against numpy and (soft) against DeepseekV2ForCausalLM holding
  the same MLA weights, as crosschecks.py does for the logits.
- gta-mqa, gta-multi: gta_ref.py, one map per query group: a group has one query, so all of its
  heads read the same map. Cross-checked against numpy.
The reference modules are not edited: their probabilities are read by wrapping the causal_softmax that
each module imported from blocks.py, and the wrapped forward must give the same logits bit for bit.

Every map is checked: entries in [0, 1], each row sums to 1, exact zeros above the diagonal.

--numpy-only runs the numpy implementation alone (no torch needed); its files are for checking this
script and the test on a machine without torch, not for committing.
"""

import argparse
import contextlib
import hashlib
import json
import math
import os
import struct
import sys
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ROOT = os.path.join(HERE, "..", "..", "test", "fixtures", "golden", "v1")
VERSION = 1
CASES = ["llama-gqa", "llama-mha", "qwen2-bias", "plm", "plm-qlora", "gta-mqa", "gta-multi"]
LOGIT_TOL = 2e-5  # golden.json logits are rounded to 6 significant digits
OWN_TOL = 1e-12  # float64 implementations of the same maths
HF_TOL = 1e-5  # transformers rounds RoPE tables, RMSNorm inputs and softmax to float32
ROW_SUM_TOL = 1e-12  # float64 softmax
HF_ROW_SUM_TOL = 1e-6  # transformers' eager softmax runs in float32, then is cast back to float64


# ---------------------------------------------------------------- file access (numpy only)


def load_safetensors(path: str) -> dict[str, np.ndarray]:
    # u64 header length, JSON header {name: {dtype, shape, data_offsets}}, raw little-endian data
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: expected F32, got {info['dtype']}"
        start, end = info["data_offsets"]
        data = np.frombuffer(raw[8 + n + start : 8 + n + end], dtype="<f4")
        out[name] = data.reshape(info["shape"]).astype(np.float64)
    return out


def load_case(root: str, name: str) -> dict:
    folder = os.path.join(root, name)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    golden = json.load(open(os.path.join(folder, "golden.json")))
    weights_path = os.path.join(folder, "model.safetensors")
    sha = hashlib.sha256(open(weights_path, "rb").read()).hexdigest()
    assert sha == golden["weights_sha256"], f"{name}: model.safetensors sha256 {sha} != golden.json's"
    return {
        "name": name,
        "folder": folder,
        "cfg": cfg,
        "arch": cfg["architectures"][0],
        "sha": sha,
        "prompt": golden["prompt_ids"],
        "prompt_logits": np.array(golden["prompt_logits"]),
        "weights_path": weights_path,
    }


# ---------------------------------------------------------------- independent numpy implementation
# Written from the equations loop-per-head, separately from the torch modules; it yields the maps of
# every layer and the logits (checked against golden.json, so the maps come from the right model).


def np_rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def np_rope_half(x, pos, theta):  # x [T, heads, d], pairs (j, j + d/2)
    d = x.shape[-1]
    ang = pos[:, None] * theta ** (-np.arange(0, d, 2) / d)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    lo, hi = x[..., : d // 2], x[..., d // 2 :]
    return np.concatenate([lo * cos - hi * sin, hi * cos + lo * sin], -1)


def np_rope_interleaved(x, pos, theta):  # x [T, heads, d], pairs (2i, 2i+1)
    d = x.shape[-1]
    ang = pos[:, None] * theta ** (-np.arange(0, d, 2) / d)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    out = np.empty_like(x)
    out[..., 0::2] = x[..., 0::2] * cos - x[..., 1::2] * sin
    out[..., 1::2] = x[..., 0::2] * sin + x[..., 1::2] * cos
    return out


def np_softmax_causal(scores):  # [T, T]: key s visible to query t iff s <= t
    s = scores.copy()
    s[np.triu(np.ones(s.shape, dtype=bool), 1)] = -np.inf
    p = np.exp(s - s.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def np_lin(x, w, name, bias=False):
    y = x @ w[name + ".weight"].T
    return y + w[name + ".bias"] if bias and name + ".bias" in w else y


def np_swiglu(x, w, p):
    g = np_lin(x, w, p + "gate_proj")
    return ((g / (1 + np.exp(-g))) * np_lin(x, w, p + "up_proj")) @ w[p + "down_proj.weight"].T


def np_forward(cfg: dict, w: dict, ids: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """(maps per layer [n_maps, T, T], logits [T, vocab]) for one prefill from an empty cache."""
    arch = cfg["architectures"][0]
    t = len(ids)
    pos = np.arange(t, dtype=np.float64)
    eps = cfg["rms_norm_eps"]
    theta = cfg.get("rope_theta", 10000.0)
    h = w["model.embed_tokens.weight"][ids]
    maps = []
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        a = p + "self_attn."
        x = np_rms(h, w[p + "input_layernorm.weight"], eps)
        probs, outs = [], []
        if arch in ("LlamaForCausalLM", "Qwen2ForCausalLM"):
            nh = cfg["num_attention_heads"]
            nkv = cfg.get("num_key_value_heads", nh)
            hd = cfg.get("head_dim") or cfg["hidden_size"] // nh
            q = np_rope_half(np_lin(x, w, a + "q_proj", True).reshape(t, nh, hd), pos, theta)
            k = np_rope_half(np_lin(x, w, a + "k_proj", True).reshape(t, nkv, hd), pos, theta)
            v = np_lin(x, w, a + "v_proj", True).reshape(t, nkv, hd)
            for head in range(nh):
                kv = head // (nh // nkv)
                pr = np_softmax_causal(q[:, head] @ k[:, kv].T / math.sqrt(hd))
                probs.append(pr)
                outs.append(pr @ v[:, kv])
            h = h + np.concatenate(outs, -1) @ w[a + "o_proj.weight"].T
            h = h + np_swiglu(np_rms(h, w[p + "post_attention_layernorm.weight"], eps), w, p + "mlp.")
        elif arch == "PLMForCausalLM":
            nh, dc = cfg["num_attention_heads"], cfg["kv_lora_rank"]
            dn, dr, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
            if cfg.get("q_lora_rank") is None:
                q = np_lin(x, w, a + "q_proj")
            else:  # q_a_layernorm / kv_a_layernorm: eps 1e-6 fixed in the HF code
                q = np_lin(np_rms(np_lin(x, w, a + "q_a_proj"), w[a + "q_a_layernorm.weight"], 1e-6), w, a + "q_b_proj")
            q = q.reshape(t, nh, dn + dr)
            q_nope, q_rope = q[..., :dn], np_rope_interleaved(q[..., dn:], pos, theta)
            ckv = np_lin(x, w, a + "kv_a_proj_with_mqa")
            c = np_rms(ckv[:, :dc], w[a + "kv_a_layernorm.weight"], 1e-6)
            k_rope = np_rope_interleaved(ckv[:, None, dc:], pos, theta)[:, 0]  # one rope key for all heads
            kvb = (c @ w[a + "kv_b_proj.weight"].T).reshape(t, nh, dn + dv)
            for head in range(nh):
                scores = q_nope[:, head] @ kvb[:, head, :dn].T + q_rope[:, head] @ k_rope.T
                pr = np_softmax_causal(scores / math.sqrt(dn + dr))
                probs.append(pr)
                outs.append(pr @ kvb[:, head, dn:])
            h = h + np.concatenate(outs, -1) @ w[a + "o_proj.weight"].T
            up = np_lin(np_rms(h, w[p + "post_attention_layernorm.weight"], eps), w, p + "mlp.up_proj")
            h = h + np.maximum(up, 0.0) ** 2 @ w[p + "mlp.down_proj.weight"].T
        elif arch == "GTAForCausalLM":
            hidden = cfg["hidden_size"]
            nq, nk, nc = cfg["num_query_heads"], cfg["num_key_heads"], cfg["num_value_heads"]
            hd, dl = cfg["head_dim"], cfg["value_dim"]
            e = hidden // (nq * dl)
            q = np_rope_half(np_lin(x, w, a + "q_proj", True).reshape(t, nq, hd), pos, theta)
            k = np_rope_half(np_lin(x, w, a + "k_proj", True).reshape(t, nk, hd), pos, theta)
            c = np_lin(x, w, a + "v_proj", True).reshape(t, nc, dl)
            flat_vb = w[a + "v_b_proj.weight"].reshape(-1)  # raw row-major memory
            for g in range(nq):
                pr = np_softmax_causal(q[:, g] @ k[:, g // (nq // nk)].T / math.sqrt(hd))
                probs.append(pr)
                a_g = pr @ c[:, g // (nq // nc)]
                block = dl * e * dl
                outs.append(np.tile(a_g, (1, e)) + a_g @ flat_vb[g * block : (g + 1) * block].reshape(dl, e * dl))
            gate = 1.0 / (1.0 + np.exp(-np_lin(x, w, a + "g_proj", True)))
            h = h + (gate * np.concatenate(outs, -1)) @ w[a + "o_proj.weight"].T
            h = h + np_swiglu(np_rms(h, w[p + "post_attention_layernorm.weight"], eps), w, p + "mlp.")
        else:
            raise ValueError(arch)
        maps.append(np.stack(probs))
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return maps, np_rms(h, w["model.norm.weight"], eps) @ head.T


# ---------------------------------------------------------------- checks and output


def check_maps(maps: list[np.ndarray], n_maps: int, t: int, row_sum_tol: float = ROW_SUM_TOL) -> dict:
    """Shape, range, rows summing to 1 and exact causal zeros; returns the worst values seen."""
    worst_sum, upper = 0.0, np.triu(np.ones((t, t), dtype=bool), 1)
    for i, m in enumerate(maps):
        assert m.shape == (n_maps, t, t), f"layer {i}: maps {m.shape}, expected {(n_maps, t, t)}"
        assert np.all(np.isfinite(m)) and m.min() >= 0.0 and m.max() <= 1.0, f"layer {i}: entries outside [0, 1]"
        assert np.all(m[:, upper] == 0.0), f"layer {i}: non-zero probability above the diagonal"
        worst_sum = max(worst_sum, float(np.abs(m.sum(-1) - 1.0).max()))
    assert worst_sum < row_sum_tol, f"rows sum to 1 only within {worst_sum}"
    return {"row_sum_max_abs_err": worst_sum}


def max_abs_maps(a: list, b: list) -> float:
    assert len(a) == len(b), f"{len(a)} vs {len(b)} layers"
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(a, b))


def r9(x: float) -> str:
    assert math.isfinite(x)
    return f"{x:.9g}"  # 9 significant digits: a valid JSON number


def write_attention(path: str, meta: dict, maps: list[np.ndarray]) -> None:
    # small fields first, then layers -> maps -> one query row per line
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in meta.items())
    layers = []
    for m in maps:
        blocks = []
        for one in m:
            rows = ",\n".join("      [" + ",".join(r9(v) for v in row.tolist()) + "]" for row in one)
            blocks.append("    [\n" + rows + "\n    ]")
        layers.append("  [\n" + ",\n".join(blocks) + "\n  ]")
    body += ',\n  "layers": [\n' + ",\n".join(layers) + "\n  ]"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("{\n" + body + "\n}\n")
    # the file reads back to the maps within the rounding
    back = json.load(open(path))["layers"]
    assert max_abs_maps(back, maps) <= 1e-9, "attention.json does not read back"


# ---------------------------------------------------------------- torch sources


@contextlib.contextmanager
def capture_softmax(module):
    """Record what module.causal_softmax returns, without changing it (same tensor returned)."""
    got: list = []
    orig = module.causal_softmax

    def wrapped(scores, q_pos):
        probs = orig(scores, q_pos)
        got.append(probs.detach().clone())
        return probs

    module.causal_softmax = wrapped
    try:
        yield got
    finally:
        module.causal_softmax = orig


def ref_maps(module, ref, prompt: list[int], **kwargs) -> tuple[list[np.ndarray], np.ndarray]:
    """Maps from a reference module's prefill; asserts the wrapper left the logits bit-identical."""
    import torch

    with torch.no_grad():
        plain = ref.forward(prompt, ref.new_cache(), **kwargs)
        with capture_softmax(module) as got:
            logits = ref.forward(prompt, ref.new_cache(), **kwargs)
    assert torch.equal(plain, logits), "capturing the softmax changed the logits"
    assert len(got) == ref.cfg["num_hidden_layers"], f"{len(got)} softmax calls for {ref.cfg['num_hidden_layers']} layers"
    return [g.numpy() for g in got], logits.numpy()


def hf_maps(case: dict, w64: dict, checks: dict) -> tuple[list[np.ndarray], np.ndarray]:
    import torch
    import transformers

    import crosschecks

    model = crosschecks.load_hf(getattr(transformers, case["arch"]), case["folder"])
    crosschecks.verify_loaded(model, w64, tied=case["cfg"]["tie_word_embeddings"])
    hooked: list = []

    def hook(_mod, _args, output):
        if isinstance(output, tuple) and len(output) > 1 and output[1] is not None:
            hooked.append(output[1].detach().clone())

    handles = [layer.self_attn.register_forward_hook(hook) for layer in model.model.layers]
    try:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([case["prompt"]]), use_cache=False, output_attentions=True)
    finally:
        for hnd in handles:
            hnd.remove()
    att = getattr(out, "attentions", None)
    layers = case["cfg"]["num_hidden_layers"]
    if att is not None and len(att) == layers:
        maps = [a[0].to("cpu", torch.float64).numpy() for a in att]
        checks["source_detail"] = "output_attentions=True"
        if len(hooked) == layers:
            checks["output_attentions_vs_hook_max_abs"] = max_abs_maps(maps, [hk[0].to(torch.float64).numpy() for hk in hooked])
    else:
        assert len(hooked) == layers, "transformers returned no attentions and the hooks caught none"
        maps = [hk[0].to("cpu", torch.float64).numpy() for hk in hooked]
        checks["source_detail"] = "forward hook on self_attn (output_attentions returned none)"
    checks["transformers_probs_dtype"] = str((att[0] if att is not None else hooked[0]).dtype)
    return maps, out.logits[0].to("cpu", torch.float64).numpy()


def deepseek_maps(case: dict, f32: dict, prompt: list[int]) -> list[np.ndarray]:
    """DeepseekV2ForCausalLM with the PLM's MLA weights (the configuration crosschecks.py uses for the
    logits: every layer dense, relu with gate_proj = up_proj for PLM's relu^2 MLP)."""
    import tempfile

    import torch
    from safetensors.torch import save_file
    from transformers import DeepseekV2ForCausalLM

    import crosschecks

    cfg = case["cfg"]
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
        "first_k_dense_replace": cfg["num_hidden_layers"],
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
        model = crosschecks.load_hf(DeepseekV2ForCausalLM, d)
    crosschecks.verify_loaded(model, {k: v.to(torch.float64) for k, v in tensors.items()}, tied=True)
    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt]), use_cache=False, output_attentions=True)
    assert out.attentions is not None and len(out.attentions) == cfg["num_hidden_layers"], "no attentions returned"
    return [a[0].to("cpu", torch.float64).numpy() for a in out.attentions]


def cross(checks: dict, failures: list, label: str, fn, tol: float) -> None:
    """A cross-check of the stored maps: a failure is recorded (the run then exits non-zero) but the
    file is still written, for inspection."""
    try:
        checks[label] = fn()
        if not checks[label] <= tol:
            failures.append(f"{label} = {checks[label]} > {tol}")
    except Exception:
        checks[label] = "FAILED: " + traceback.format_exc(limit=3)
        failures.append(label)
        print(checks[label], file=sys.stderr)


def load_f32(path: str) -> dict:
    """The checkpoint as float32 torch tensors (safetensors' reader, or the numpy one where the
    safetensors package is missing: Debian ships torch but not safetensors)."""
    import torch

    try:
        from safetensors.torch import load_file
    except ImportError:
        return {k: torch.from_numpy(v.astype(np.float32)) for k, v in load_safetensors(path).items()}
    return load_file(path)


def torch_case(case: dict, np_maps: list, checks: dict, soft: list, failures: list, with_hf: bool) -> tuple[list[np.ndarray], np.ndarray, str]:
    import torch

    import gta_ref
    import llama_ref
    import plm_ref

    f32 = load_f32(case["weights_path"])
    w64 = {k: v.to(torch.float64) for k, v in f32.items()}
    cfg, prompt, arch = case["cfg"], case["prompt"], case["arch"]
    if arch in ("LlamaForCausalLM", "Qwen2ForCausalLM") and not with_hf:
        # --without-transformers: the maps of llama_ref.py (checked against transformers' logits by
        # make_golden.py); a run with transformers replaces them
        maps, logits = ref_maps(llama_ref, llama_ref.LlamaReference(cfg, w64), prompt)
        source = "tools/reference/llama_ref.py (float64; transformers was not available for this run)"
        tol = OWN_TOL
    elif arch in ("LlamaForCausalLM", "Qwen2ForCausalLM"):
        maps, logits = hf_maps(case, w64, checks)
        source = f"transformers {arch} (eager attention, float64, CPU, output_attentions=True)"
        if "output_attentions_vs_hook_max_abs" in checks and checks["output_attentions_vs_hook_max_abs"] != 0.0:
            failures.append("output_attentions differs from what self_attn returned")
        cross(checks, failures, "llama_ref_vs_transformers_max_abs",
              lambda: max_abs_maps(ref_maps(llama_ref, llama_ref.LlamaReference(cfg, w64), prompt)[0], maps), HF_TOL)
        tol = HF_TOL
    elif arch == "PLMForCausalLM":
        ref = plm_ref.PLMReference(cfg, w64)
        maps, logits = ref_maps(plm_ref, ref, prompt, absorbed=False)
        source = "tools/reference/plm_ref.py (float64, expanded form; absorbed latent-cache form agrees)"
        cross(checks, failures, "plm_ref_absorbed_vs_expanded_max_abs",
              lambda: max_abs_maps(ref_maps(plm_ref, ref, prompt, absorbed=True)[0], maps), OWN_TOL)
        if not with_hf:
            soft.append(case["name"] + ": deepseek_v2 not run (no transformers)")
        else:
            try:
                checks["deepseek_v2_vs_plm_ref_max_abs"] = max_abs_maps(deepseek_maps(case, f32, prompt), maps)
                assert checks["deepseek_v2_vs_plm_ref_max_abs"] < HF_TOL, "DeepseekV2 maps differ from plm_ref's"
            except Exception:
                checks["deepseek_v2_vs_plm_ref"] = "FAILED (soft): " + traceback.format_exc(limit=3)
                soft.append(case["name"] + ": deepseek_v2")
                print(checks["deepseek_v2_vs_plm_ref"], file=sys.stderr)
        tol = OWN_TOL
    elif arch == "GTAForCausalLM":
        maps, logits = ref_maps(gta_ref, gta_ref.GTAReference(cfg, w64), prompt)
        source = "tools/reference/gta_ref.py (float64; one map per query group)"
        # head i of num_attention_heads sits in group i // (heads / n_q); its map is the group's
        heads, nq = cfg["num_attention_heads"], cfg["num_query_heads"]
        for m in maps:
            per_head = np.repeat(m, heads // nq, axis=0)  # [heads, T, T]
            for g in range(nq):
                group = per_head[g * (heads // nq) : (g + 1) * (heads // nq)]
                assert np.array_equal(group, np.broadcast_to(group[0], group.shape)), f"group {g}: heads' maps differ"
        checks["heads_per_group"] = heads // nq
        tol = OWN_TOL
    else:
        raise ValueError(arch)
    cross(checks, failures, "numpy_vs_source_max_abs", lambda: max_abs_maps(np_maps, maps), tol)
    return maps, logits, source


# ---------------------------------------------------------------- main


def n_maps_of(cfg: dict) -> tuple[int, str]:
    if cfg["architectures"][0] == "GTAForCausalLM":
        return cfg["num_query_heads"], "query group (shared by its heads)"
    return cfg["num_attention_heads"], "query head"


def run_case(root: str, out_dir: str, name: str, versions: dict, numpy_only: bool, soft: list, failures: list) -> dict:
    with_hf = versions["transformers"] is not None
    case = load_case(root, name)
    cfg, prompt = case["cfg"], case["prompt"]
    n_maps, unit = n_maps_of(cfg)
    np_maps, np_logits = np_forward(cfg, load_safetensors(case["weights_path"]), prompt)
    checks: dict = {"numpy_logits_vs_golden_max_abs": float(np.abs(np_logits - case["prompt_logits"]).max())}
    assert checks["numpy_logits_vs_golden_max_abs"] < LOGIT_TOL, "numpy logits differ from golden.json"
    if numpy_only:
        maps, source = np_maps, "make_attention_golden.py numpy implementation (dry run, not for committing)"
    else:
        maps, logits, source = torch_case(case, np_maps, checks, soft, failures, with_hf)
        cross(checks, failures, "source_logits_vs_golden_max_abs", lambda: float(np.abs(logits - case["prompt_logits"]).max()), LOGIT_TOL)
    hf = not numpy_only and with_hf and case["arch"] in ("LlamaForCausalLM", "Qwen2ForCausalLM")
    try:
        checks.update(check_maps(maps, n_maps, len(prompt), HF_ROW_SUM_TOL if hf else ROW_SUM_TOL))
    except AssertionError as err:
        checks["map_checks"] = f"FAILED: {err}"
        failures.append(f"map checks: {err}")
    meta = {
        "version": VERSION,
        "case": name,
        "generator": "tools/reference/make_attention_golden.py",
        "source": source,
        "torch": versions["torch"],
        "transformers": versions["transformers"],
        "dtype": "float64",
        "weights_sha256": case["sha"],
        "prompt_ids": prompt,
        "maps_per_layer": n_maps,
        "map_unit": unit,
        "shape": "layers[layer][map][query row][key column], keys 0..T-1, one prefill from an empty cache",
        "rounding": "9 significant digits",
        "checks": checks,
    }
    write_attention(os.path.join(out_dir, name, "attention.json"), meta, maps)
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for <case>/attention.json and summary.json")
    parser.add_argument("--root", default=DEFAULT_ROOT, help="the v1 fixture folder")
    parser.add_argument("--cases", nargs="*", default=CASES)
    parser.add_argument("--numpy-only", action="store_true", help="dry run without torch (files not for committing)")
    parser.add_argument("--without-transformers", action="store_true", help="torch only: Llama/Qwen2 maps from llama_ref.py, no DeepSeek check")
    args = parser.parse_args()
    if args.numpy_only:
        versions = {"torch": None, "transformers": None}
    else:
        import torch

        sys.path.insert(0, HERE)
        torch.set_num_threads(min(8, os.cpu_count() or 1))
        versions = {"torch": str(torch.__version__), "transformers": None}
        if not args.without_transformers:
            import transformers

            transformers.utils.logging.disable_progress_bar()
            versions["transformers"] = str(transformers.__version__)
    print(f"versions {versions}, numpy {np.__version__}", flush=True)
    summary: dict = {"versions": versions, "cases": {}, "failed": {}, "failed_checks": {}, "soft_failures": []}
    for name in args.cases:
        try:
            failures: list = []
            summary["cases"][name] = run_case(args.root, args.out, name, versions, args.numpy_only, summary["soft_failures"], failures)
            if failures:
                summary["failed_checks"][name] = failures
            print(f"{name}: {json.dumps(summary['cases'][name])}" + (f" FAILED CHECKS {failures}" if failures else ""), flush=True)
        except Exception:
            summary["failed"][name] = traceback.format_exc()
            print(f"{name}: FAILED\n{summary['failed'][name]}", file=sys.stderr, flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return 1 if summary["failed"] or summary["failed_checks"] else 0


if __name__ == "__main__":
    sys.exit(main())

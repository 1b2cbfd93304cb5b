"""Check the committed golden fixtures with numpy alone (no torch needed).

For every case: the checkpoint hash matches golden.json, shapes agree with config.json,
step_logits[0] is the last prompt row, and every greedy id is the argmax of its step logits.
For GTA, which no library implements, the logits are recomputed by a second, loop-per-group
implementation written directly from docs/gta.md (float64) and compared with the golden.

Usage: python3 tools/reference/verify_fixtures.py [test/fixtures/golden/v1]
"""

import hashlib
import json
import os
import struct
import sys

import numpy as np

ROUNDING_TOL = 2e-5  # goldens are rounded to 6 significant digits


def load_safetensors(path: str) -> dict[str, np.ndarray]:
    # layout: u64 header length, JSON header {name: {dtype, shape, data_offsets}}, raw little-endian data
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


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope_rotate_half(x, pos, theta):
    d = x.shape[-1]
    ang = pos[:, None] * theta ** (-np.arange(0, d, 2) / d)  # [T, d/2]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    lo, hi = x[..., : d // 2], x[..., d // 2 :]
    return np.concatenate([lo * cos - hi * sin, hi * cos + lo * sin], -1)


def gta_logits(cfg: dict, w: dict, ids: list[int]) -> np.ndarray:
    t, hidden = len(ids), cfg["hidden_size"]
    n_q, n_k, n_c = cfg["num_query_heads"], cfg["num_key_heads"], cfg["num_value_heads"]
    d_h, d_l = cfg["head_dim"], cfg["value_dim"]
    e = hidden // (n_q * d_l)
    theta, eps = cfg.get("rope_theta", 10000.0), cfg["rms_norm_eps"]
    pos = np.arange(t, dtype=np.float64)
    future = np.triu(np.ones((t, t), dtype=bool), 1)
    h = w["model.embed_tokens.weight"][ids]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        a = p + "self_attn."
        x = rms_norm(h, w[p + "input_layernorm.weight"], eps)

        def proj(name):
            return x @ w[a + name + ".weight"].T + w[a + name + ".bias"]

        q = rope_rotate_half(proj("q_proj").reshape(t, n_q, d_h), pos, theta)
        k = rope_rotate_half(proj("k_proj").reshape(t, n_k, d_h), pos, theta)
        c = proj("v_proj").reshape(t, n_c, d_l)
        flat_vb = w[a + "v_b_proj.weight"].reshape(-1)  # raw memory, row-major
        groups = []
        for g in range(n_q):
            scores = q[:, g] @ k[:, g // (n_q // n_k)].T / np.sqrt(d_h)
            scores[future] = -np.inf
            probs = np.exp(scores - scores.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            a_g = probs @ c[:, g // (n_q // n_c)]  # [T, d_l]
            block = d_l * e * d_l
            w_g = flat_vb[g * block : (g + 1) * block].reshape(d_l, e * d_l)
            groups.append(np.tile(a_g, (1, e)) + a_g @ w_g)
        gate = 1.0 / (1.0 + np.exp(-proj("g_proj")))
        h = h + (gate * np.concatenate(groups, -1)) @ w[a + "o_proj.weight"].T
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"], eps)
        gate_in = x @ w[p + "mlp.gate_proj.weight"].T
        silu = gate_in / (1.0 + np.exp(-gate_in))
        h = h + (silu * (x @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    return rms_norm(h, w["model.norm.weight"], eps) @ w["model.embed_tokens.weight"].T


def verify_case(folder: str) -> str:
    cfg = json.load(open(os.path.join(folder, "config.json")))
    golden = json.load(open(os.path.join(folder, "golden.json")))
    weights_path = os.path.join(folder, "model.safetensors")
    sha = hashlib.sha256(open(weights_path, "rb").read()).hexdigest()
    assert sha == golden["weights_sha256"], "model.safetensors does not match golden.json"
    prompt = np.array(golden["prompt_logits"])
    steps = np.array(golden["step_logits"])
    vocab = cfg["vocab_size"]
    assert prompt.shape == (len(golden["prompt_ids"]), vocab) and steps.shape == (len(golden["greedy_ids"]), vocab)
    assert np.abs(steps[0] - prompt[-1]).max() < ROUNDING_TOL, "step_logits[0] is not the last prompt row"
    assert steps.argmax(-1).tolist() == golden["greedy_ids"], "greedy ids are not the argmax of step_logits"
    if cfg["architectures"][0] != "GTAForCausalLM":
        return "consistent"
    logits = gta_logits(cfg, load_safetensors(weights_path), golden["prompt_ids"] + golden["greedy_ids"][:-1])
    n = len(golden["prompt_ids"])
    diff = max(np.abs(logits[:n] - prompt).max(), np.abs(logits[n - 1 :] - steps).max())
    assert diff < ROUNDING_TOL, f"numpy GTA differs from the golden by {diff}"
    return f"consistent; numpy GTA max abs diff {diff:.1e}"


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/golden/v1"
    for case in sorted(os.listdir(root)):
        print(f"{case}: {verify_case(os.path.join(root, case))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

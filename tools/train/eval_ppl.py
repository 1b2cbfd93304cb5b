"""Validation perplexity of an exported zoo checkpoint, recomputed from its files alone.

  python3 tools/train/eval_ppl.py models/zoo-gta-2.8m --valid .corpus/valid.txt [--json out.json]
      [--fixture-dir test/fixtures/zoo-ppl/v1 --fixture-tokens 2048] [--device cuda|cpu]

Reads config.json, model.safetensors (parsed here, F16 -> fp32) and tokenizer.json, and runs its own
fp32 forward pass, written independently of the training model (tools/train/model.py): MLA runs in
the absorbed form over the cached latent, GTA loops over query groups with an explicit tile, RoPE
uses complex rotation for the interleaved layout. Token-level loss: the validation stream
([EOT] doc [EOT] doc ...) cut into non-overlapping windows of max_position_embeddings tokens.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import encode_stream, read_documents, valid_windows  # noqa: E402

DTYPES = {"F16": np.float16, "BF16": None, "F32": np.float32}


def load_safetensors(path):
    """{name: fp32 tensor} from a safetensors file (8-byte LE header size, JSON header, raw data)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        buf = raw[base + a:base + b]
        if info["dtype"] == "BF16":
            u = np.frombuffer(buf, dtype=np.uint16).astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(buf, dtype=DTYPES[info["dtype"]]).astype(np.float32)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def rms(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope_half(x, pos, theta):
    """x [..., T, d], Llama layout: element j pairs with j + d/2."""
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d // 2, dtype=torch.float64) * 2 / d)
    ang = (pos[:, None].double() * freq[None, :]).float().to(x.device)
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
    rot = torch.cat([-x[..., d // 2:], x[..., :d // 2]], -1)
    return x * cos + rot * sin


def rope_interleaved(x, pos, theta):
    """x [..., T, d], PLM layout: elements (2j, 2j+1) form one complex number."""
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d // 2, dtype=torch.float64) * 2 / d)
    ang = (pos[:, None].double() * freq[None, :]).to(x.device)
    z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2).contiguous())
    return torch.view_as_real(z * torch.polar(torch.ones_like(ang), ang)).reshape(x.shape).float()


def softmax_causal(s):
    t = s.shape[-1]
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool, device=s.device), 1)
    return torch.softmax(s.masked_fill(mask, float("-inf")), -1)


def lin(W, name, x):
    y = x @ W[name + ".weight"].t()
    return y + W[name + ".bias"] if name + ".bias" in W else y


def attn_llama(c, W, p, x, pos):
    h, kv = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    d = c.get("head_dim") or c["hidden_size"] // h
    t = x.shape[0]
    q = lin(W, p + "q_proj", x).view(t, h, d).transpose(0, 1)
    k = lin(W, p + "k_proj", x).view(t, kv, d).transpose(0, 1)
    v = lin(W, p + "v_proj", x).view(t, kv, d).transpose(0, 1)
    q, k = rope_half(q, pos, c["rope_theta"]), rope_half(k, pos, c["rope_theta"])
    outs = []
    for i in range(h):
        j = i // (h // kv)
        outs.append(softmax_causal(q[i] @ k[j].t() / math.sqrt(d)) @ v[j])
    return lin(W, p + "o_proj", torch.cat(outs, -1))


def attn_plm(c, W, p, x, pos):
    """Absorbed MLA: scores and values straight from the normalised latent c and the shared k_rope."""
    h, nope, rope, dv, rank = (c["num_attention_heads"], c["qk_nope_head_dim"], c["qk_rope_head_dim"],
                               c["v_head_dim"], c["kv_lora_rank"])
    t = x.shape[0]
    q = lin(W, p + "q_proj", x).view(t, h, nope + rope)
    kva = lin(W, p + "kv_a_proj_with_mqa", x)
    lat = rms(kva[:, :rank], W[p + "kv_a_layernorm.weight"], c["rms_norm_eps"])  # [T, rank]: cached
    k_rope = rope_interleaved(kva[:, rank:], pos, c["rope_theta"])  # [T, rope]: cached
    wkvb = W[p + "kv_b_proj.weight"].view(h, nope + dv, rank)
    outs = []
    for i in range(h):
        w_uk, w_uv = wkvb[i, :nope], wkvb[i, nope:]  # [nope, rank], [dv, rank]
        q_lat = q[:, i, :nope] @ w_uk  # [T, rank]
        q_rope = rope_interleaved(q[:, i, nope:], pos, c["rope_theta"])
        s = (q_lat @ lat.t() + q_rope @ k_rope.t()) / math.sqrt(nope + rope)
        outs.append((softmax_causal(s) @ lat) @ w_uv.t())
    return lin(W, p + "o_proj", torch.cat(outs, -1))


def attn_gta(c, W, p, x, pos):
    hs = c["hidden_size"]
    nq, qd, nk, kd, nc, vd = (c["num_query_heads"], c["query_dim"], c["num_key_heads"], c["key_dim"],
                              c["num_value_heads"], c["value_dim"])
    e = hs // (nq * vd)
    scale = 1.0 / math.sqrt(c.get("head_dim") or hs // c["num_attention_heads"])
    t = x.shape[0]
    q = rope_half(lin(W, p + "q_proj", x).view(t, nq, qd).transpose(0, 1), pos, c["rope_theta"])
    k = rope_half(lin(W, p + "k_proj", x).view(t, nk, kd).transpose(0, 1), pos, c["rope_theta"])
    lat = lin(W, p + "v_proj", x).view(t, nc, vd).transpose(0, 1)
    dec = W[p + "v_b_proj.weight"].reshape(nq, vd, e * vd)  # raw memory, row-major
    groups = []
    for g in range(nq):
        a = softmax_causal(q[g] @ k[g // (nq // nk)].t() * scale) @ lat[g // (nq // nc)]  # [T, vd]
        groups.append(torch.cat([a] * e, -1) + a @ dec[g])
    gate = torch.sigmoid(lin(W, p + "g_proj", x))
    return lin(W, p + "o_proj", gate * torch.cat(groups, -1))


def mlp(c, W, p, x):
    up = lin(W, p + "up_proj", x)
    if c["hidden_act"] == "relu2":
        return lin(W, p + "down_proj", torch.relu(up) ** 2)
    return lin(W, p + "down_proj", torch.nn.functional.silu(lin(W, p + "gate_proj", x)) * up)


def family(c):
    if all(k in c for k in ("num_query_heads", "query_dim", "num_key_heads", "key_dim", "num_value_heads", "value_dim")):
        return attn_gta
    return attn_plm if c.get("model_type") == "plm" else attn_llama


def forward(c, W, ids):
    """ids [T] -> logits [T, vocab], fp32."""
    pos = torch.arange(ids.shape[0])
    attn = family(c)
    eps = c["rms_norm_eps"]
    x = W["model.embed_tokens.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = x + attn(c, W, p + "self_attn.", rms(x, W[p + "input_layernorm.weight"], eps), pos)
        x = x + mlp(c, W, p + "mlp.", rms(x, W[p + "post_attention_layernorm.weight"], eps))
    x = rms(x, W["model.norm.weight"], eps)
    return x @ W.get("lm_head.weight", W["model.embed_tokens.weight"]).t()


def nll(c, W, window):
    """Per-position next-token negative log-likelihood for one window [T+1] -> [T]."""
    with torch.no_grad():
        return torch.nn.functional.cross_entropy(forward(c, W, window[:-1]), window[1:], reduction="none")


def load(model_dir, device):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    W = {k: v.to(device) for k, v in load_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
    return c, W


def valid_stream(model_dir, valid_path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    return encode_stream(tok, read_documents(valid_path), with_chat=False), tok


def write_fixture(c, W, name, stream, tok, n_tokens, ctx, out_dir, device):
    """tokens.json: the first n_tokens of the validation stream, run in independent windows of ctx
    tokens (ctx - 1 scored predictions each); <name>.json: per-position NLL, mean loss, and the top 8
    logits at each window's last position (the prediction past the window)."""
    os.makedirs(out_dir, exist_ok=True)
    ids = [int(t) for t in stream[:n_tokens]]
    with open(os.path.join(out_dir, "tokens.json"), "w") as f:
        json.dump({"description": "first tokens of .corpus/valid.txt's stream ([EOT] doc ...), windows of "
                   f"{ctx} tokens scored independently", "window": ctx, "tokens": ids,
                   "text": tok.decode(ids, skip_special_tokens=False)}, f)
    per_window, top = [], []
    for s in range(0, n_tokens - ctx + 1, ctx):
        w = torch.tensor(ids[s:s + ctx], device=device)
        with torch.no_grad():
            logits = forward(c, W, w)  # [ctx, vocab]: positions 0..ctx-2 are scored, ctx-1 is the next token
        l = torch.nn.functional.cross_entropy(logits[:-1], w[1:], reduction="none")
        per_window.append([round(float(v), 5) for v in l])
        vals, idx = torch.topk(logits[-1], 8)
        top.append([[int(i), round(float(v), 4)] for i, v in zip(idx, vals)])
    flat = [v for w in per_window for v in w]
    loss = sum(flat) / len(flat)
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump({"model": name, "reference": "tools/train/eval_ppl.py (fp32 from the F16 safetensors)",
                   "predictions": len(flat), "loss": loss, "ppl": math.exp(loss),
                   "nll": per_window, "last_logits_top8": top}, f)
    return loss


SAMPLE_PROMPTS = [
    "It is a truth universally acknowledged that",
    "The state of the Union is",
    "<|im_start|>user\nTell me about the sea.<|im_end|>\n<|im_start|>assistant\n",
]


def sample(c, W, tok, prompt, n_new, seed, device):
    """Temperature 0.8 / top-k 40 continuation (seeded), stopping at <|endoftext|> or <|im_end|>."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = [0] + tok.encode(prompt, add_special_tokens=False).ids
    start = len(ids)
    for _ in range(n_new):
        with torch.no_grad():
            logits = forward(c, W, torch.tensor(ids[-c["max_position_embeddings"]:], device=device))[-1].cpu()
        vals, idx = torch.topk(logits / 0.8, 40)
        nxt = int(idx[torch.multinomial(torch.softmax(vals, -1), 1, generator=g)])
        ids.append(nxt)
        if nxt in (0, 2):
            break
    return {"prompt": prompt, "completion": tok.decode(ids[start:], skip_special_tokens=False)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--valid", required=True, help="valid.txt from tools/corpus/build.mjs")
    ap.add_argument("--json", help="write the result here as well as to stdout")
    ap.add_argument("--fixture-dir")
    ap.add_argument("--fixture-tokens", type=int, default=2048)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--max-windows", type=int, help="score only the first N windows (quick checks)")
    ap.add_argument("--samples", type=int, default=0, help="also write N-token sampled continuations of fixed prompts")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    c, W = load(args.model_dir, args.device)
    stream, tok = valid_stream(args.model_dir, args.valid)
    ctx = c["max_position_embeddings"]
    windows = torch.from_numpy(valid_windows(stream, ctx).astype(np.int64)).to(args.device)
    if args.max_windows:
        windows = windows[:args.max_windows]
    total = 0.0
    for w in windows:
        total += float(nll(c, W, w).double().sum())
    count = windows.shape[0] * ctx
    name = os.path.basename(os.path.normpath(args.model_dir))
    res = {"model": name, "windows": int(windows.shape[0]), "tokens_scored": int(count),
           "val_loss": total / count, "val_ppl": math.exp(total / count)}
    if args.fixture_dir:
        res["fixture_loss"] = write_fixture(c, W, name, stream, tok, args.fixture_tokens, ctx, args.fixture_dir, args.device)
    if args.samples:
        res["samples"] = [sample(c, W, tok, p, args.samples, 1234 + i, args.device) for i, p in enumerate(SAMPLE_PROMPTS)]
    print(json.dumps(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()

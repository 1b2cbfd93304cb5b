"""Train one model-zoo variant and export it as a Hugging Face checkpoint (F16 safetensors).

  python3 tools/train/train.py --variant gta --zoo tools/train/configs/zoo.json \
      --data <dir with train.npy, valid.npy, tokenizer.json> --out <dir> [--steps N] [--smoke]

Every variant reads the same token stream in the same order (one seeded generator draws the window
offsets), so models trained with equal --steps have seen exactly the same tokens. The loss curve and
the final validation loss go to <out>/<name>/train_log.json.
"""

import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import export_checkpoint  # noqa: E402
from model import CausalLM, count_params, kv_values_per_token_layer  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", required=True, choices=["mha", "gqa", "mla", "gta"])
    p.add_argument("--zoo", required=True, help="zoo.json: shared training settings + per-variant configs")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, help="optimizer steps (default: zoo.json training.steps)")
    p.add_argument("--smoke", action="store_true", help="tiny run: few steps, small eval, timing only")
    return p.parse_args()


def lr_at(step, steps, peak, warmup, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * t))


@torch.no_grad()
def evaluate(model, windows, batch):
    """Mean next-token cross-entropy over all predicted positions of all windows."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, windows.shape[0], batch):
        w = windows[i:i + batch]
        with torch.autocast(w.device.type, dtype=torch.bfloat16):
            logits = model(w[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += w[:, 1:].numel()
    model.train()
    return total / count


def param_groups(model, weight_decay):
    decay, plain = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 else plain).append(p)  # norms and biases are not decayed
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def main():
    args = parse_args()
    with open(args.zoo) as f:
        zoo = json.load(f)
    tr = zoo["training"]
    spec = zoo["models"][args.variant]
    cfg = {**zoo["shared"], **spec["config"]}
    steps = 30 if args.smoke else (args.steps or tr["steps"])
    ctx, batch = tr["context"], tr["batch"]
    # CUDA is the target; the CPU path exists so the script can be checked on a machine without a GPU.
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True

    train = torch.from_numpy(np.load(os.path.join(args.data, "train.npy")).astype(np.int64)).to(dev)
    valid = torch.from_numpy(np.load(os.path.join(args.data, "valid_windows.npy")).astype(np.int64)).to(dev)
    if args.smoke:
        valid = valid[:16]

    torch.manual_seed(tr["seed"])
    model = CausalLM(args.variant, cfg).to(dev)
    n_params = count_params(model)
    fused = {"fused": True} if dev.type == "cuda" else {}
    opt = torch.optim.AdamW(param_groups(model, tr["weight_decay"]), lr=tr["lr"], betas=(0.9, 0.95), eps=1e-8, **fused)
    # One seeded draw of every window offset up front: the same order for every variant.
    data_gen = torch.Generator().manual_seed(tr["seed"])
    all_offsets = torch.randint(0, train.numel() - ctx - 1, (steps, batch), generator=data_gen).to(dev)
    arange = torch.arange(ctx + 1, device=dev)

    curve, window_loss, window_n = [], 0.0, 0
    t0 = time.time()
    step_times = []
    for step in range(steps):
        ts = time.time()
        seq = train[all_offsets[step][:, None] + arange]  # [batch, ctx + 1]
        lr = lr_at(step, steps, tr["lr"], tr["warmup"], tr["lr"] * tr["lr_floor"])
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            logits = model(seq[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), seq[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tr["grad_clip"])
        opt.step()
        window_loss += loss.detach()
        window_n += 1
        last = step == steps - 1
        if (step + 1) % tr["log_every"] == 0 or last:
            point = {"step": step + 1, "tokens": (step + 1) * batch * ctx, "lr": lr,
                     "train_loss": (window_loss / window_n).item(), "elapsed_s": round(time.time() - t0, 2)}
            window_loss, window_n = 0.0, 0
            if (step + 1) % tr["eval_every"] == 0 or last:
                point["val_loss"] = evaluate(model, valid, tr["eval_batch"])
            curve.append(point)
            print(f"[{spec['name']}] " + json.dumps(point), flush=True)
        if args.smoke:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            step_times.append(time.time() - ts)

    name = spec["name"]
    out_dir = os.path.join(args.out, name)
    export_checkpoint(model, args.variant, cfg, spec, out_dir)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(args.data, f), os.path.join(out_dir, f))
    log = {
        "name": name,
        "variant": args.variant,
        "params": n_params,
        "kv_values_per_token_layer": kv_values_per_token_layer(args.variant, cfg),
        "steps": steps,
        "batch": batch,
        "context": ctx,
        "tokens_seen": steps * batch * ctx,
        "seed": tr["seed"],
        "training": tr,
        "curve": curve,
        "final_val_loss_bf16": curve[-1]["val_loss"],
        "train_seconds": round(time.time() - t0, 1),
        "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
    }
    if step_times:
        log["median_step_s"] = float(np.median(step_times[10:]))
    with open(os.path.join(out_dir, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    print(f"[{name}] done: {n_params} params, val {log['final_val_loss_bf16']:.4f}, {log['train_seconds']} s", flush=True)


if __name__ == "__main__":
    main()

"""Build the golden fixtures: tiny seeded checkpoints in real HF format plus golden logits.

Usage (on a machine with torch and transformers):
    python3 tools/reference/make_golden.py --out DIR
writes DIR/golden.tar (v<N>/<case>/{config.json, model.safetensors, golden.json}) and
DIR/summary.json. Unpack the tar into test/fixtures/golden/.

Llama/Qwen2 goldens come from transformers' own classes (eager attention, float64, CPU);
PLM and GTA goldens from plm_ref.py / gta_ref.py (float64). Every case is decoded greedily
through a KV cache and asserted equal to full recomputation.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import tarfile
import tempfile
import traceback

import torch
from safetensors.torch import load_file, save_file

import crosschecks
from cases import BIAS, CASES, EMBED, MATRIX, NORM, weight_list
from gta_ref import GTAReference
from plm_ref import PLMReference
from runners import F64, HF_TOL, OWN_TOL, HFRunner, RefRunner, greedy

VERSION = 1
PROMPT_LEN = 12
GREEDY_STEPS = 16
MAX_CHECKPOINT_BYTES = 400 * 1024
MAX_ATTEMPTS = 200  # seeds tried per case before settling for the best one seen
MIN_DISTINCT = 5  # distinct ids among the greedy ones
MIN_MARGIN = 0.03  # smallest top-1 minus top-2 logit over the greedy steps


def draw_weights(wlist) -> dict[str, torch.Tensor]:
    """Seeded random F32 tensors, scaled so activations stay O(1) and logits are not flat."""
    out = {}
    for name, shape, kind in wlist:
        if kind == NORM:
            t = 1.0 + 0.1 * torch.randn(shape)  # RMSNorm gains around 1
        elif kind == BIAS:
            t = 0.1 * torch.randn(shape)
        elif kind == EMBED:
            t = 0.15 * torch.randn(shape)  # logits std about 0.15*sqrt(64) = 1.2
        elif kind == MATRIX:
            t = torch.randn(shape) * (1.2 / math.sqrt(shape[1]))  # [out, in]: gain 1.2 over fan-in
        else:
            raise ValueError(kind)
        out[name] = t.to(torch.float32).contiguous()
    return out


def r6(x: float) -> float:
    assert math.isfinite(x), "non-finite logit"
    return float(f"{x:.6g}")  # 6 significant digits keep the files small


def rows_json(rows: torch.Tensor) -> str:
    return "[\n" + ",\n".join("    [" + ",".join(repr(r6(v)) for v in row.tolist()) + "]" for row in rows) + "\n  ]"


def write_golden(path: str, meta: dict, run: dict) -> None:
    # small fields first, one logits row per line, so diffs of a regenerated fixture stay readable
    head = {**meta, "greedy_ids": run["greedy_ids"], "step_top2_margin": [r6(m) for m in run["step_top2_margin"]]}
    body = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
    body += f',\n  "prompt_logits": {rows_json(run["prompt_logits"])}'
    body += f',\n  "step_logits": {rows_json(run["step_logits"])}'
    with open(path, "w") as f:
        f.write("{\n" + body + "\n}\n")


FAILED_CHECKS: list[str] = []


def soft_check(checks: dict, label: str, fn, *args) -> None:
    """Run a cross-check; a failure is recorded (and fails the run) but still lets the golden,
    which stands on its own source, be written and inspected."""
    try:
        result = fn(*args)
        checks.update(result if isinstance(result, dict) else {label + "_max_abs": result})
    except Exception:
        checks[label] = "FAILED: " + traceback.format_exc(limit=4)
        FAILED_CHECKS.append(label)
        print(checks[label], file=sys.stderr)


def hf_class(arch: str):
    import transformers

    return getattr(transformers, arch)


def attempt(cfg: dict, case_dir: str, seed: int) -> dict:
    """Draw weights and prompt from one seed, write the checkpoint, decode greedily."""
    torch.manual_seed(seed)
    f32 = draw_weights(weight_list(cfg))
    weights_path = os.path.join(case_dir, "model.safetensors")
    save_file(f32, weights_path, metadata={"format": "pt"})
    with open(os.path.join(case_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    # goldens are computed from what the file holds (F32), widened to float64
    w64 = {k: v.to(F64) for k, v in load_file(weights_path).items()}
    gen = torch.Generator().manual_seed(seed + 1)
    prompt = torch.randint(0, cfg["vocab_size"], (PROMPT_LEN,), generator=gen).tolist()
    arch = cfg["architectures"][0]
    model = None
    if arch in ("LlamaForCausalLM", "Qwen2ForCausalLM"):
        model = crosschecks.load_hf(hf_class(arch), case_dir)
        crosschecks.verify_loaded(model, w64, tied=cfg["tie_word_embeddings"])
        run = greedy(HFRunner(model), prompt, GREEDY_STEPS, HF_TOL)
    elif arch == "PLMForCausalLM":
        # full recompute in the expanded form, cached decode in the absorbed (latent) form
        run = greedy(RefRunner(PLMReference(cfg, w64), {"absorbed": False}), prompt, GREEDY_STEPS, OWN_TOL)
    elif arch == "GTAForCausalLM":
        run = greedy(RefRunner(GTAReference(cfg, w64)), prompt, GREEDY_STEPS, OWN_TOL)
    else:
        raise ValueError(arch)
    return {"seed": seed, "f32": f32, "w64": w64, "prompt": prompt, "run": run, "model": model}


def quality(run: dict) -> tuple[bool, int, float]:
    # a useful golden varies its greedy ids and has no near-tie an f32/f16 engine could flip
    distinct = len(set(run["greedy_ids"]))
    margin = min(run["step_top2_margin"])
    return (distinct >= MIN_DISTINCT and margin >= MIN_MARGIN, distinct, margin)


def build_case(name: str, root: str, versions: dict) -> tuple[dict, dict]:
    base_seed, cfg, description = CASES[name]
    case_dir = os.path.join(root, f"v{VERSION}", name)
    os.makedirs(case_dir, exist_ok=True)
    best, best_q = None, None
    for k in range(MAX_ATTEMPTS):
        got = attempt(cfg, case_dir, base_seed * 1000 + k)
        q = quality(got["run"])
        if best_q is None or q > best_q:
            best, best_q = got, q
        if q[0]:
            break
    if best["seed"] != got["seed"]:
        best = attempt(cfg, case_dir, best["seed"])  # rewrite the chosen checkpoint
    seed, f32, w64, prompt, run, model = (best[k] for k in ("seed", "f32", "w64", "prompt", "run", "model"))
    weights_path = os.path.join(case_dir, "model.safetensors")
    size = os.path.getsize(weights_path)
    assert size < MAX_CHECKPOINT_BYTES, f"{name}: checkpoint is {size} bytes"

    arch = cfg["architectures"][0]
    checks: dict = {}
    if model is not None:
        source = f"transformers {arch} (eager attention, float64, CPU)"
        soft_check(checks, "llama_ref", crosschecks.llama_crosscheck, cfg, w64, prompt, run)
        soft_check(checks, "transformers_cuda_vs_cpu", crosschecks.cuda_check, model, prompt + run["greedy_ids"][:-1], run["full_logits"])
        if arch == "Qwen2ForCausalLM":
            soft_check(checks, "degenerate_gta", crosschecks.gta_degenerate_check, cfg, w64, prompt, run)
        kv = cfg["num_key_value_heads"]
        hd = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        cache_values = cfg["num_hidden_layers"] * 2 * kv * hd
    elif arch == "PLMForCausalLM":
        source = "tools/reference/plm_ref.py (float64; decode caches latent c + shared rope key)"
        soft_check(checks, "deepseek_v2", crosschecks.deepseek_crosscheck, cfg, f32, w64, prompt, run)
        cache_values = run["cache"].values_per_token()
    else:
        source = "tools/reference/gta_ref.py (float64; decode caches keys + latent)"
        cache_values = run["cache"].values_per_token()
    checks["cache_vs_full_max_abs"] = run["cache_vs_full_max_abs"]

    with open(weights_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    meta = {
        "version": VERSION,
        "case": name,
        "description": description,
        "generator": "tools/reference/make_golden.py",
        "source": source,
        "torch": versions["torch"],
        "transformers": versions["transformers"],
        "dtype": "float64",
        "weights_sha256": sha,
        "seed": seed,
        "cache_values_per_token": cache_values,
        "checks": checks,
        "prompt_ids": prompt,
    }
    write_golden(os.path.join(case_dir, "golden.json"), meta, run)
    summary = {
        "checkpoint_bytes": size,
        "seed": seed,
        "accepted": best_q[0],
        "greedy_ids": run["greedy_ids"],
        "min_top2_margin": min(run["step_top2_margin"]),
        "logit_std": float(run["prompt_logits"].std()),
        "cache_values_per_token": cache_values,
        **checks,
    }
    return summary, cfg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for golden.tar and summary.json")
    parser.add_argument("--cases", nargs="*", default=list(CASES), help="subset of case names")
    args = parser.parse_args()
    import transformers

    transformers.utils.logging.disable_progress_bar()  # one checkpoint load per seed tried
    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    print(f"torch {versions['torch']}, transformers {versions['transformers']}, cuda {torch.cuda.is_available()}")
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    summary: dict = {"versions": versions, "cases": {}, "failed": {}}
    with tempfile.TemporaryDirectory() as root:
        for name in args.cases:
            try:
                summary["cases"][name], _ = build_case(name, root, versions)
                print(f"{name}: {json.dumps(summary['cases'][name])}")
            except Exception:
                summary["failed"][name] = traceback.format_exc()
                print(f"{name}: FAILED\n{summary['failed'][name]}", file=sys.stderr)
        os.makedirs(args.out, exist_ok=True)
        with tarfile.open(os.path.join(args.out, "golden.tar"), "w") as tar:
            tar.add(os.path.join(root, f"v{VERSION}"), arcname=f"v{VERSION}")
    summary["failed_checks"] = FAILED_CHECKS
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return 1 if summary["failed"] or FAILED_CHECKS else 0


if __name__ == "__main__":
    sys.exit(main())

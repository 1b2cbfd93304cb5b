"""Build the whole model zoo in one go on a GPU machine: tokenizer, token streams, a smoke run of
every variant (export + reference re-evaluation checked), then the four real runs side by side,
their re-evaluation from the exported files, the engine fixtures, and one tar of everything.

  python3 tools/train/zoo.py --corpus .corpus --work /tmp/zoo --out $OUT [--budget-s 240]

--budget-s bounds the main training's wall time: the step count is the configured one, or fewer if
the smoke run's measured step time says it would not fit (every variant gets the same count).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tarfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from data import encode_stream, read_documents, train_tokenizer, valid_windows  # noqa: E402

VARIANTS = ["mha", "gqa", "mla", "gta"]


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def run_all(zoo_path, data, out, extra):
    """Train the four variants concurrently (one process each); fail if any fails."""
    procs = []
    for v in VARIANTS:
        log = open(os.path.join(out, f"{v}.log"), "w")
        cmd = [sys.executable, os.path.join(HERE, "train.py"), "--variant", v, "--zoo", zoo_path,
               "--data", data, "--out", out, *extra]
        procs.append((v, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
    failed = []
    for v, p, log in procs:
        p.wait()
        log.close()
        if p.returncode != 0:
            failed.append(v)
    for v in VARIANTS:
        with open(os.path.join(out, f"{v}.log")) as f:
            lines = f.read().splitlines()
        print(f"--- {v} (last lines)\n" + "\n".join(lines[-4:]), flush=True)
    if failed:
        raise SystemExit(f"training failed for {failed}; see the logs above")


def evaluate(model_dir, valid_txt, extra):
    res = subprocess.run([sys.executable, os.path.join(HERE, "eval_ppl.py"), model_dir, "--valid", valid_txt, *extra],
                         check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def hf_llama_loss(model_dir, windows):
    """Loss of transformers' own LlamaForCausalLM on the exported folder: proves the export loads as
    a real Llama checkpoint and computes what our reference computes."""
    import torch
    from transformers import LlamaForCausalLM

    m = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).cuda().eval()
    w = torch.from_numpy(windows.astype(np.int64)).cuda()
    with torch.no_grad():
        logits = m(input_ids=w[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1))
    return float(loss)


def prepare(corpus, zoo, data):
    os.makedirs(data, exist_ok=True)
    t = time.time()
    train_docs = read_documents(os.path.join(corpus, "train.txt"))
    valid_docs = read_documents(os.path.join(corpus, "valid.txt"))
    tok = train_tokenizer(train_docs, zoo["training"]["tokenizer_vocab"], data)
    print(f"tokenizer: {tok.get_vocab_size()} entries in {time.time() - t:.1f} s", flush=True)
    train = encode_stream(tok, train_docs, with_chat=True)
    valid = encode_stream(tok, valid_docs, with_chat=False)
    ctx = zoo["training"]["context"]
    np.save(os.path.join(data, "train.npy"), train)
    np.save(os.path.join(data, "valid_windows.npy"), valid_windows(valid, ctx))
    stats = {"train_tokens": int(train.size), "valid_tokens": int(valid.size),
             "train_bytes": os.path.getsize(os.path.join(corpus, "train.txt")),
             "valid_bytes": os.path.getsize(os.path.join(corpus, "valid.txt"))}
    stats["valid_bytes_per_token"] = stats["valid_bytes"] / stats["valid_tokens"]
    print(f"streams: {stats} ({time.time() - t:.1f} s)", flush=True)
    return stats


def check_smoke(zoo, smoke, data, valid_txt):
    """The exported F16 files, run by the independent reference, must reproduce the training model's
    loss (bf16 autocast there, fp32 here: agreement to a few hundredths), and transformers' Llama must
    reproduce the reference on the Llama exports. A failed check is reported, not fatal: the main
    run's results are still worth bringing back, and the summary says which check failed."""
    windows = np.load(os.path.join(data, "valid_windows.npy"))[:16]
    step_s, checks = [], {}
    for v in VARIANTS:
        name = zoo["models"][v]["name"]
        d = os.path.join(smoke, name)
        with open(os.path.join(d, "train_log.json")) as f:
            log = json.load(f)
        ref = evaluate(d, valid_txt, ["--max-windows", "16"])
        chk = {"params": log["params"], "train_model_val": log["final_val_loss_bf16"], "reference_val": ref["val_loss"],
               "step_ms": log["median_step_s"] * 1000}
        chk["export_ok"] = abs(ref["val_loss"] - log["final_val_loss_bf16"]) < 0.05
        if v in ("mha", "gqa"):
            try:
                chk["transformers_val"] = hf_llama_loss(d, windows)
                chk["transformers_ok"] = abs(chk["transformers_val"] - ref["val_loss"]) < 2e-3
            except Exception as e:  # report and carry on: the other checks still count
                chk["transformers_error"] = repr(e)[:500]
                chk["transformers_ok"] = False
        print(("CHECK FAILED " if not all(v for k, v in chk.items() if k.endswith("_ok")) else "smoke ok ")
              + f"{v}: {json.dumps(chk)}", flush=True)
        checks[v] = chk
        step_s.append(log["median_step_s"])
    return max(step_s), checks


def pack(out, items):
    tar_path = os.path.join(out, "zoo.tar")
    with tarfile.open(tar_path, "w") as tar:
        for path, arc in items:
            tar.add(path, arcname=arc)
    size = os.path.getsize(tar_path)
    limit = 15 * 1024 * 1024
    if size > limit:
        with open(tar_path, "rb") as f:
            i = 0
            while chunk := f.read(limit):
                with open(os.path.join(out, f"zoo.tar.part{i}"), "wb") as g:
                    g.write(chunk)
                i += 1
        os.remove(tar_path)
    print(f"packed {size} bytes", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--zoo", default=os.path.join(HERE, "configs", "zoo.json"))
    ap.add_argument("--budget-s", type=float, default=240)
    args = ap.parse_args()
    with open(args.zoo) as f:
        zoo = json.load(f)
    t0 = time.time()
    data, smoke, final = (os.path.join(args.work, d) for d in ("data", "smoke", "final"))
    for d in (smoke, final):
        os.makedirs(d, exist_ok=True)
    valid_txt = os.path.join(args.corpus, "valid.txt")
    stats = prepare(args.corpus, zoo, data)

    run_all(args.zoo, data, smoke, ["--smoke"])
    step_s, checks = check_smoke(zoo, smoke, data, valid_txt)
    # 1.25: the smoke steps may not all have overlapped with the other three processes.
    steps = min(zoo["training"]["steps"], int(args.budget_s / (step_s * 1.25)))
    print(f"main run: {steps} steps each (smoke step {step_s * 1000:.1f} ms, budget {args.budget_s} s); "
          f"{time.time() - t0:.0f} s so far", flush=True)

    run_all(args.zoo, data, final, ["--steps", str(steps)])
    summary = {"corpus": stats, "steps": steps, "smoke_checks": checks, "models": {}}
    fixtures = os.path.join(args.work, "fixtures")
    windows = np.load(os.path.join(data, "valid_windows.npy"))
    for v in VARIANTS:
        name = zoo["models"][v]["name"]
        d = os.path.join(final, name)
        ref = evaluate(d, valid_txt, ["--fixture-dir", fixtures, "--json", os.path.join(d, "eval.json"), "--samples", "60"])
        ref["bits_per_byte"] = ref["val_loss"] / math.log(2) / stats["valid_bytes_per_token"]
        if v in ("mha", "gqa"):
            try:
                ref["transformers_llama_loss_64_windows"] = hf_llama_loss(d, windows[:64])
                ref["reference_loss_64_windows"] = evaluate(d, valid_txt, ["--max-windows", "64"])["val_loss"]
            except Exception as e:
                ref["transformers_error"] = repr(e)[:500]
        summary["models"][v] = ref
        print(f"final {v}: {json.dumps(ref)}", flush=True)
    with open(os.path.join(args.work, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    items = [(os.path.join(final, zoo["models"][v]["name"]), f"models/{zoo['models'][v]['name']}") for v in VARIANTS]
    items += [(os.path.join(final, f"{v}.log"), f"logs/{v}.log") for v in VARIANTS]
    items += [(fixtures, "fixtures"), (os.path.join(args.work, "summary.json"), "summary.json"),
              (os.path.join(data, "tokenizer.json"), "tokenizer/tokenizer.json"),
              (os.path.join(data, "tokenizer_config.json"), "tokenizer/tokenizer_config.json")]
    pack(args.out, items)
    print(f"all done in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()

"""Install a zoo build (the tar that tools/train/zoo.py writes) into the project: models/<name>/ with
card.md, models/catalog.json, models/README.md, and the engine fixtures test/fixtures/zoo-ppl/v1/.
Runs anywhere with Python 3 (no torch).

  python3 tools/train/publish.py <dir holding zoo.tar or zoo.tar.part*> [--repo .] [--default gta]
"""

import argparse
import glob
import io
import json
import math
import os
import shutil
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANT_LABEL = {"mha": "MHA", "gqa": "GQA", "mla": "MLA", "gta": "GTA"}
CTX_FOR_BYTES = 2048
COMMANDS = {
    "corpus": "node tools/corpus/build.mjs",
    "train": "python3 tools/train/zoo.py --corpus .corpus --work /tmp/zoo --out $OUT   # GPU: tokenizer, smoke, 4 runs, evaluation, fixtures",
    "eval": "python3 tools/train/eval_ppl.py models/{name} --valid .corpus/valid.txt",
    "publish": "python3 tools/train/publish.py <dir with zoo.tar*>",
}


def open_tar(src):
    parts = sorted(glob.glob(os.path.join(src, "zoo.tar.part*")), key=lambda p: int(p.rsplit("part", 1)[1]))
    if parts:
        data = b"".join(open(p, "rb").read() for p in parts)
        return tarfile.open(fileobj=io.BytesIO(data))
    return tarfile.open(os.path.join(src, "zoo.tar"))


def kv_note(variant, c):
    if variant in ("mha", "gqa"):
        return f"keys and values of {c['num_key_value_heads']} KV heads × {c['head_dim']} (2·{c['num_key_value_heads']}·{c['head_dim']})"
    if variant == "mla":
        return f"the normalised latent ({c['kv_lora_rank']}) and the shared rope key ({c['qk_rope_head_dim']})"
    return f"{c['num_key_heads']} key head × {c['key_dim']} and {c['num_value_heads']} latent value group × {c['value_dim']}"


def arch_lines(variant, c):
    h, L = c["hidden_size"], c["num_hidden_layers"]
    base = f"{L} layers, hidden {h}, vocabulary {c['vocab_size']}, context {c['max_position_embeddings']}, tied embeddings, RoPE θ {c['rope_theta']:g}"
    if variant in ("mha", "gqa"):
        att = (f"`LlamaForCausalLM`: {c['num_attention_heads']} query heads × {c['head_dim']}, {c['num_key_value_heads']} KV heads; "
               f"SwiGLU MLP width {c['intermediate_size']}")
    elif variant == "mla":
        att = (f"`PLMForCausalLM` (model_type `plm`): multi-head latent attention, {c['num_attention_heads']} heads, kv_lora_rank "
               f"{c['kv_lora_rank']}, q = q_proj(x) (no q LoRA), qk_nope {c['qk_nope_head_dim']}, qk_rope {c['qk_rope_head_dim']} "
               f"(interleaved RoPE), v {c['v_head_dim']}; squared-ReLU MLP (no gate) width {c['intermediate_size']}")
    else:
        e = h // (c["num_query_heads"] * c["value_dim"])
        att = (f"`GTAForCausalLM` (model_type `llama`): {c['num_attention_heads']} heads of {c['head_dim']} sharing "
               f"{c['num_query_heads']} attention map(s) (query_dim {c['query_dim']}), {c['num_key_heads']} key head × {c['key_dim']}, "
               f"{c['num_value_heads']} latent value group × {c['value_dim']}, v_b_proj decoder with expansion e = {e} (tile + delta), "
               f"sigmoid gate g_proj; SwiGLU MLP width {c['intermediate_size']}")
    return base, att


def card(spec, variant, c, log, ev, corpus, manifest):
    name = spec["name"]
    kv = log["kv_values_per_token_layer"]
    L = c["num_hidden_layers"]
    emb = c["vocab_size"] * c["hidden_size"]
    epochs = log["tokens_seen"] / corpus["train_tokens"]
    base, att = arch_lines(variant, c)
    src_lines = "\n".join(f"| {s['name']} | {s['registry']} `{s['package']}` {s['version']} | {s['licence']} |" for s in manifest["sources"])
    best = min((p for p in log["curve"] if "val_loss" in p), key=lambda p: p["val_loss"])
    samples = "\n\n".join(f"Prompt: `{json.dumps(x['prompt'])[1:-1]}`\n\n> {x['completion'].strip().replace(chr(10), ' / ')}"
                            for x in ev.get("samples", []))
    curve = "\n".join(f"| {p['step']} | {p['tokens']:,} | {p['train_loss']:.3f} | {p['val_loss']:.3f} |" for p in log["curve"] if "val_loss" in p)
    return f"""# {spec['title']} ({VARIANT_LABEL[variant]})

A small {VARIANT_LABEL[variant]} decoder trained from scratch for GTA Workbench's model zoo. It exists to exercise the engine
on a real, trained checkpoint of this family (the same config.json fields and tensor names as the released models)
and to compare attention variants at equal size, data and tokens. It is not a useful assistant.

## Architecture
- {base}.
- {att}.
- Parameters: {log['params']:,} ({log['params'] - emb:,} without the embedding).
- KV cache: {kv} values per token per layer: {kv_note(variant, c)}. {kv * L:,} values per token over {L} layers;
  {kv * L * 2:,} bytes per token in f16; {kv * L * 2 * CTX_FOR_BYTES / 1024:,.0f} KiB for {CTX_FOR_BYTES} tokens (a formula value: the model's context is {c['max_position_embeddings']}).
- Weights: F16 safetensors, `lm_head` tied to `model.embed_tokens` (not stored).

## Data and training
- Corpus: {corpus['train_bytes'] / 1e6:.1f} MB of public-domain English prose ({corpus['train_tokens']:,} tokens), built by
  `tools/corpus/build.mjs`; validation is a document-level hold-out ({corpus['valid_bytes'] / 1e6:.2f} MB, {corpus['valid_tokens']:,} tokens).
  About one training document in ten is also rendered as ChatML turns (a paragraph as the user turn, the next paragraph
  as the assistant turn), so `<|im_start|>` / `<|im_end|>` are trained and replies end with `<|im_end|>`.

| source | archive | licence |
| --- | --- | --- |
{src_lines}

- Tokenizer: byte-level BPE, {c['vocab_size']} entries, Qwen2 pre-tokenizer split, NFC; special tokens `<|endoftext|>` (0,
  also the document separator and BOS), `<|im_start|>` (1), `<|im_end|>` (2); ChatML chat template.
- Training: {log['steps']:,} steps × {log['batch']} sequences × {log['context']} tokens = {log['tokens_seen']:,} tokens
  (≈ {epochs:.1f} passes over the training stream), AdamW (β 0.9/0.95, weight decay {log['training']['weight_decay']}),
  peak LR {log['training']['lr']} with {log['training']['warmup']} warm-up steps and cosine decay to {log['training']['lr_floor']}×,
  bf16 autocast, seed {log['seed']}; {log['train_seconds']:.0f} s on {log['device']}. The four zoo models saw the same tokens in the same order.

## Results
Validation (token level, every token of valid.txt's stream in windows of {c['max_position_embeddings']}), recomputed in fp32 from the F16 file
by `tools/train/eval_ppl.py`:

| loss (nats/token) | perplexity | bits per byte | tokens scored |
| --- | --- | --- | --- |
| {ev['val_loss']:.4f} | {ev['val_ppl']:.2f} | {ev['bits_per_byte']:.3f} | {ev['tokens_scored']:,} |

Loss curve (training loss averaged over the last {log['training']['log_every']} steps; validation in bf16 during training):

| step | tokens | train loss | val loss |
| --- | --- | --- | --- |
{curve}

## Samples
Sampled by the fp32 reference (temperature 0.8, top-k 40, seeded, at most 60 new tokens; a chat prompt uses the ChatML template):

{samples}

## What it can and cannot do
At {log['params'] / 1e6:.1f}M parameters and {log['tokens_seen'] / 1e6:.0f}M tokens it writes English with mostly correct spelling and
local grammar in the register of its sources (presidential addresses, 19th-century novels, the Bible), mixing them
freely; facts, dates and names in its output are wrong as often as right. In chat mode it answers with a paragraph in
that style, usually unrelated to the message; it learned that a turn ends with `<|im_end|>` but does not always get
there in a short reply. It does not follow instructions, answer questions, count or reason. Its context is
{c['max_position_embeddings']} tokens. Validation loss was lowest at {best['tokens'] / 1e6:.0f}M tokens (≈ {best['tokens'] / corpus['train_tokens']:.0f} passes over the corpus)
and moved by at most {abs(log['curve'][-1]['val_loss'] - best['val_loss']):.3f} after that.
Use it to test and measure the engine, not for its words. The four zoo models end within 0.03 nats of each other
from one seed each: the zoo shows that the variants train to similar quality at equal size, not which one is better.

## Reproduce
```
{COMMANDS['corpus']}
{COMMANDS['train']}
{COMMANDS['eval'].format(name=name)}
```
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("--repo", default=".")
    ap.add_argument("--default", default="gta", help="variant marked default in the catalog (chat)")
    ap.add_argument("--manifest", default=".corpus/manifest.json")
    args = ap.parse_args()
    with open(os.path.join(HERE, "configs", "zoo.json")) as f:
        zoo = json.load(f)
    with open(os.path.join(args.repo, args.manifest)) as f:
        manifest = json.load(f)
    stage = os.path.join(args.repo, ".corpus", "publish")
    shutil.rmtree(stage, ignore_errors=True)
    with open_tar(args.src) as tar:
        tar.extractall(stage)
    with open(os.path.join(stage, "summary.json")) as f:
        summary = json.load(f)
    models_dir = os.path.join(args.repo, "models")
    fixtures_dir = os.path.join(args.repo, "test", "fixtures", "zoo-ppl", "v1")
    os.makedirs(fixtures_dir, exist_ok=True)
    for f in glob.glob(os.path.join(stage, "fixtures", "*.json")):
        shutil.copy(f, fixtures_dir)
    catalog, rows = [], []
    for variant in ["mha", "gqa", "mla", "gta"]:
        spec = zoo["models"][variant]
        name = spec["name"]
        dst = os.path.join(models_dir, name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(os.path.join(stage, "models", name), dst)
        with open(os.path.join(dst, "train_log.json")) as f:
            log = json.load(f)
        with open(os.path.join(dst, "config.json")) as f:
            c = json.load(f)
        ev = summary["models"][variant]
        with open(os.path.join(dst, "eval.json"), "w") as f:
            json.dump(ev, f, indent=1)
        with open(os.path.join(dst, "card.md"), "w") as f:
            f.write(card(spec, variant, c, log, ev, summary["corpus"], manifest))
        kv = log["kv_values_per_token_layer"]
        catalog.append({"id": name, "name": spec["title"], "variant": VARIANT_LABEL[variant], "path": name,
                        "params": log["params"], "kv_values_per_token_layer": kv, "default": variant == args.default})
        rows.append((spec["title"], VARIANT_LABEL[variant], log["params"], kv, kv * c["num_hidden_layers"] * 2 * CTX_FOR_BYTES,
                     ev["val_loss"], ev["val_ppl"], log["tokens_seen"], os.path.getsize(os.path.join(dst, "model.safetensors"))))
    with open(os.path.join(models_dir, "catalog.json"), "w") as f:
        json.dump({"version": 1, "models": catalog}, f, indent=2)
        f.write("\n")
    with open(os.path.join(models_dir, "README.md"), "w") as f:
        f.write(readme(rows, summary, log["device"]))
    total = sum(r[-1] for r in rows)
    print(f"published {len(rows)} models, {total / 2**20:.2f} MiB of safetensors")
    shutil.rmtree(stage)


def readme(rows, summary, device):
    checks = summary["smoke_checks"]
    max_diff = max(abs(c["train_model_val"] - c["reference_val"]) for c in checks.values())
    hf = [m for m in summary["models"].values() if "transformers_llama_loss_64_windows" in m]
    hf_diffs = ", ".join(f"{abs(m['transformers_llama_loss_64_windows'] - m['reference_loss_64_windows']):.1e}" for m in hf)
    checks_line = f"{summary['steps']} steps per model on {device}"
    table = "\n".join(
        f"| {t} | {v} | {p:,} | {kv} | {b / 2**20:.2f} MiB | {loss:.4f} | {ppl:.2f} | {tok:,} |"
        for t, v, p, kv, b, loss, ppl, tok, _ in rows)
    return f"""# Model zoo

Four small decoders trained from scratch on the same {summary['corpus']['train_tokens']:,}-token public-domain English
corpus, with the same tokenizer (byte-level BPE, 4096 entries), depth (4 layers), hidden size (256), context (512),
data order and number of tokens; the MLP width is adjusted so parameter counts agree within 5%. Each folder is a
real Hugging Face checkpoint of its family (config.json, F16 model.safetensors, tokenizer.json, tokenizer_config.json,
generation_config.json) with a card.md; `catalog.json` lists them for the app.

| model | variant | parameters | KV values / token / layer | KV bytes at 2048 tokens (f16, all layers) | val loss | val perplexity | tokens seen |
| --- | --- | --- | --- | --- | --- | --- | --- |
{table}

Validation numbers are token-level over the whole held-out split (`.corpus/valid.txt`), recomputed in fp32 from the
F16 files. The models' context is 512 tokens; the 2048-token column is the cache formula, for comparison with the
paper's setting. Fixtures for the engine (first 2048 validation tokens, per-position losses of each model) are in
test/fixtures/zoo-ppl/v1/.

The four models end within 0.03 nats of each other. Each was trained once (one seed) and the seed-to-seed spread was
not measured, so the table does not rank the variants; it shows their caches side by side at similar quality.

Checks made in the training run (tools/train/zoo.py, {checks_line}): the exported F16 files, evaluated by the
independent fp32 reference in eval_ppl.py (absorbed MLA, per-group GTA with explicit tile), reproduce the training
model's loss in the smoke stage (largest difference {max_diff:.1e}, bf16 against fp32); transformers' own `LlamaForCausalLM` loads the MHA and GQA folders and
reproduces the reference loss (differences {hf_diffs}).

How each column is reproduced:
- corpus: `{COMMANDS['corpus']}` (writes .corpus/, not committed)
- parameters, KV values, tokens seen, loss curve: `{COMMANDS['train']}`; each model's train_log.json
- KV bytes: KV values × layers × 2 bytes × 2048
- val loss / perplexity: `{COMMANDS['eval'].format(name='<name>')}`
- this folder: `{COMMANDS['publish']}`

The published build came from one GPU call: `timeout 570 python3 tools/train/zoo.py --corpus .corpus --work /tmp/zoo
--out $OUT --budget-s 220` with `.corpus` carried to the machine; `--budget-s` capped the configured 3000 steps at
{summary['steps']} from the smoke stage's measured step time. zoo.py and eval_ppl.py need torch, tokenizers and safetensors
(transformers for the Llama check); eval_ppl.py also runs on CPU (`--device cpu`, slowly).
"""


if __name__ == "__main__":
    main()

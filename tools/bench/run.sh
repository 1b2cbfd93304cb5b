#!/usr/bin/env bash
# Runs on the GPU machine, from the project root, after `source .device/enter.sh` (see README.md):
# the three published shapes with random f16 weights, then the same with --profile at one context.
# Results land in results/ (JSON per run, plus the console log).
set -euo pipefail
out=${1:-results}
mkdir -p "$out"
cli=.device/cli.mjs
node --version
node "$cli" bench --arch plm-1.8b,gta-1b,gqa-1b --random --prefill 128,2048 --contexts 128,2048,8192 --steps 64 \
  --json "$out/bench-f16.json" 2>&1 | tee "$out/bench-f16.log"
# A second pass for the run-to-run spread, then what each kernel group costs inside a step at 128.
node "$cli" bench --arch plm-1.8b,gta-1b,gqa-1b --random --prefill 2048 --contexts 128,8192 --steps 64 \
  --json "$out/bench-f16-pass2.json" 2>&1 | tee "$out/bench-f16-pass2.log"
gemv=gemv:qkv+gemv:qkcg+gemv:q_kv_a+gemv:attn_out+gemv:mlp_up+gemv:mlp_out+gemv:logits
attn=attn_decode+attn_decode_mqa_wide+attn_decode_mla_mma+attn_decode_combine
node "$cli" bench --arch plm-1.8b,gta-1b,gqa-1b --random --prefill 128 --contexts 128 --steps 64 \
  --ablate "$gemv,$attn,rope_store,attn_mla_absorb_q+attn_mla_up_v+attn_gta_decode_v" \
  --json "$out/bench-ablate.json" 2>&1 | tee "$out/bench-ablate.log"

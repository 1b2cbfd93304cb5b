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
node "$cli" bench --arch plm-1.8b,gta-1b,gqa-1b --random --prefill 128 --contexts 2048 --steps 16 --profile \
  --json "$out/bench-profile.json" 2>&1 | tee "$out/bench-profile.log"

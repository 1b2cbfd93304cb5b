#!/usr/bin/env bash
# Runs on the GPU machine after `source .device/enter.sh`: what Dawn's per-command validation and its
# shader bounds clamps cost in decode, CPU and GPU side. The same decode bench four times: Dawn's defaults,
# then with skip_validation, disable_robustness, and both (WORKBENCH_DAWN_TOGGLES, src/main/engine/gpu/device.ts).
set -euo pipefail
out=${1:-results}
mkdir -p "$out"
cli=.device/cli.mjs
archs=${ARCHS:-plm-1.8b,gta-1b,gqa-1b}
for t in none skip_validation disable_robustness skip_validation,disable_robustness; do
  tg=$t; [ "$t" = none ] && tg=
  WORKBENCH_DAWN_TOGGLES=$tg node "$cli" bench --arch "$archs" --random --prefill 128 --contexts 128,8192 --steps 64 \
    --json "$out/toggles-${t//,/+}.json" 2>&1 | grep -E "decode @|^[a-z].*on nvidia" | tee -a "$out/toggles.log"
done

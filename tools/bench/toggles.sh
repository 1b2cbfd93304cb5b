#!/usr/bin/env bash
# Runs on the GPU machine after `source .device/enter.sh`: what Dawn's per-command validation and its
# shader bounds clamps cost in decode, CPU and GPU side. The same decode bench three times: as the app runs
# (clamps off), with Dawn's clamps back on (WORKBENCH_DAWN_ROBUSTNESS=1), and with skip_validation
# (WORKBENCH_DAWN_TOGGLES; src/main/engine/gpu/device.ts).
set -euo pipefail
out=${1:-results}
mkdir -p "$out"
cli=.device/cli.mjs
archs=${ARCHS:-plm-1.8b,gta-1b,gqa-1b}
for t in app robustness skip_validation; do
  tg=; rb=
  [ "$t" = robustness ] && rb=1
  [ "$t" = skip_validation ] && tg=skip_validation
  WORKBENCH_DAWN_ROBUSTNESS=$rb WORKBENCH_DAWN_TOGGLES=$tg node "$cli" bench --arch "$archs" --random --prefill 128 --contexts 128,8192 --steps 64 \
    --json "$out/toggles-$t.json" 2>&1 | grep -E "decode @|^[a-z].*on nvidia" | tee -a "$out/toggles.log"
done

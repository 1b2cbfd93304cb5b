// Correctness on a real GPU: the checks of test/integration/golden.test.ts (v1 fixtures from the
// independent PyTorch reference: prompt logits, 16 greedy tokens, every step's logits, in one prefill and
// token by token) plus the bundled zoo checkpoints decoded against the CPU reference over a long prompt
// (several attention splits, the hardware-only kernel variants: row lengths compiled into pipelines,
// unrolled loops, no bounds clamps). CI runs the tests on lavapipe; this runs the same checks where the
// speed is measured.
//   node tools/bundle.mjs tools/bench/golden-check.ts .device/golden-check.mjs
//   source .device/enter.sh && node .device/golden-check.mjs [--zoo-prompt 400]
// Prints one line per check and exits 1 if any fails.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceBackend, WeightDtype } from '../../src/main/engine';
import { openBackend } from '../../src/main/engine';
import { argmax, createDevice, describeAdapter, requestAdapter, GpuRuntime } from '../../src/main/engine/kernels';
import { relL2 } from './args';

interface Golden {
  prompt_ids: number[];
  prompt_logits: number[][];
  greedy_ids: number[];
  step_logits: number[][];
}

const GOLDEN = 'test/fixtures/golden/v1';
const ZOO = 'models';
const TOL: Record<WeightDtype, number> = { f32: 1e-4, f16: 1e-2 };

let failures = 0;
function report(name: string, worst: number, tol: number, tokensOk: boolean): void {
  const ok = worst <= tol && tokensOk;
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: worst rel. L2 ${worst.toExponential(2)} (tolerance ${tol})${tokensOk ? '' : ', greedy tokens differ'}`);
}

async function golden(rt: GpuRuntime, dir: string, dtype: WeightDtype): Promise<void> {
  const g = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  const { backend } = await openBackend(dir, { backend: 'gpu', dtype, runtime: rt });
  try {
    const P = g.prompt_ids.length;
    let worst = 0;
    let tokensOk = true;
    const rows = (await backend.forward({ ids: [...g.prompt_ids, ...g.greedy_ids.slice(0, 15)], logits: 'all' })).logits;
    for (let i = 0; i < P; i++) worst = Math.max(worst, relL2(rows[i], g.prompt_logits[i]));
    for (let i = 0; i < 16; i++) {
      worst = Math.max(worst, relL2(rows[P - 1 + i], g.step_logits[i]));
      tokensOk &&= argmax(rows[P - 1 + i]) === g.greedy_ids[i];
    }
    backend.reset();
    let last = (await backend.forward({ ids: g.prompt_ids, logits: 'last' })).logits[0];
    worst = Math.max(worst, relL2(last, g.step_logits[0]));
    for (let i = 1; i < 16; i++) {
      last = (await backend.forward({ ids: [g.greedy_ids[i - 1]], logits: 'last' })).logits[0];
      worst = Math.max(worst, relL2(last, g.step_logits[i]));
      tokensOk &&= argmax(last) === g.greedy_ids[i];
    }
    report(`golden ${dir.split('/').pop()} ${dtype}`, worst, TOL[dtype], tokensOk);
  } finally {
    backend.dispose();
  }
}

/** A zoo checkpoint on the GPU against the CPU reference: a long random prompt, then cached steps. */
async function zoo(rt: GpuRuntime, dir: string, promptLen: number): Promise<void> {
  const gpu = (await openBackend(dir, { backend: 'gpu', dtype: 'f16', runtime: rt })).backend;
  const cpu: InferenceBackend = (await openBackend(dir, { backend: 'cpu', dtype: 'f16' })).backend;
  try {
    // The prompt and the 40 steps must fit the checkpoint's context (512 positions for the zoo).
    const n = Math.min(promptLen, gpu.config.maxPositions - 41);
    let s = 12345;
    const ids = Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) >>> 0) % gpu.config.vocabSize);
    let worst = 0;
    let tokensOk = true;
    let a = (await gpu.forward({ ids, logits: 'last' })).logits[0];
    let b = (await cpu.forward({ ids, logits: 'last' })).logits[0];
    worst = Math.max(worst, relL2(a, b));
    for (let i = 0; i < 40; i++) {
      const next = argmax(b);
      tokensOk &&= argmax(a) === next || Math.abs(a[argmax(a)] - a[next]) < 1e-2 * Math.abs(a[next]);
      a = (await gpu.forward({ ids: [next], logits: 'last' })).logits[0];
      b = (await cpu.forward({ ids: [next], logits: 'last' })).logits[0];
      worst = Math.max(worst, relL2(a, b));
    }
    report(`zoo ${dir.split('/').pop()} f16, ${n}-token prompt + 40 cached steps vs CPU`, worst, TOL.f16, tokensOk);
  } finally {
    gpu.dispose();
    cpu.dispose();
  }
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--zoo-prompt');
  const promptLen = i > 0 ? Number(process.argv[i + 1]) : 400;
  const adapter = await requestAdapter();
  const device = await createDevice(adapter, { label: 'golden-check' });
  let validation = 0;
  device.addEventListener('uncapturederror', (e) => {
    validation++;
    console.log(`FAIL WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
  });
  const rt = new GpuRuntime(device);
  const a = describeAdapter(adapter);
  console.log(`adapter: ${a.vendor} / ${a.description}; subgroup matrices ${rt.subgroupMatrix ? 'on' : 'off'}`);
  for (const c of readdirSync(GOLDEN).filter((d) => !d.includes('.')).sort()) {
    for (const dtype of ['f32', 'f16'] as const) await golden(rt, join(GOLDEN, c), dtype);
  }
  for (const m of readdirSync(ZOO).filter((d) => d.startsWith('zoo-')).sort()) await zoo(rt, join(ZOO, m), promptLen);
  failures += validation;
  console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

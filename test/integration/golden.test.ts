// The engine against the v1 golden fixtures (independent PyTorch float64 references): prompt logits,
// the 16 greedy tokens, and every greedy step's logits, both in one prefill and token by token with the
// cache; GPU with f32 and f16 weights, and the CPU reference backend.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackendKind, InferenceBackend, WeightDtype } from '../../src/main/engine/arch/types';
import { openBackend } from '../../src/main/engine/backend';
import { generate } from '../../src/main/engine/generate/generate';
import { GREEDY } from '../../src/main/engine/generate/sampling';
import { gpuRuntime, relL2 } from '../helpers/gpu';

const ROOT = join(__dirname, '../fixtures/golden/v1');
const CASES = readdirSync(ROOT).filter((d) => !d.includes('.')).sort();

interface Golden {
  version: number;
  prompt_ids: number[];
  prompt_logits: number[][];
  greedy_ids: number[];
  step_logits: number[][];
}

const RUNS: [BackendKind, WeightDtype, number][] = [
  ['gpu', 'f32', 1e-4],
  ['gpu', 'f16', 1e-2],
  ['cpu', 'f32', 1e-4],
];

const opened: InferenceBackend[] = [];
afterAll(() => opened.forEach((b) => b.dispose()));

function argmax(x: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  return b;
}

it('finds the seven fixture cases', () => {
  expect(CASES).toEqual(['gta-mqa', 'gta-multi', 'llama-gqa', 'llama-mha', 'plm', 'plm-qlora', 'qwen2-bias']);
});

describe.each(CASES)('golden %s', (name) => {
  const dir = join(ROOT, name);
  const g = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as Golden;
  const P = g.prompt_ids.length;

  it.each(RUNS)('%s backend, %s weights', async (kind, dtype, tol) => {
    expect(g.version).toBe(1);
    const { backend } = await openBackend(dir, { backend: kind, dtype, runtime: kind === 'gpu' ? await gpuRuntime() : undefined });
    opened.push(backend);

    // One prefill over the prompt and the first 15 greedy tokens: every row at once.
    const seq = [...g.prompt_ids, ...g.greedy_ids.slice(0, 15)];
    const rows = (await backend.forward({ ids: seq, logits: 'all' })).logits;
    for (let i = 0; i < P; i++) expect(relL2(rows[i], g.prompt_logits[i]), `prompt row ${i}`).toBeLessThan(tol);
    for (let i = 0; i < 16; i++) {
      expect(relL2(rows[P - 1 + i], g.step_logits[i]), `step ${i} in one prefill`).toBeLessThan(tol);
      expect(argmax(rows[P - 1 + i]), `greedy token ${i} in one prefill`).toBe(g.greedy_ids[i]);
    }

    // Token by token with the cache.
    backend.reset();
    let last = (await backend.forward({ ids: g.prompt_ids, logits: 'last' })).logits[0];
    expect(relL2(last, g.step_logits[0])).toBeLessThan(tol);
    for (let i = 1; i < 16; i++) {
      last = (await backend.forward({ ids: [g.greedy_ids[i - 1]], logits: 'last' })).logits[0];
      expect(relL2(last, g.step_logits[i]), `cached step ${i}`).toBeLessThan(tol);
    }

    // The generation loop, sampling greedily on the backend.
    const out = await generate(backend, g.prompt_ids, { maxTokens: 16, sampling: GREEDY, stopTokens: [] });
    expect(out.ids).toEqual(g.greedy_ids);
    expect(out.stats.stopReason).toBe('max_tokens');
  });
});

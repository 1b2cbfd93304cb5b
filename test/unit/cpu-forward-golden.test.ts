// The CPU forward passes against the v1 golden fixtures (test/fixtures/golden/v1, made by
// tools/reference/make_golden.py from transformers' Llama/Qwen2 classes and the float64 PLM/GTA
// references): prompt logits, then greedy decode through the cache, step logits and ids.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuModel, type CpuModelOptions } from '../../src/main/engine/cpu/forward';
import { loadWeights } from '../../src/main/engine/model/loader';

const ROOT = join(__dirname, '../fixtures/golden/v1');
const CASES = readdirSync(ROOT).sort();

interface Golden {
  prompt_ids: number[];
  greedy_ids: number[];
  prompt_logits: number[][];
  step_logits: number[][];
  cache_values_per_token: number;
}

/** The fixtures print 6 significant digits; allow that rounding on logits of magnitude up to ~10. */
function expectClose(got: Float64Array, want: number[], what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-5 + 1e-5 * Math.abs(want[i])));
  expect(worst, `${what}: error in units of the fixture's rounding`).toBeLessThan(1);
}

function argmax(row: Float64Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

describe.each(CASES)('golden %s', (name) => {
  const golden = JSON.parse(readFileSync(join(ROOT, name, 'golden.json'), 'utf8')) as Golden;
  const forms: CpuModelOptions[] = name.startsWith('plm') ? [{ mlaForm: 'absorbed' }, { mlaForm: 'expanded' }] : [{}];

  it.each(forms)('matches prompt logits, greedy ids and step logits %o', async (opts) => {
    const { info, tensors } = await loadWeights(join(ROOT, name), { dtype: 'f32' });
    const m = createCpuModel(info.config, tensors, opts);
    // the fixture counts values per token over all layers
    expect(m.cacheLayout().reduce((a, p) => a + p.valuesPerToken, 0) * info.config.numLayers).toBe(golden.cache_values_per_token);
    const V = info.config.vocabSize;
    const prompt = m.forward(golden.prompt_ids, 0);
    golden.prompt_logits.forEach((row, i) => expectClose(prompt.subarray(i * V, (i + 1) * V), row, `prompt row ${i}`));
    // step_logits[0] is the last prompt row; step s's argmax is greedy_ids[s], then fed back
    let logits = prompt.subarray((golden.prompt_ids.length - 1) * V);
    for (let s = 0; s < golden.greedy_ids.length; s++) {
      expectClose(logits, golden.step_logits[s], `step ${s}`);
      expect(argmax(logits), `greedy step ${s}`).toBe(golden.greedy_ids[s]);
      if (s + 1 < golden.greedy_ids.length) logits = m.forward([golden.greedy_ids[s]], golden.prompt_ids.length + s);
    }
  });
});

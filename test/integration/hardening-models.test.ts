// Issue 15, items 2 and 4 through the real services: a checkpoint with one NaN in model.norm.weight is
// refused for loading (CPU and GPU paths) with the count and the tensor named, the load run failed with
// nonfinite_* metrics, and the folder then shows the problem in the models list and in its check; and an
// added folder whose config.json is edited to num_hidden_layers 1e9 lists and validates in milliseconds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/shared/errors';
import { createServices, type Services } from '../../src/main/services';
import { TINY_LLAMA, writeTinyCheckpoint } from '../helpers/checkpoint';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-hardening-models-');
const modelsDir = join(root, 'models');
let s: Services;

function poisonedNorm(dir: string): string {
  return writeTinyCheckpoint(TINY_LLAMA, {
    dir,
    edit: (ts) => ts.map((t) => (t.name === 'model.norm.weight' ? { ...t, data: Float32Array.from(t.data, (v, i) => (i === 5 ? NaN : v)) } : t)),
  });
}

beforeAll(() => {
  mkdirSync(modelsDir, { recursive: true });
  poisonedNorm(join(modelsDir, 'nan-cpu'));
  poisonedNorm(join(modelsDir, 'nan-auto'));
  const entry = (id: string) => ({ id, name: id, variant: 'gqa', path: id, params: null, kv_values_per_token_layer: 64, default: false });
  writeFileSync(join(modelsDir, 'catalog.json'), JSON.stringify({ models: [entry('nan-cpu'), entry('nan-auto')] }));
  s = createServices({ dataDir: join(root, 'data'), host: 'browser', modelsDir });
});
afterAll(async () => {
  await s?.shutdown();
});

async function refusal(p: unknown): Promise<CheckpointError & { runId: string }> {
  const e = await Promise.resolve(p).then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(CheckpointError);
  return e as CheckpointError & { runId: string };
}

describe('NaN/Inf weights', () => {
  it('finds them in the model check before the folder is added', async () => {
    const check = await s.handlers.validateModelFolder({ path: join(modelsDir, 'nan-cpu') });
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual([{ kind: 'weights', message: expect.stringMatching(/^model\.norm\.weight holds 1 NaN\/Inf value \(1 tensor, 1 value in all\); .*every output would be NaN.*refuses to load weights with NaN\/Inf values/) }]);
  });

  for (const backend of ['cpu', 'auto'] as const) {
    it(`refuses to load them (${backend}), records the count on the run and marks the folder`, async () => {
      const modelId = `nan-${backend}`;
      const e = await refusal(s.handlers.loadModel({ modelId, backend }));
      expect(e.message).toContain('model.norm.weight holds 1 NaN/Inf value (1 tensor, 1 value in all)');
      const run = await s.handlers.getRun({ id: e.runId });
      expect(run).toMatchObject({ kind: 'load', status: 'failed', error: e.message });
      expect(Object.fromEntries(run.metrics.map((m) => [m.name, m.value]))).toMatchObject({ nonfinite_values: 1, nonfinite_tensors: 1 });
      expect((await s.handlers.modelStatus({})).loaded).toBeNull();
      const entry = (await s.handlers.listModels({})).models.find((m) => m.id === modelId)!;
      expect(entry.problem).toContain('model.norm.weight holds 1 NaN/Inf value');
      // a second try is refused by the check, before any weight is read
      expect((await refusal(s.handlers.loadModel({ modelId, backend }))).message).toContain('model.norm.weight holds 1 NaN/Inf value');
    }, 120_000);
  }

  it('forgets the refusal once the weights are replaced', async () => {
    writeTinyCheckpoint(TINY_LLAMA, { dir: join(modelsDir, 'nan-cpu') });
    const entry = (await s.handlers.listModels({})).models.find((m) => m.id === 'nan-cpu')!;
    expect(entry.problem).toBeNull();
    const loaded = await s.handlers.loadModel({ modelId: 'nan-cpu', backend: 'cpu' });
    expect(loaded.modelId).toBe('nan-cpu');
    await s.handlers.unloadModel({});
  });
});

describe('huge config integers', () => {
  it('lists and validates an added folder edited to num_hidden_layers 1e9 in milliseconds', async () => {
    const dir = writeTinyCheckpoint(TINY_LLAMA, { dir: join(root, 'added') });
    const added = await s.handlers.addModelFolder({ path: dir });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...TINY_LLAMA, num_hidden_layers: 1e9 }));
    const t0 = performance.now();
    const entry = (await s.handlers.listModels({})).models.find((m) => m.id === added.id)!;
    expect(entry.problem).toContain('num_hidden_layers (1,000,000,000) is above the limit of 1,024');
    expect(entry.params).toBeNull();
    const check = await s.handlers.validateModelFolder({ path: dir });
    expect(check.problems[0].message).toContain('num_hidden_layers (1,000,000,000) is above the limit of 1,024');
    expect((await refusal(s.handlers.loadModel({ modelId: added.id, backend: 'cpu' }))).message).toContain('num_hidden_layers (1,000,000,000)');
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

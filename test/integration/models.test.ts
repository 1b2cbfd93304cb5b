// The model manager through the real services: the zoo catalog with cards, added folders remembered
// across restarts, validation of broken folders (each problem named), loading a tiny golden checkpoint
// on the GPU with progress events and a 'load' run, cancel, and a failed load that leaves nothing loaded.
import { cpSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, CheckpointError, ContextLengthError, InvalidRequestError, NotFoundError } from '../../src/shared/errors';
import type { Services } from '../../src/main/services';
import { TINY_LLAMA, writeTinyCheckpoint } from '../helpers/checkpoint';
import { EventLog, GOLDEN, makeZoo, openServices } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-models-');
const dataDir = join(root, 'data');
const modelsDir = makeZoo(root, [
  { id: 'tiny-gqa', golden: 'llama-gqa', card: '# Tiny GQA\nTrained on nothing; for tests.\n', isDefault: true },
  { id: 'tiny-gta', golden: 'gta-mqa' },
]);
const open: Services[] = [];
const start = () => {
  const s = openServices(dataDir, modelsDir);
  open.push(s);
  return s;
};
afterAll(async () => {
  for (const s of open) await s.shutdown();
});

function copyGolden(name: string): string {
  const dir = join(root, `copy-${name}-${open.length}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(GOLDEN, name), dir, { recursive: true });
  return dir;
}

describe('model list', () => {
  it('lists the bundled zoo with cards and remembers added folders across restarts', async () => {
    const s = start();
    const { models, catalogProblem } = await s.handlers.listModels({});
    expect(catalogProblem).toBeUndefined();
    expect(models.map((m) => [m.id, m.source, m.variant, m.isDefault])).toEqual([
      ['tiny-gqa', 'bundled', 'GQA', true],
      ['tiny-gta', 'bundled', 'GTA', false],
    ]);
    expect(models[0].card).toContain('# Tiny GQA');
    expect(models[0].hasTokenizer).toBe(false);
    expect(models[0].maxContext).toBe(256);

    const folder = copyGolden('plm');
    const added = await s.handlers.addModelFolder({ path: folder, name: 'My PLM' });
    expect(added).toMatchObject({ source: 'added', name: 'My PLM', variant: 'MLA', path: folder });
    await s.shutdown();

    const again = start();
    const listed = (await again.handlers.listModels({})).models;
    expect(listed.find((m) => m.id === added.id)).toMatchObject({ name: 'My PLM', source: 'added' });
    await expect(Promise.resolve().then(() => again.handlers.removeModelFolder({ id: 'tiny-gqa' }))).rejects.toThrow(InvalidRequestError);
    expect(await again.handlers.removeModelFolder({ id: added.id })).toEqual({ removed: true });
    expect((await again.handlers.listModels({})).models.some((m) => m.id === added.id)).toBe(false);
  });
});

describe('validateModelFolder', () => {
  const s = () => open[open.length - 1] ?? start();

  it('accepts a good folder, with a warning that prompts are token ids', async () => {
    const check = await s().handlers.validateModelFolder({ path: join(GOLDEN, 'llama-gqa') });
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);
    expect(check.variant).toBe('GQA');
    expect(check.largestTensor?.bytes).toBeGreaterThan(0);
    expect(check.warnings.join(' ')).toMatch(/no tokenizer\.json.*token ids/);
    const { adapter } = await s().handlers.systemInfo({});
    expect(check.adapter).toEqual(adapter ? expect.stringContaining(adapter.vendor) : null);
    expect(check.warnings.some((w) => /software renderer/.test(w))).toBe(adapter?.isSoftware ?? false);
  });

  it('names a truncated safetensors file', async () => {
    const dir = copyGolden('llama-gqa');
    const file = join(dir, 'model.safetensors');
    truncateSync(file, readFileSync(file).length - 1000);
    const check = await s().handlers.validateModelFolder({ path: dir });
    expect(check.ok).toBe(false);
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0].kind).toBe('weights');
    expect(check.problems[0].message).toMatch(/model\.safetensors: is truncated.*Download or export the weights again/);
  });

  it('names a tensor with the wrong shape', async () => {
    const dir = writeTinyCheckpoint(TINY_LLAMA, {
      edit: (t) => t.map((x) => (x.name === 'model.layers.1.self_attn.k_proj.weight' ? { ...x, shape: [8, 32], data: x.data.subarray(0, 8 * 32) } : x)),
    });
    const check = await s().handlers.validateModelFolder({ path: dir });
    expect(check.problems.map((p) => p.kind)).toEqual(['shape']);
    expect(check.problems[0].message).toMatch(/^model\.layers\.1\.self_attn\.k_proj\.weight is \[8, 32\]; the config implies \[16, 32\]\. /);
  });

  it('names a missing tokenizer.json when the tokenizer config is there, and a missing folder', async () => {
    const dir = copyGolden('gta-mqa');
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|endoftext|>' }));
    const check = await s().handlers.validateModelFolder({ path: dir });
    expect(check.problems).toEqual([{ kind: 'tokenizer', message: expect.stringMatching(/tokenizer\.json is missing.*Copy tokenizer\.json/) }]);
    await expect(s().handlers.addModelFolder({ path: dir })).rejects.toThrow(CheckpointError);

    const gone = await s().handlers.validateModelFolder({ path: join(root, 'no-such-folder') });
    expect(gone.problems.map((p) => p.kind)).toEqual(['folder']);
  });
});

describe('loadModel', () => {
  it('loads with progress events, records a load run, reports memory, unloads', async () => {
    const s = start();
    const log = new EventLog(s);
    const taskId = '11111111-2222-4333-8444-555555555555';
    const m = await s.handlers.loadModel({ modelId: 'tiny-gqa', taskId });
    expect(m).toMatchObject({ modelId: 'tiny-gqa', variant: 'GQA', backend: 'gpu', dtype: 'f16', nCtx: 256, hasTokenizer: false, defaultMode: 'completion' });
    // 2 layers × (k + v) × 256 tokens × 2 kv heads × 16 dims × 2 bytes
    expect(m.memory.kvReservedBytes).toBe(2 * 2 * 256 * 32 * 2);
    expect(m.memory.byPart).toHaveLength(4);
    expect(m.memory.weightsBytes).toBeGreaterThan(100_000);

    const progress = log.of('progress').filter((e) => e.taskId === taskId);
    expect(progress.length).toBeGreaterThan(0);
    const last = progress[progress.length - 1];
    expect(last.done).toBe(last.total);
    expect(log.of('task-finished')).toEqual([expect.objectContaining({ taskId, kind: 'load', outcome: 'completed', runId: m.loadRunId })]);
    expect(log.of('model-loaded')).toHaveLength(1);

    const run = await s.handlers.getRun({ id: m.loadRunId });
    expect(run).toMatchObject({ kind: 'load', status: 'completed', model: 'Tiny llama-gqa' });
    expect(run.environment.adapter).toBeTruthy();
    expect(run.metrics.map((x) => x.name).sort()).toEqual(['file_bytes', 'kv_reserved_bytes', 'load_ms', 'read_mb_s', 'weights_bytes']);
    expect((await s.handlers.listModels({})).models.find((x) => x.id === 'tiny-gqa')?.loaded).toBe(true);

    expect(await s.handlers.unloadModel({})).toEqual({ unloaded: true });
    expect((await s.handlers.modelStatus({})).loaded).toBeNull();
  });

  it('loads on the CPU reference when asked, with the asked context', async () => {
    const s = start();
    const m = await s.handlers.loadModel({ modelId: 'tiny-gqa', backend: 'cpu', nCtx: 64 });
    expect(m).toMatchObject({ backend: 'cpu', nCtx: 64, fallback: null });
    // The CPU reference keeps float64 cache rows: 2 layers × (k + v) × 64 tokens × 32 values × 8 bytes.
    expect(m.memory.kvReservedBytes).toBe(2 * 2 * 64 * 32 * 8);
    await expect(s.handlers.loadModel({ modelId: 'tiny-gqa', nCtx: 1000 })).rejects.toThrow(ContextLengthError);
    expect((await s.handlers.modelStatus({})).loaded).toMatchObject({ backend: 'cpu', nCtx: 64 });
  });

  it('cancels a load from its first progress event: nothing loaded, the run stopped', async () => {
    const s = start();
    const taskId = '21111111-2222-4333-8444-555555555555';
    new EventLog(s, (e) => {
      if (e.type === 'progress' && e.taskId === taskId) s.handlers.cancelTask({ taskId });
    });
    await expect(s.handlers.loadModel({ modelId: 'tiny-gta', taskId })).rejects.toThrow(CancelledError);
    expect((await s.handlers.modelStatus({})).loaded).toBeNull();
    const runs = await s.handlers.listRuns({ kind: 'load', status: 'stopped' });
    expect(runs.total).toBe(1);
  });

  it('refuses a folder that broke after it was added, leaving nothing loaded', async () => {
    const s = start();
    const dir = copyGolden('qwen2-bias');
    const added = await s.handlers.addModelFolder({ path: dir });
    truncateSync(join(dir, 'model.safetensors'), 100);
    await expect(s.handlers.loadModel({ modelId: added.id })).rejects.toThrow(/is truncated|header claims/);
    expect((await s.handlers.modelStatus({})).loaded).toBeNull();
    await expect(s.handlers.loadModel({ modelId: 'nope' })).rejects.toThrow(NotFoundError);
  });
});

// startAnalysis through the real services (SQLite, the Dawn adapter — lavapipe in CI) on the bundled MHA
// model: the run completes with every analysis, its summary and arrays reopen after a restart without the
// model, the stored maps are the engine's own, the shared-map baseline is the model's perplexity, and
// bad input (empty text, a text longer than the context, a model not loaded, no tokenizer, a cancel)
// gets a clear error with nothing half-stored.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/main/services';
import { ContextLengthError, InvalidRequestError } from '../../src/shared/errors';
import { EventLog, makeZoo } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-analysis-');
const dataDir = join(root, 'data');
let s: Services = createServices({ dataDir, host: 'browser' });
afterAll(() => s.shutdown());

const TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness.';
// Lavapipe compiles the analysis pipelines on first use.
const COLD_MS = 300_000;

function f32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

describe('analysis service', () => {
  let runId = '';

  it('analyses the loaded model and stores a complete run', async () => {
    await s.handlers.loadModel({ modelId: 'zoo-mha-2.8m', backend: 'gpu' });
    const log = new EventLog(s);
    const started = await s.handlers.startAnalysis({ modelId: 'zoo-mha-2.8m', text: TEXT, taus: [0.05, 0.2] });
    runId = started.runId;
    expect(await s.tasks.settled(started.taskId)).toBe('completed');
    const run = await s.handlers.getRun({ id: runId });
    expect(run).toMatchObject({ kind: 'analysis', status: 'completed', model: 'Zoo MHA 2.8M' });
    const sum = await s.handlers.getAnalysis({ runId });
    const T = s.models.current()!.engine.encode(TEXT).length;
    expect(sum.input.tokens).toBe(T);
    expect(sum.tokenLabels).toHaveLength(T);
    expect(sum.model).toMatchObject({ variant: 'MHA', numLayers: 4, numMaps: 4, headsPerMap: 1 });
    expect(sum.model.weightHash).toMatch(/^[0-9a-f]{64}$/);
    expect(sum.analyses).toEqual(['maps', 'similarity', 'grouping', 'sharedMap', 'compressibility', 'kvFlops']);
    // Maps: per-layer stats, thumbnails and (small input) the full maps.
    expect(sum.stats).toHaveLength(4);
    for (const layer of sum.stats!) for (const m of layer) {
      expect(m.entropy).toBeGreaterThanOrEqual(0);
      expect(m.sink + m.self).toBeLessThanOrEqual(1 + 1e-6 + m.sink);
    }
    expect(sum.mapsStored).toEqual({ full: true, thumbSide: Math.min(64, T) });
    // Similarity: symmetric JS in [0, 1] with a zero diagonal, a full dendrogram, MDS of all 16 maps.
    for (const m of sum.similarity!.layers) {
      expect(m.n).toBe(4);
      expect(m.merges).toHaveLength(3);
      expect([...m.order].sort()).toEqual([0, 1, 2, 3]);
      for (let a = 0; a < 4; a++) {
        expect(m.js[a * 4 + a]).toBeCloseTo(0, 6);
        for (let b = 0; b < 4; b++) {
          expect(m.js[a * 4 + b]).toBeCloseTo(m.js[b * 4 + a], 6);
          expect(m.js[a * 4 + b]).toBeGreaterThanOrEqual(0);
          expect(m.js[a * 4 + b]).toBeLessThanOrEqual(1);
        }
      }
    }
    expect(sum.similarity!.global.n).toBe(16);
    expect(sum.similarity!.global.mds).toHaveLength(16);
    expect(sum.similarity!.global.order).toHaveLength(16);
    expect(sum.similarity!.global.merges).toHaveLength(15);
    // The all-layers matrices are binary arrays, not inline in the summary JSON.
    expect(sum.similarity!.global.js).toEqual([]);
    expect(sum.similarity!.global.cosine).toEqual([]);
    expect(sum.arrays['global-js.f32']?.shape).toEqual([16, 16]);
    expect(sum.arrays['global-cosine.f32']?.shape).toEqual([16, 16]);
    for (const name of ['global-js.f32', 'global-cosine.f32']) {
      const g = await s.handlers.getAnalysisArray({ runId: sum.runId, name });
      expect(g.dtype).toBe('f32');
      expect(g.shape).toEqual([16, 16]);
      const v = f32(g.base64);
      expect(v).toHaveLength(256);
      for (let a = 0; a < 16; a++) {
        for (let b = 0; b < 16; b++) expect(v[a * 16 + b]).toBeCloseTo(v[b * 16 + a], 5);
        if (name === 'global-js.f32') expect(v[a * 16 + a]).toBeCloseTo(0, 5);
        else expect(v[a * 16 + a]).toBeCloseTo(1, 3);
      }
    }
    // Grouping at each τ; the shared-map test has a baseline and a result per τ, scope and grouping.
    expect(sum.grouping!.layers).toHaveLength(4);
    expect(sum.grouping!.layers[0].suggestions.map((g) => g.tau)).toEqual([0.05, 0.2]);
    const sm = sum.sharedMap!;
    expect(sm.tokens).toBe(T - 1);
    expect(sm.baselinePpl).toBeGreaterThan(1);
    expect(sm.results.filter((r) => r.scope === 'model')).toHaveLength(4);
    expect(sm.results.filter((r) => r.scope === 'layer')).toHaveLength(4);
    // A result whose groups are all singletons is the baseline itself.
    for (const r of sm.results) if (r.groups === r.maps) expect(r.ppl).toBe(sm.baselinePpl);
    // Compressibility: keys and values of every layer, ranks within the dimension.
    expect(sum.compressibility!.map((c) => `${c.layer}.${c.part}`)).toEqual(['0.keys', '0.values', '1.keys', '1.values', '2.keys', '2.values', '3.keys', '3.values']);
    for (const c of sum.compressibility!) {
      expect(c.singular).toHaveLength(Math.min(T, c.dim));
      expect(c.rank90).toBeLessThanOrEqual(c.rank99);
      expect(c.rank99).toBeLessThanOrEqual(Math.min(T, c.dim));
    }
    // KV: the cache's own report equals the formula (MHA: 2·4·64 values, f16, 4 layers).
    expect(sum.kvFlops!.measured.kvBytes).toBe(T * 512 * 2 * 4);
    expect(sum.kvFlops!.notes.filter((n) => n.includes('cache reports'))).toEqual([]);
    expect(Math.abs(sum.kvFlops!.counted.attention / sum.kvFlops!.analytic.attention - 1)).toBeLessThan(0.01);
    // Metrics for the run table, progress to the end.
    expect(run.metrics.filter((m) => m.name === 'entropy_bits').map((m) => m.step)).toEqual([0, 1, 2, 3]);
    expect(run.metrics.find((m) => m.name === 'baseline_ppl')?.value).toBeCloseTo(sm.baselinePpl, 9);
    expect(log.of('task-finished').find((e) => e.taskId === started.taskId)).toMatchObject({ outcome: 'completed', runId });
  }, COLD_MS);

  it('serves arrays and maps: the stored map equals the engine, thumbnails are block means', async () => {
    const sum = await s.handlers.getAnalysis({ runId });
    const T = sum.input.tokens;
    const m = await s.handlers.attentionMap({ runId, layer: 2, map: 1 });
    expect(m).toMatchObject({ resolution: 'full', source: 'stored', shape: [T, T], dtype: 'f32' });
    const stored = f32(m.base64);
    const engine = s.models.current()!.engine;
    const maps = await engine.attention(engine.encode(TEXT));
    const ref = maps[2].probs.subarray(T * T, 2 * T * T);
    let worst = 0;
    for (let i = 0; i < T * T; i++) worst = Math.max(worst, Math.abs(stored[i] - ref[i]));
    expect(worst).toBeLessThan(1e-3); // stored as f16
    const thumbs = await s.handlers.getAnalysisArray({ runId, name: 'thumbs.f32', index: [2] });
    expect(thumbs.shape).toEqual([4, Math.min(64, T), Math.min(64, T)]);
    await expect(s.handlers.getAnalysisArray({ runId, name: 'thumbs.f32', index: [9] })).rejects.toThrow(/out of range/);
    await expect(s.handlers.getAnalysisArray({ runId, name: 'nope.f32' })).rejects.toThrow(/has no array "nope.f32"/);
    await expect(s.handlers.attentionMap({ runId, layer: 4, map: 0 })).rejects.toThrow(/4 layers/);
  }, COLD_MS);

  it('reopens after a restart without the model loaded', async () => {
    const before = await s.handlers.getAnalysis({ runId });
    await s.shutdown();
    s = createServices({ dataDir, host: 'browser' });
    expect(s.models.current()).toBeNull();
    const after = await s.handlers.getAnalysis({ runId });
    expect(after).toEqual(before);
    const m = await s.handlers.attentionMap({ runId, layer: 0, map: 0 });
    expect(m.source).toBe('stored');
  });

  it('refuses bad input clearly and stores nothing for it', async () => {
    const runsBefore = (await s.handlers.listRuns({ kind: 'analysis' })).total;
    await expect(s.handlers.startAnalysis({ modelId: 'zoo-mha-2.8m', text: TEXT })).rejects.toThrow(/No model is loaded/);
    await s.handlers.loadModel({ modelId: 'zoo-mha-2.8m', backend: 'gpu', nCtx: 16 });
    await expect(s.handlers.startAnalysis({ modelId: 'zoo-gta-2.8m', text: TEXT })).rejects.toThrow(InvalidRequestError);
    await expect(s.handlers.startAnalysis({ modelId: 'zoo-mha-2.8m', text: '   ' })).rejects.toThrow(/text is empty/);
    await expect(s.handlers.startAnalysis({ modelId: 'zoo-mha-2.8m', text: TEXT })).rejects.toThrow(ContextLengthError);
    await expect(s.handlers.startAnalysis({ modelId: 'zoo-mha-2.8m', tokenIds: [5] })).rejects.toThrow(/at least 2 tokens/);
    expect((await s.handlers.listRuns({ kind: 'analysis' })).total).toBe(runsBefore);
  }, COLD_MS);

  it('a cancelled analysis ends stopped with what it had finished', async () => {
    await s.handlers.loadModel({ modelId: 'zoo-mha-2.8m', backend: 'gpu' });
    const taskId = crypto.randomUUID();
    let cancelled = false;
    const log = new EventLog(s, (e) => {
      // Cancel once the shared-map test has begun: maps, similarity and grouping are finished by then.
      if (!cancelled && e.type === 'progress' && e.taskId === taskId && /shared-map/i.test(e.label)) {
        cancelled = true;
        void s.handlers.cancelTask({ taskId });
      }
    });
    const started = await s.handlers.startAnalysis({ modelId: 'zoo-mha-2.8m', text: TEXT, taskId });
    expect(await s.tasks.settled(started.taskId)).toBe('cancelled');
    log.off();
    const run = await s.handlers.getRun({ id: started.runId });
    expect(run.status).toBe('stopped');
    const sum = await s.handlers.getAnalysis({ runId: started.runId });
    expect(sum.analyses).toEqual(['maps', 'similarity', 'grouping']);
    expect(sum.stats).toHaveLength(4);
    expect(sum.grouping!.layers).toHaveLength(4);
    expect(sum.sharedMap).toBeUndefined();
    expect(sum.compressibility).toBeUndefined();
  }, COLD_MS);

  it('a model without a tokenizer cannot analyse text but can analyse ids', async () => {
    const zoo = makeZoo(root, [{ id: 'tiny-gqa', golden: 'llama-gqa' }]);
    await s.shutdown();
    s = createServices({ dataDir, host: 'browser', modelsDir: zoo });
    await s.handlers.loadModel({ modelId: 'tiny-gqa', backend: 'gpu' });
    await expect(s.handlers.startAnalysis({ modelId: 'tiny-gqa', text: TEXT })).rejects.toThrow(/no tokenizer/);
    const started = await s.handlers.startAnalysis({ modelId: 'tiny-gqa', tokenIds: [1, 5, 9, 3, 7, 2, 8], analyses: ['maps', 'kvFlops'] });
    expect(await s.tasks.settled(started.taskId)).toBe('completed');
    const sum = await s.handlers.getAnalysis({ runId: started.runId });
    expect(sum.tokenLabels).toEqual(['1', '5', '9', '3', '7', '2', '8']);
    expect(sum.analyses).toEqual(['maps', 'kvFlops']);
  }, COLD_MS);
});

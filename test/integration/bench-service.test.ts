// startBench through the real services on a tiny golden checkpoint: returns at once with the task and
// run ids, reports progress to the end, and stores a 'bench' run with prefill, decode and floor tok/s
// and KV bytes per context; a cancelled bench ends 'stopped'; impossible lengths are refused up front.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContextLengthError } from '../../src/shared/errors';
import { EventLog, makeZoo, openServices } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-bench-');
const s = openServices(join(root, 'data'), makeZoo(root, [{ id: 'tiny-gta', golden: 'gta-mqa' }]));
afterAll(() => s.shutdown());

// Lavapipe compiles the prefill and decode pipelines in about a minute when its shader cache is cold.
const COLD_COMPILE_MS = 300_000;

describe('bench service', () => {
  it('runs to completion with progress and stores the metrics', async () => {
    const log = new EventLog(s);
    const started = await s.handlers.startBench({ modelId: 'tiny-gta', prefillLengths: [4, 16], contexts: [0, 32], repetitions: 2, decodeSteps: 3 });
    expect(await s.tasks.settled(started.taskId)).toBe('completed');
    const run = await s.handlers.getRun({ id: started.runId });
    expect(run).toMatchObject({ kind: 'bench', status: 'completed', model: 'Tiny gta-mqa', params: { prefillLengths: [4, 16], contexts: [0, 32], repetitions: 2, decodeSteps: 3 } });
    const series = (name: string) => run.metrics.filter((m) => m.name === name).map((m) => [m.step, m.value] as const);
    expect(series('prefill_tok_s').map(([step]) => step)).toEqual([4, 16]);
    expect(series('decode_tok_s').map(([step]) => step)).toEqual([0, 32]);
    expect(series('floor_tok_s').map(([step]) => step)).toEqual([0, 32]);
    expect(series('prefill_ms')).toHaveLength(4);
    for (const n of ['prefill_tok_s', 'decode_tok_s', 'floor_tok_s']) for (const [, v] of series(n)) expect(v).toBeGreaterThan(0);
    // GTA-MQA caches one key head (8) and one latent group (16) per token and layer, f16, 2 layers.
    expect(series('kv_bytes')).toEqual([[0, 0], [32, 32 * (8 + 16) * 2 * 2]]);
    // The least a decode step moves grows by the cache of the extra 32 tokens.
    const least = series('min_bytes_per_token');
    expect(least[1][1] - least[0][1]).toBe(32 * (8 + 16) * 2 * 2);
    expect(series('decode_ms_per_token')).toHaveLength(4);
    // Both sides of a decode step: CPU recording always, GPU time where the adapter has timestamps.
    expect(series('decode_cpu_ms_per_step').map(([step]) => step)).toEqual([0, 32]);
    for (const [, v] of [...series('decode_cpu_ms_per_step'), ...series('decode_gpu_ms_per_step')]) expect(v).toBeGreaterThan(0);
    const [[, gbPerS]] = series('bandwidth_gb_s');
    expect(gbPerS).toBeGreaterThan(0);
    // One bandwidth for every floor: a longer context, more bytes a step, a lower floor.
    expect(series('floor_tok_s')).toEqual(least.map(([ctx, bytes]) => [ctx, (gbPerS * 1e9) / bytes]));

    const progress = log.of('progress').filter((e) => e.taskId === started.taskId);
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 2 * 4 }, (_, i) => i + 1));
    expect(progress.every((p) => p.total === 8)).toBe(true);
    expect(log.of('task-finished').find((e) => e.taskId === started.taskId)).toMatchObject({ outcome: 'completed', runId: started.runId });
  }, COLD_COMPILE_MS);

  it('stops when cancelled and refuses lengths beyond the model context', async () => {
    const taskId = '41111111-2222-4333-8444-555555555555';
    const off = s.events.subscribe((e) => {
      if (e.type === 'progress' && e.taskId === taskId && e.done === 2) void s.handlers.cancelTask({ taskId });
    });
    // The same cache size as above, so the compiled pipelines are reused.
    const started = await s.handlers.startBench({ modelId: 'tiny-gta', prefillLengths: [16], contexts: [32], repetitions: 5, decodeSteps: 3, taskId });
    expect(await s.tasks.settled(taskId)).toBe('cancelled');
    off();
    expect((await s.handlers.getRun({ id: started.runId })).status).toBe('stopped');
    await expect(s.handlers.startBench({ modelId: 'tiny-gta', prefillLengths: [8], contexts: [4096], repetitions: 1 })).rejects.toThrow(ContextLengthError);
  });
});

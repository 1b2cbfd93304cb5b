// Benchmark from the UI: prefill throughput per prompt length, decode throughput per context length,
// and the bandwidth floor per context (the tok/s a decode step would reach if it only streamed the bytes
// it reads at the device's measured bandwidth), stored as a run of kind 'bench'. The engine has no bench
// function of its own, so this times its backend directly: a prefill or decode step is timed to its
// sampled token's 4-byte read-back, which waits for all of its GPU work.
import type { BenchInput, BenchStarted } from '../../shared/api';
import { CancelledError, CheckpointError, ContextLengthError } from '../../shared/errors';
import { GREEDY, type InferenceBackend } from '../engine';
import { openBackend } from '../engine/backend';
import type { GpuRuntime } from '../engine/gpu/runtime';
import { add } from '../engine/ops/add';
import type { RunStore } from '../store';
import type { EventBus } from './events';
import type { GpuProvider } from './gpu';
import type { ModelManager } from './models';
import type { System } from './system';
import type { Task, TaskRegistry } from './tasks';

export interface BenchDeps {
  store: RunStore;
  events: EventBus;
  tasks: TaskRegistry;
  system: System;
  models: ModelManager;
  gpu: GpuProvider;
}

const DEFAULT_DECODE_STEPS = 8;
/** Elements per buffer of the bandwidth probe (3 buffers: 48 MiB streamed per pass at most). */
const PROBE_ELEMS = 4 * 2 ** 20;
const PROBE_PASSES = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Deterministic token ids spread over the vocabulary (an LCG), so runs are comparable. */
function tokens(n: number, vocab: number, seed: number): number[] {
  const out: number[] = new Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x % vocab;
  }
  return out;
}

/** Streaming bandwidth of the device in bytes/s: the engine's elementwise add (reads 8 B, writes 4 B per element). */
async function measureBandwidth(rt: GpuRuntime): Promise<number> {
  const n = Math.min(PROBE_ELEMS, Math.floor(rt.device.limits.maxStorageBufferBindingSize / 4));
  const bufs = [0, 1, 2].map((i) => rt.buffer(n * 4, `bench.probe.${i}`)); // [n] f32 each
  try {
    add(rt, { a: bufs[0], b: bufs[1], out: bufs[2], n });
    await rt.sync(); // compiles the pipeline and warms the buffers
    let best = Infinity;
    for (let i = 0; i < PROBE_PASSES; i++) {
      const t0 = performance.now();
      add(rt, { a: bufs[0], b: bufs[1], out: bufs[2], n });
      await rt.sync();
      best = Math.min(best, performance.now() - t0);
    }
    return (n * 12) / (best / 1000);
  } finally {
    for (const b of bufs) b.destroy();
  }
}

async function timedStep(b: InferenceBackend, ids: number[]): Promise<number> {
  const t0 = performance.now();
  await b.forward({ ids, logits: 'none', sample: { params: GREEDY, seed: 0, seen: [] } });
  return performance.now() - t0;
}

export class BenchService {
  constructor(private readonly d: BenchDeps) {}

  async start(input: BenchInput): Promise<BenchStarted> {
    const model = this.d.models.resolve(input.modelId);
    const check = await this.d.models.validate(model.path);
    const steps = input.decodeSteps ?? DEFAULT_DECODE_STEPS;
    if (!check.ok) throw new CheckpointError(`${model.name} cannot be benchmarked: ${check.problems.map((p) => p.message).join(' ')}`, { problems: check.problems });
    const maxPos = check.maxContext ?? 0;
    const need = Math.max(...input.prefillLengths, Math.max(...input.contexts) + steps);
    if (need > maxPos) {
      throw new ContextLengthError(`The benchmark needs a ${need.toLocaleString('en-US')}-token context (longest prefill, or largest context plus ${steps} decode steps) but ${model.name} allows ${maxPos.toLocaleString('en-US')}. Lower the lengths.`, { need, maxPos });
    }
    const params = { modelId: input.modelId, prefillLengths: input.prefillLengths, contexts: input.contexts, repetitions: input.repetitions, decodeSteps: steps, backend: input.backend ?? 'auto', nCtx: need, dtype: 'f16' };
    const run = this.d.store.create({ kind: 'bench', title: `Bench ${model.name}`, model: model.name, params }, await this.d.system.environment());
    this.d.events.emit({ type: 'run-updated', run });
    let taskId = input.taskId ?? '';
    const work = this.d.tasks.run('bench', `Benchmark ${model.name}`, { taskId: input.taskId }, (task) => {
      taskId = task.id;
      return this.runBench(run.id, model.path, { ...input, decodeSteps: steps }, need, task);
    }, () => run.id);
    // The caller gets the ids now; the outcome arrives as task-finished and run-updated events.
    work.catch(() => undefined);
    return { taskId, runId: run.id };
  }

  private async runBench(runId: string, path: string, input: BenchInput & { decodeSteps: number }, nCtx: number, task: Task): Promise<string> {
    const finish = (status: 'completed' | 'failed' | 'stopped', error?: string) => this.d.events.emit({ type: 'run-updated', run: this.d.store.finish(runId, status, error) });
    let backend: InferenceBackend | null = null;
    try {
      const kind = input.backend ?? 'auto';
      const gpu = kind === 'cpu' ? null : await this.d.gpu.get().catch((err: unknown) => (kind === 'gpu' ? Promise.reject(err) : null));
      backend = (await openBackend(path, { backend: gpu ? kind : 'cpu', runtime: gpu?.rt, nCtx, signal: task.signal })).backend;
      await this.measure(runId, backend, gpu?.rt ?? null, input, task);
      finish(task.signal.aborted ? 'stopped' : 'completed');
      return runId;
    } catch (err) {
      const cancelled = err instanceof CancelledError || task.signal.aborted;
      finish(cancelled ? 'stopped' : 'failed', (err as Error).message);
      throw err;
    } finally {
      backend?.dispose();
    }
  }

  private async measure(runId: string, b: InferenceBackend, rt: GpuRuntime | null, input: BenchInput & { decodeSteps: number }, task: Task): Promise<void> {
    const reps = input.repetitions;
    const total = (rt ? 1 : 0) + reps * (input.prefillLengths.length + input.contexts.length);
    let done = 0;
    const tick = (label: string) => {
      if (task.signal.aborted) throw new CancelledError('The benchmark was cancelled.');
      task.progress(++done, total, label);
    };
    const record = (samples: { name: string; step: number; value: number; unit: string }[]) => {
      this.d.store.addMetrics(runId, samples);
      this.d.events.emit({ type: 'run-updated', run: this.d.store.getRun(runId) });
    };
    const vocab = b.config.vocabSize;
    let bandwidth: number | null = null;
    if (rt) {
      bandwidth = await measureBandwidth(rt);
      record([{ name: 'bandwidth_gb_s', step: 0, value: bandwidth / 1e9, unit: 'GB/s' }]);
      tick('Measuring memory bandwidth');
    }
    // Warm-up: compile the prefill and decode pipelines outside the timings.
    b.reset();
    await timedStep(b, tokens(Math.min(...input.prefillLengths), vocab, 7));
    b.reset();
    await timedStep(b, [1 % vocab]);
    await timedStep(b, [2 % vocab]);
    for (const len of input.prefillLengths) {
      const ms: number[] = [];
      for (let r = 0; r < reps; r++) {
        b.reset();
        ms.push(await timedStep(b, tokens(len, vocab, 1000 + r)));
        tick(`Prefill ${len} tokens (${r + 1}/${reps})`);
      }
      record([...ms.map((m) => ({ name: 'prefill_ms', step: len, value: m, unit: 'ms' })), { name: 'prefill_tok_s', step: len, value: (len * 1000) / median(ms), unit: 'tok/s' }]);
    }
    for (const ctx of input.contexts) {
      const perTok: number[] = [];
      let bytesPerStep = 0;
      let kvBytes = 0;
      for (let r = 0; r < reps; r++) {
        b.reset();
        if (ctx > 0) await timedStep(b, tokens(ctx, vocab, 2000 + r));
        kvBytes = b.kvReport().usedBytes;
        const c0 = b.counters().total.bytes;
        let ms = 0;
        const ids = tokens(input.decodeSteps, vocab, 3000 + r);
        for (const id of ids) ms += await timedStep(b, [id]);
        bytesPerStep = (b.counters().total.bytes - c0) / input.decodeSteps;
        perTok.push(ms / input.decodeSteps);
        tick(`Decode at ${ctx} tokens of context (${r + 1}/${reps})`);
      }
      const samples = [
        { name: 'decode_tok_s', step: ctx, value: 1000 / median(perTok), unit: 'tok/s' },
        { name: 'kv_bytes', step: ctx, value: kvBytes, unit: 'B' },
        { name: 'decode_bytes_per_token', step: ctx, value: bytesPerStep, unit: 'B' },
      ];
      if (bandwidth !== null && bytesPerStep > 0) samples.push({ name: 'floor_tok_s', step: ctx, value: bandwidth / bytesPerStep, unit: 'tok/s' });
      record(samples);
    }
  }
}

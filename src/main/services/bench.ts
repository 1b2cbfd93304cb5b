// Benchmark from the UI: the engine's runBench (instrument/bench.ts) on a model folder, run point by
// point (one prompt length or one context per call, `repetitions` times) so the UI gets progress and can
// cancel between points, stored as a run of kind 'bench': prefill_tok_s per length, decode_tok_s,
// floor_tok_s (bytes a decode step must move over the measured read bandwidth) and kv_bytes per
// context, each from the median of the repetitions, with every repetition's raw figure beside it.
import type { BenchInput, BenchStarted, MetricSample } from '../../shared/api';
import { CancelledError, CheckpointError, ContextLengthError, GpuUnavailableError } from '../../shared/errors';
import { GpuBackend, openBackend, runBench, type BenchResult } from '../engine';
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
/** runBench reads this many tokens past a context before its timed steps (its warm-up). */
const DECODE_WARMUP = 2;
/**
 * Bandwidth probe size on a software adapter, where reading the default 1 GiB (capped by the binding
 * limit) several times per point would dominate the benchmark; on a GPU the default keeps the probe
 * larger than any cache.
 */
const SOFTWARE_PROBE_BYTES = 16 << 20;

type Sample = Omit<MetricSample, 'at'>;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export class BenchService {
  constructor(private readonly d: BenchDeps) {}

  async start(input: BenchInput): Promise<BenchStarted> {
    const model = this.d.models.resolve(input.modelId);
    const check = await this.d.models.validate(model.path);
    if (!check.ok) throw new CheckpointError(`${model.name} cannot be benchmarked: ${check.problems.map((p) => p.message).join(' ')}`, { problems: check.problems });
    const steps = input.decodeSteps ?? DEFAULT_DECODE_STEPS;
    const maxPos = check.maxContext ?? 0;
    const need = Math.max(...input.prefillLengths, Math.max(...input.contexts) + steps + DECODE_WARMUP);
    if (need > maxPos) {
      throw new ContextLengthError(
        `The benchmark needs a ${need.toLocaleString('en-US')}-token cache (the longest prompt, or the largest context plus ${steps + DECODE_WARMUP} decode steps) but ${model.name} allows ${maxPos.toLocaleString('en-US')}. Lower the lengths.`,
        { need, maxPos },
      );
    }
    const params = { modelId: input.modelId, prefillLengths: input.prefillLengths, contexts: input.contexts, repetitions: input.repetitions, decodeSteps: steps, nCtx: need, dtype: 'f16', fill: 'fast' };
    const run = this.d.store.create({ kind: 'bench', title: `Bench ${model.name}`, model: model.name, params }, await this.d.system.environment());
    this.d.events.emit({ type: 'run-updated', run });
    let taskId = input.taskId ?? '';
    const work = this.d.tasks.run(
      'bench',
      `Benchmark ${model.name}`,
      { taskId: input.taskId },
      (task) => {
        taskId = task.id;
        return this.execute(run.id, model.name, model.path, { ...input, decodeSteps: steps }, need, task);
      },
      () => run.id,
    );
    // The caller gets the ids now; the outcome arrives as task-finished and run-updated events.
    work.catch(() => undefined);
    return { taskId, runId: run.id };
  }

  private async execute(runId: string, name: string, path: string, input: BenchInput & { decodeSteps: number }, nCtx: number, task: Task): Promise<string> {
    const finish = (status: 'completed' | 'failed' | 'stopped', error?: string) => this.d.events.emit({ type: 'run-updated', run: this.d.store.finish(runId, status, error) });
    let backend: GpuBackend | null = null;
    try {
      const gpu = await this.d.gpu.get().catch((err: unknown) => {
        throw new GpuUnavailableError(`The benchmark measures the GPU, and none is usable: ${(err as Error).message}`);
      });
      const opened = (await openBackend(path, { backend: 'gpu', runtime: gpu.rt, nCtx, signal: task.signal })).backend;
      if (!(opened instanceof GpuBackend)) throw new GpuUnavailableError('The model opened on the CPU reference; the benchmark needs the GPU backend.');
      backend = opened;
      const software = (await this.d.system.info()).adapter?.isSoftware ?? false;
      await this.measure(runId, name, backend, input, software ? SOFTWARE_PROBE_BYTES : undefined, task);
      finish('completed');
      return runId;
    } catch (err) {
      const cancelled = err instanceof CancelledError || task.signal.aborted;
      finish(cancelled ? 'stopped' : 'failed', (err as Error).message);
      throw err;
    } finally {
      backend?.dispose();
    }
  }

  private async measure(runId: string, name: string, b: GpuBackend, input: BenchInput & { decodeSteps: number }, bandwidthBytes: number | undefined, task: Task): Promise<void> {
    const reps = input.repetitions;
    const total = reps * (input.prefillLengths.length + input.contexts.length);
    let done = 0;
    const record = (samples: Sample[]) => {
      this.d.store.addMetrics(runId, samples);
      this.d.events.emit({ type: 'run-updated', run: this.d.store.getRun(runId) });
    };
    const point = async (prefill: number[], contexts: number[], label: string): Promise<BenchResult> => {
      if (task.signal.aborted) throw new CancelledError('The benchmark was cancelled.');
      const r = await runBench(b, name, b.weightsForTwin.bytes, { prefill, contexts, steps: input.decodeSteps, fill: 'fast', profile: false, bandwidthBytes });
      task.progress(++done, total, label);
      return r;
    };
    const bandwidth: number[] = [];
    for (const len of input.prefillLengths) {
      const ms: number[] = [];
      for (let r = 0; r < reps; r++) {
        const res = await point([len], [], `Prefill ${len} tokens (${r + 1}/${reps})`);
        ms.push(res.prefill[0].ms);
        bandwidth.push(res.readBandwidth.gbPerS);
      }
      record([...ms.map((m) => ({ name: 'prefill_ms', step: len, value: m, unit: 'ms' })), { name: 'prefill_tok_s', step: len, value: (len * 1000) / median(ms), unit: 'tok/s' }]);
    }
    const leastBytes: [number, number][] = []; // [context, bytes a decode step must move]
    for (const ctx of input.contexts) {
      const ms: number[] = [];
      let last: BenchResult | null = null;
      for (let r = 0; r < reps; r++) {
        last = await point([], [ctx], `Decode at ${ctx} tokens of context (${r + 1}/${reps})`);
        ms.push(last.decode[0].msPerToken);
        bandwidth.push(last.readBandwidth.gbPerS);
      }
      const d = last!.decode[0];
      leastBytes.push([ctx, d.minBytesPerToken]);
      record([
        ...ms.map((m) => ({ name: 'decode_ms_per_token', step: ctx, value: m, unit: 'ms' })),
        { name: 'decode_tok_s', step: ctx, value: 1000 / median(ms), unit: 'tok/s' },
        { name: 'kv_bytes', step: ctx, value: last!.kv.byContext[0].bytes, unit: 'B' },
        { name: 'min_bytes_per_token', step: ctx, value: d.minBytesPerToken, unit: 'B' },
        { name: 'counted_bytes_per_token', step: ctx, value: d.countedBytesPerToken, unit: 'B' },
        // The two sides of a step: CPU recording and, where the adapter has timestamps, GPU time.
        { name: 'decode_cpu_ms_per_step', step: ctx, value: d.recordMsPerToken, unit: 'ms' },
        ...(d.gpuMsPerToken === null ? [] : [{ name: 'decode_gpu_ms_per_step', step: ctx, value: d.gpuMsPerToken, unit: 'ms' }]),
      ]);
    }
    // runBench measures the bandwidth at every call; the floors use the median of all of them, so floors
    // at different contexts differ only by the bytes a step must move (the engine's formula otherwise).
    const gbPerS = median(bandwidth);
    record([
      { name: 'bandwidth_gb_s', step: 0, value: gbPerS, unit: 'GB/s' },
      ...leastBytes.map(([ctx, bytes]) => ({ name: 'floor_tok_s', step: ctx, value: (gbPerS * 1e9) / bytes, unit: 'tok/s' })),
    ]);
  }
}

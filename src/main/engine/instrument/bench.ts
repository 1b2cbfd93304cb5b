// The GPU benchmark: prefill throughput at given prompt lengths, decode throughput at given contexts
// with the floor beside each decode figure (bytes a token must move / the adapter's measured read
// bandwidth), the KV cache's bytes, and, where the adapter has timestamp queries, per-op GPU time of
// one decode step. Every figure is measured here; none is estimated except the floor, which says so.
import { variantOf } from '../../../shared/arch/config';
import { parameterCount } from '../../../shared/arch/spec';
import { GpuBackend } from '../arch/gpu';
import { DECODE_DEPTH } from '../generate/generate';
import { GREEDY, Rng } from '../generate/sampling';
import { measureReadBandwidth, type Bandwidth } from './bandwidth';
import { GpuTimer } from '../gpu/timing';
import { diffCounters, type CounterSnapshot } from './counters';
import { ProfilingRuntime, type OpTime } from './profile';

export interface BenchOptions {
  prefill: number[]; // prompt lengths
  contexts: number[]; // cache lengths before the timed decode steps
  steps: number; // decode steps timed per context
  /** fast: mark the cache rows filled without computing them; prefill: run a real prefill first. */
  fill: 'fast' | 'prefill';
  profile: boolean;
  /**
   * Groups of kernel labels (e.g. ["attn_decode_combine"], ["rope_store"]) each left out of the decode
   * step in a separate GPU-timed run: the step's GPU time without them shows what they cost in place
   * (measurement only; the tokens of those runs are meaningless).
   */
  ablate?: string[][];
  bandwidthBytes?: number;
  log?: (line: string) => void;
}

export interface PrefillFigure {
  tokens: number;
  ms: number; // best of the timed runs, prompt in to first sampled id out
  tokPerS: number;
}

export interface DecodeFigure {
  context: number;
  steps: number;
  msPerToken: number;
  /** CPU time per token spent recording and submitting the step (the rest of msPerToken overlaps the GPU). */
  recordMsPerToken: number;
  dispatchesPerToken: number;
  /**
   * GPU time of one step's compute pass (timestamp queries around it, mean over the timed steps), or
   * null without timestamps. Close to msPerToken: the GPU is the bound; well below: the CPU side is.
   */
  gpuMsPerToken: number | null;
  /** GPU ms per step with each group of kernels left out (BenchOptions.ablate), where timestamps exist. */
  ablations: { without: string[]; gpuMsPerToken: number }[];
  /** Steps in flight during the timed steps (generation's DECODE_DEPTH). */
  depth: number;
  /** ms per token with one step queued ahead of the awaited one instead (the shallowest overlap). */
  depth1MsPerToken: number;
  /** Share of the timed steps replayed from a captured step rather than recorded (arch/replay.ts). */
  replayedShare: number;
  /** tok/s of each timed run of the same steps (tokPerS is their median). */
  runTokPerS: number[];
  /** Mean CPU ms of a replayed step and of a step recorded by the op descriptors (null when none was). */
  recordMsReplayed: number | null;
  recordMsRecorded: number | null;
  tokPerS: number;
  /** Weights read once plus the cache at this context: the least a token must move. */
  minBytesPerToken: number;
  /** What the op descriptors count for one step (activations and split-K partials included). */
  countedBytesPerToken: number;
  /** Estimate: minBytesPerToken / measured read bandwidth. */
  floorMsPerToken: number;
  floorTokPerS: number;
  /** floorMsPerToken / msPerToken: 1 would be at the bandwidth limit. */
  ofFloor: number;
  work: CounterSnapshot;
}

export interface BenchResult {
  adapter: string;
  model: string;
  family: string;
  variant: string;
  dtype: string;
  parameters: number;
  weightBytes: number;
  readBandwidth: Bandwidth;
  kv: { dtype: string; valuesPerTokenLayer: number; bytesPerToken: number; byContext: { context: number; bytes: number }[] };
  prefill: PrefillFigure[];
  decode: DecodeFigure[];
  /** Per-op GPU time of one decode step per context (each dispatch timed alone), or why there is none. */
  opTimes: { context: number; totalMs: number; ops: OpTime[] }[] | string;
}

/**
 * Timed runs of the same decode steps per context; the figure is their median. Five, not three: on the
 * H100 machine two runs of three lost 20–30% to the host in some passes (docs/benchmarks.md, 9661060),
 * and a median of three then reported a stalled run.
 */
const DECODE_RUNS = 5;

const fmtMs = (ms: number | null): string => (ms === null ? 'n/a' : `${ms.toFixed(3)} ms`);

function randomIds(n: number, vocab: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.nextU32() % vocab);
}

const greedy = { params: GREEDY, seed: 0, seen: [] as number[] };

async function timePrefill(b: GpuBackend, n: number): Promise<PrefillFigure> {
  const ids = randomIds(n, b.config.vocabSize, n);
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    b.reset();
    const t0 = performance.now();
    await b.forward({ ids, logits: 'none', sample: greedy });
    // The first run compiles pipelines and warms caches: it is not counted.
    if (run > 0) best = Math.min(best, performance.now() - t0);
  }
  return { tokens: n, ms: best, tokPerS: (n * 1000) / best };
}

async function fill(b: GpuBackend, context: number, how: BenchOptions['fill']): Promise<void> {
  if (how === 'fast') {
    b.fastFill(context);
    return;
  }
  b.reset();
  await b.forward({ ids: randomIds(context, b.config.vocabSize, context), logits: 'none' });
}

async function timeDecode(b: GpuBackend, context: number, o: BenchOptions, bw: Bandwidth, weightBytes: number): Promise<DecodeFigure> {
  await fill(b, context, o.fill);
  // Seed the chain with one ordinary step, then warm up; the timed steps run as generation does:
  // DECODE_DEPTH steps in flight, the oldest awaited before the next is queued.
  await b.forward({ ids: [1], logits: 'none', sample: greedy });
  await b.decodeChained(greedy).token;
  const start = b.position;
  // CPU time spent recording and submitting the timed steps (decodeChained returns once its step is
  // queued), replayed and recorded ones apart: when it is close to the time per token, decode is bound
  // by the CPU, not the GPU.
  const split = { replayed: 0, replayedMs: 0, recorded: 0, recordedMs: 0 };
  const run = async (depth: number, timed: boolean): Promise<number> => {
    const queue: Promise<number>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < o.steps; i++) {
      const r0 = performance.now();
      const before = b.replayedSteps;
      queue.push(b.decodeChained(greedy).token);
      if (timed) {
        const dt = performance.now() - r0;
        if (b.replayedSteps > before) {
          split.replayed++;
          split.replayedMs += dt;
        } else {
          split.recorded++;
          split.recordedMs += dt;
        }
      }
      if (queue.length >= depth) await queue.shift();
    }
    await Promise.all(queue);
    return (performance.now() - t0) / o.steps;
  };
  // An untimed pass over the same positions first: a decode plan that changes with the context (the
  // attention's split count) compiles its pipeline variants here, not inside the timed steps.
  await run(DECODE_DEPTH, false);
  b.truncate(start);
  const c0 = b.counters();
  const d0 = b.rt.dispatchCount;
  const replayed0 = b.replayedSteps;
  // The same steps DECODE_RUNS times from the same position: a single run can lose tens of ms to the
  // host (the time per token then exceeds both the GPU and the recording time), so the figure is the
  // median run and every run is reported.
  const runMs: number[] = [];
  for (let r = 0; r < DECODE_RUNS; r++) {
    if (r > 0) b.truncate(start);
    runMs.push(await run(DECODE_DEPTH, true));
  }
  const ms = [...runMs].sort((x, y) => x - y)[Math.floor(DECODE_RUNS / 2)];
  const timedSteps = o.steps * DECODE_RUNS;
  const dispatches = (b.rt.dispatchCount - d0) / timedSteps;
  const work = diffCounters(b.counters(), c0);
  for (const c of [work.total, ...Object.values(work.byOp)]) {
    c.calls /= DECODE_RUNS;
    c.flops /= DECODE_RUNS;
    c.bytes /= DECODE_RUNS;
  }
  const replayedShare = (b.replayedSteps - replayed0) / timedSteps;
  const kvReport = b.kvReport();
  // The same steps again from the same position (the cache rows are overwritten) with one step queued
  // ahead of the awaited one.
  b.truncate(start);
  const depth1Ms = await run(2, false);
  // GPU time per step: each step's pass stamped at its start and end (separate runs of the same steps).
  const gpuTime = async (): Promise<number | null> => {
    const timer = GpuTimer.create(b.rt, o.steps);
    if (!timer) return null;
    b.truncate(start);
    try {
      const pending: Promise<number>[] = [];
      for (let i = 0; i < o.steps; i++) {
        timer.time('step', () => pending.push(b.decodeChained(greedy).token));
        if (pending.length > 1) await pending.shift();
      }
      await Promise.all(pending);
      const spans = await timer.collect();
      return spans.reduce((a, x) => a + x.ms, 0) / spans.length;
    } finally {
      timer.destroy();
    }
  };
  const gpuMs = await gpuTime();
  const ablations: DecodeFigure['ablations'] = [];
  if (gpuMs !== null) {
    for (const without of o.ablate ?? []) {
      b.rt.ablate = new Set(without);
      try {
        ablations.push({ without, gpuMsPerToken: (await gpuTime())! });
      } finally {
        b.rt.ablate = null;
      }
    }
  }
  const counted = work.total.bytes / o.steps;
  const kv = kvReport;
  const minBytes = weightBytes + kv.bytesPerToken * (context + 2 + o.steps / 2);
  const floorMs = minBytes / (bw.gbPerS * 1e6);
  return {
    context, steps: o.steps, msPerToken: ms, tokPerS: 1000 / ms, minBytesPerToken: minBytes, countedBytesPerToken: counted,
    floorMsPerToken: floorMs, floorTokPerS: 1000 / floorMs, ofFloor: floorMs / ms, work,
    gpuMsPerToken: gpuMs, ablations, depth: DECODE_DEPTH, depth1MsPerToken: depth1Ms,
    recordMsPerToken: (split.replayedMs + split.recordedMs) / timedSteps, dispatchesPerToken: dispatches, replayedShare,
    runTokPerS: runMs.map((x) => 1000 / x),
    recordMsReplayed: split.replayed ? split.replayedMs / split.replayed : null,
    recordMsRecorded: split.recorded ? split.recordedMs / split.recorded : null,
  };
}

/** Weights a decode step reads: all of them, except an untied embedding table (one row is gathered). */
function weightBytesPerToken(b: GpuBackend, weightBytes: number): number {
  const c = b.config;
  if (c.tieWordEmbeddings) return weightBytes;
  const table = c.vocabSize * c.hiddenSize * (b.dtype === 'f16' ? 2 : 4);
  return weightBytes - table + c.hiddenSize * (b.dtype === 'f16' ? 2 : 4);
}

async function profileDecode(b: GpuBackend, contexts: number[], log: (s: string) => void): Promise<BenchResult['opTimes']> {
  if (!ProfilingRuntime.supported(b.rt.device)) return 'the adapter has no timestamp-query feature: per-op times are unavailable';
  const prt = new ProfilingRuntime(b.rt.device);
  const twin = new GpuBackend(prt, b.config, b.weightsForTwin, { nCtx: Math.max(...contexts) + 8, device: b.device, sharedWeights: true });
  const out: { context: number; totalMs: number; ops: OpTime[] }[] = [];
  try {
    for (const context of contexts) {
      twin.fastFill(context);
      await twin.forward({ ids: [1], logits: 'none', sample: greedy }); // compiles this runtime's pipelines
      await prt.collect();
      prt.resetTimes();
      const steps = 3;
      for (let i = 0; i < steps; i++) await twin.forward({ ids: [1], logits: 'none', sample: greedy });
      await prt.collect();
      const ops = prt.opTimes().map((t) => ({ op: t.op, calls: t.calls / steps, ms: t.ms / steps }));
      const totalMs = ops.reduce((a, t) => a + t.ms, 0);
      out.push({ context, totalMs, ops });
      log(`  per-op GPU time @${context}: ${totalMs.toFixed(3)} ms in ${ops.reduce((a, t) => a + t.calls, 0)} dispatches; top: ${ops.slice(0, 4).map((t) => `${t.op} ${t.ms.toFixed(3)}`).join(', ')}`);
    }
  } finally {
    twin.dispose();
    prt.destroy();
  }
  return out;
}

export async function runBench(b: GpuBackend, model: string, weightBytes: number, o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? (() => {});
  const need = Math.max(...o.prefill, ...o.contexts.map((c) => c + o.steps + 2));
  if (need > b.nCtx) throw new RangeError(`the benchmark needs a cache of ${need} tokens; the backend holds ${b.nCtx}`);
  const bw = await measureReadBandwidth(b.rt, o.bandwidthBytes);
  log(`read bandwidth ${bw.gbPerS.toFixed(1)} GB/s (${(bw.bytes / 2 ** 20).toFixed(0)} MiB × ${bw.passes})`);
  const prefill: PrefillFigure[] = [];
  for (const n of o.prefill) {
    prefill.push(await timePrefill(b, n));
    log(`prefill ${n}: ${prefill.at(-1)!.tokPerS.toFixed(1)} tok/s (${prefill.at(-1)!.ms.toFixed(1)} ms)`);
  }
  const wpt = weightBytesPerToken(b, weightBytes);
  const decode: DecodeFigure[] = [];
  for (const c of o.contexts) {
    const d = await timeDecode(b, c, o, bw, wpt);
    decode.push(d);
    for (const a of d.ablations) log(`  without ${a.without.join(' + ')}: GPU ${a.gpuMsPerToken.toFixed(3)} ms/step (they cost ${(d.gpuMsPerToken! - a.gpuMsPerToken).toFixed(3)} ms)`);
    log(`decode @${c}: ${d.tokPerS.toFixed(1)} tok/s (${d.msPerToken.toFixed(3)} ms/token; median of runs ${d.runTokPerS.map((x) => x.toFixed(1)).join(' / ')}); floor ${d.floorTokPerS.toFixed(1)} tok/s (${d.floorMsPerToken.toFixed(3)} ms, ${(d.minBytesPerToken / 2 ** 20).toFixed(1)} MiB/token); ${(100 * d.ofFloor).toFixed(1)}% of floor; recording ${d.recordMsPerToken.toFixed(3)} ms/token CPU (${(100 * d.replayedShare).toFixed(0)}% of steps replayed: ${fmtMs(d.recordMsReplayed)} each, recorded ${fmtMs(d.recordMsRecorded)}), ${d.dispatchesPerToken} dispatches; GPU ${d.gpuMsPerToken === null ? 'n/a' : `${d.gpuMsPerToken.toFixed(3)} ms`}/step; ${d.depth} steps in flight (one ahead only: ${(1000 / d.depth1MsPerToken).toFixed(1)} tok/s)`);
  }
  const kv = b.kvReport();
  const opTimes = o.profile ? await profileDecode(b, o.contexts, log) : 'not requested (--profile)';
  const c = b.config;
  return {
    adapter: b.device,
    model,
    family: c.family,
    variant: variantOf(c),
    dtype: b.dtype,
    parameters: parameterCount(c),
    weightBytes,
    readBandwidth: bw,
    kv: {
      dtype: kv.dtype,
      valuesPerTokenLayer: kv.elemsPerToken,
      bytesPerToken: kv.bytesPerToken,
      byContext: o.contexts.map((ctx) => ({ context: ctx, bytes: kv.bytesPerToken * ctx })),
    },
    prefill,
    decode,
    opTimes,
  };
}

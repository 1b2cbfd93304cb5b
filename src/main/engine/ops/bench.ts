// Kernel micro-benchmarks on the caller's device: achieved bandwidth of GEMV (decode is memory-bound,
// so GB/s of weights read is the figure that matters) and FLOP rate of the prefill matmul. Inputs are
// a fixed pattern of finite values: the timings matter here, not the results.
import type { GpuRuntime } from '../gpu/runtime';
import { GpuTimer } from '../gpu/timing';
import { f32ToF16Array } from './convert';
import { gemv } from './gemv';
import { bytes as linearBytes, flops as linearFlops, type LinearArgs } from './linear_common';
import { matmul } from './matmul';

export interface BenchResult {
  op: string;
  shape: string;
  ms: number; // per call, median over repeats, wall clock
  gpuMs: number | null; // per call from GPU timestamps
  gbps: number; // minimum bytes moved / wall time
  tflops: number;
}

function fill(n: number, f16: boolean): Uint16Array | Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return f16 ? f32ToF16Array(v) : v;
}

/**
 * Times `calls` back-to-back calls per repeat, by wall clock around submit and completion (exact for
 * runs well above the ~50 µs round trip), and by GPU timestamps where available (Dawn quantises them
 * unless its unsafe APIs are on). Returns the medians in ms per call.
 */
async function timeOp(rt: GpuRuntime, record: () => void, calls: number, repeats: number): Promise<{ wall: number; gpu: number | null }> {
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  record();
  await rt.sync(); // compile and warm up
  const wall: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let c = 0; c < calls; c++) record();
    await rt.sync();
    wall.push((performance.now() - t0) / calls);
  }
  const timer = GpuTimer.create(rt, repeats);
  if (!timer) return { wall: median(wall), gpu: null };
  for (let r = 0; r < repeats; r++) {
    timer.time('op', () => {
      for (let c = 0; c < calls; c++) record();
    });
  }
  const gpu = (await timer.collect()).map((s) => s.ms / calls);
  timer.destroy();
  return { wall: median(wall), gpu: median(gpu) };
}

export async function benchLinear(
  rt: GpuRuntime, kind: 'gemv' | 'matmul', rows: number, inDim: number, outDim: number, wF16: boolean,
  opts: { calls?: number; repeats?: number; threadsPerRow?: number } = {},
): Promise<BenchResult> {
  const w = rt.upload(fill(inDim * outDim, wF16), 'bench-w');
  const x = rt.upload(fill(rows * inDim, false), 'bench-x');
  const y = rt.buffer(rows * outDim * 4, 'bench-y');
  const args: LinearArgs = { x, w, y, rows, inDim, outDim, wF16 };
  const record = kind === 'gemv' ? () => gemv(rt, args, { threadsPerRow: opts.threadsPerRow }) : () => matmul(rt, args);
  const t = await timeOp(rt, record, opts.calls ?? 100, opts.repeats ?? 5);
  const ms = t.wall;
  const shape = { rows, inDim, outDim, wF16 };
  w.destroy();
  x.destroy();
  y.destroy();
  return {
    op: kind + (opts.threadsPerRow ? `/tpr${opts.threadsPerRow}` : ''),
    shape: `${rows}×${inDim}→${outDim} ${wF16 ? 'f16' : 'f32'}`,
    ms,
    gpuMs: t.gpu,
    gbps: linearBytes(shape) / ms / 1e6,
    tflops: linearFlops(shape) / ms / 1e9,
  };
}

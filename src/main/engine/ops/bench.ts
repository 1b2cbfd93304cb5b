// Kernel micro-benchmarks on the caller's device: achieved bandwidth of GEMV (decode is memory-bound,
// so GB/s of weights read is the figure that matters) and FLOP rate of the prefill matmul. Weights are
// filled on the GPU-facing side with arbitrary bits-valid values; the numbers, not the results, matter.
import type { GpuRuntime } from '../gpu/runtime';
import { GpuTimer } from '../gpu/timing';
import { f32ToF16Array } from './convert';
import { gemv } from './gemv';
import { bytes as linearBytes, flops as linearFlops, type LinearArgs } from './linear_common';
import { matmul } from './matmul';

export interface BenchResult {
  op: string;
  shape: string;
  ms: number; // per call, median over repeats
  gbps: number; // minimum bytes moved / time
  tflops: number;
}

function fill(n: number, f16: boolean): Uint16Array | Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  return f16 ? f32ToF16Array(v) : v;
}

/** Times `calls` back-to-back calls per repeat; GPU timestamps where available, else wall clock. */
async function timeOp(rt: GpuRuntime, record: () => void, calls: number, repeats: number): Promise<number> {
  const timer = GpuTimer.create(rt, repeats);
  record();
  await rt.sync(); // compile and warm up
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    if (timer) {
      timer.time('op', () => {
        for (let c = 0; c < calls; c++) record();
      });
    } else {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) record();
      await rt.sync();
      samples.push((performance.now() - t0) / calls);
    }
  }
  if (timer) {
    for (const s of await timer.collect()) samples.push(s.ms / calls);
    timer.destroy();
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
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
  const ms = await timeOp(rt, record, opts.calls ?? 20, opts.repeats ?? 7);
  const shape = { rows, inDim, outDim, wF16 };
  w.destroy();
  x.destroy();
  y.destroy();
  return {
    op: kind + (opts.threadsPerRow ? `/tpr${opts.threadsPerRow}` : ''),
    shape: `${rows}×${inDim}→${outDim} ${wF16 ? 'f16' : 'f32'}`,
    ms,
    gbps: linearBytes(shape) / ms / 1e6,
    tflops: linearFlops(shape) / ms / 1e9,
  };
}

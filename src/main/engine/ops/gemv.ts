// GEMV for decode (and batched GEMV for up to 8 rows per pass over W): see kernels/gemv.wgsl.
import code from '../../../../kernels/gemv.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { type LinearArgs, linearFlags, resolveLinear } from './linear_common';
import { grid2d, opError, uniformStruct, unusedBinding } from './uniforms';

export { bytes, flops } from './linear_common';

const kernel: KernelSource = { name: 'gemv', code };
const params = uniformStruct({
  out_dim: 'u32', in_dim: 'u32', x_stride: 'u32', x_offset: 'u32', y_stride: 'u32', y_offset: 'u32', flags: 'u32', act_offset: 'u32',
  eps: 'f32', pad0: 'u32', pad1: 'u32', pad2: 'u32',
});

/** Rows of x that share one pass over W. */
export const GEMV_MAX_BATCH = 8;

export interface GemvOptions {
  /** Threads per output row (power of two, 1..256); by default sized to the row length. */
  threadsPerRow?: number;
}

/**
 * About 16 loads of 16 bytes per lane, 16 to 128 lanes per row. Measured on an H200 (GPU timestamps,
 * f16, batch 1): in 2048 (256 words a row) peaks at 16 lanes, 3.8–4.0 TB/s; in 8192 at 64–128 lanes,
 * 3.6 TB/s; 256 lanes on a 2048-wide row falls to 0.6–1.7 TB/s (the reduction dominates).
 */
function defaultThreadsPerRow(loadsPerRow: number): number {
  let t = 16;
  while (t < 128 && t * 2 * 16 <= loadsPerRow) t *= 2;
  return t;
}

export function gemv(rt: GpuRuntime, args: LinearArgs, opts: GemvOptions = {}): void {
  const a = resolveLinear('gemv', args);
  const actOffset = a.act === 'swiglu' ? (a.actOffset ?? a.inDim) : 0;
  const vec = (a.wF16 ? a.inDim % 8 === 0 : a.inDim % 4 === 0) && a.xStride % 4 === 0 && a.xOffset % 4 === 0 && actOffset % 4 === 0;
  const loads = vec ? a.inDim / (a.wF16 ? 8 : 4) : a.inDim;
  const tpr = opts.threadsPerRow ?? defaultThreadsPerRow(loads);
  if (!Number.isInteger(Math.log2(tpr)) || tpr > 256) throw opError('gemv', `threadsPerRow = ${tpr} must be a power of two ≤ 256`);
  const groups = Math.ceil(a.outDim / (256 / tpr));
  const grid = grid2d(rt, groups);
  const bias = a.bias ?? unusedBinding(rt);
  const nw = a.norm?.w ?? unusedBinding(rt);
  for (let r0 = 0; r0 < a.rows; r0 += GEMV_MAX_BATCH) {
    const batch = Math.min(GEMV_MAX_BATCH, a.rows - r0);
    const pipe = rt.pipeline(kernel, {
      W_F16: a.wF16 ? 1 : 0, VEC: vec ? 1 : 0, BATCH: batch, TPR: tpr, ACT: a.act === 'swiglu' ? 1 : a.act === 'relu2' ? 2 : 0,
      NORM: a.norm ? 1 : 0,
    });
    const u = rt.uniform(params({
      out_dim: a.outDim, in_dim: a.inDim, x_stride: a.xStride, x_offset: a.xOffset + r0 * a.xStride,
      y_stride: a.yStride, y_offset: a.yOffset + r0 * a.yStride, flags: linearFlags(a), act_offset: actOffset,
      eps: a.norm?.eps ?? 0, pad0: 0, pad1: 0, pad2: 0,
    }));
    rt.dispatch(pipe, [u, a.w, a.x, bias, a.y, nw], grid, 'gemv');
  }
}

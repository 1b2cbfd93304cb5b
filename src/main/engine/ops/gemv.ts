// GEMV for decode (and batched GEMV for up to 8 rows per pass over W): see kernels/gemv.wgsl.
import code from '../../../../kernels/gemv.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { withRopeAngle } from './rope_angle';
import { type LinearArgs, linearFlags, resolveLinear } from './linear_common';
import { grid2d, opError, uniformStruct, unusedBinding } from './uniforms';

export { bytes, flops } from './linear_common';

const kernel: KernelSource = { name: 'gemv', code: withRopeAngle(code) };
const params = uniformStruct({
  out_dim: 'u32', in_dim: 'u32', x_stride: 'u32', x_offset: 'u32', y_stride: 'u32', y_offset: 'u32', flags: 'u32', act_offset: 'u32',
  eps: 'f32', rot_rows: 'u32', rot_dim: 'u32', pos: 'u32', theta: 'f32', store_row0: 'u32', store_row1: 'u32', cache_base: 'u32',
});

/** Rows of x that share one pass over W. */
export const GEMV_MAX_BATCH = 8;

export interface GemvOptions {
  /** Threads per output row (power of two, 1..256); by default sized to the row length. */
  threadsPerRow?: number;
  /**
   * Compile the row length into the pipeline (f16 vector path) so each lane's loads unroll fully.
   * Default: on hardware drivers, off on software ones (lavapipe), where full unrolls compile slowly.
   */
  constantRows?: boolean;
}

/**
 * Lanes per output row. Several rows of x (batched GEMV): about 16 loads of 16 bytes per lane, 16 to
 * 128 lanes per row. One row (decode, DRAM-bound since every matrix is read once per token): enough
 * lanes in total to keep loads in flight across the GPU (≥ 64K threads) and at most 16 loads per lane,
 * 16 to 128 lanes. Measured on an H200 (tools/bench/gemv-kbench.ts, random f16 weights cycled past the
 * L2, timestamps): 1280→128256 at 16 lanes 83 µs (4.0 TB/s); 1280→7168 at 16 lanes 8.7 µs; 3584→1280 at
 * 64 lanes 6.6 µs (16: 17.5 µs); 8192→2048 at 64 lanes 14.3 µs (16: 33 µs); 2048→3648 at 32 lanes 8.2 µs.
 */
function defaultThreadsPerRow(loadsPerRow: number, outDim: number, rows: number): number {
  const pow2 = (v: number) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));
  if (rows === 1) return Math.min(128, Math.max(16, pow2(65536 / outDim), pow2(loadsPerRow / 16)));
  let t = 16;
  while (t < 128 && t * 2 * 16 <= loadsPerRow) t *= 2;
  return t;
}

export function gemv(rt: GpuRuntime, args: LinearArgs, opts: GemvOptions = {}): void {
  const a = resolveLinear('gemv', args);
  const actOffset = a.act === 'swiglu' ? (a.actOffset ?? a.inDim) : 0;
  const vec = (a.wF16 ? a.inDim % 8 === 0 : a.inDim % 4 === 0) && a.xStride % 4 === 0 && a.xOffset % 4 === 0 && actOffset % 4 === 0;
  const loads = vec ? a.inDim / (a.wF16 ? 8 : 4) : a.inDim;
  const tpr = opts.threadsPerRow ?? defaultThreadsPerRow(loads, a.outDim, a.rows);
  if (!Number.isInteger(Math.log2(tpr)) || tpr > 256) throw opError('gemv', `threadsPerRow = ${tpr} must be a power of two ≤ 256`);
  if (a.rope && tpr > 128) throw opError('gemv', 'a fused RoPE needs at least two rows per workgroup (threadsPerRow ≤ 128)');
  const constantRows = vec && a.wF16 && (opts.constantRows ?? !rt.software);
  const groups = Math.ceil(a.outDim / (256 / tpr));
  const grid = grid2d(rt, groups);
  const bias = a.bias ?? unusedBinding(rt);
  const nw = a.norm?.w ?? unusedBinding(rt);
  for (let r0 = 0; r0 < a.rows; r0 += GEMV_MAX_BATCH) {
    const batch = Math.min(GEMV_MAX_BATCH, a.rows - r0);
    const pipe = rt.pipeline(kernel, {
      W_F16: a.wF16 ? 1 : 0, VEC: vec ? 1 : 0, BATCH: batch, TPR: tpr, ACT: a.act === 'swiglu' ? 1 : a.act === 'relu2' ? 2 : 0,
      NORM: a.norm ? 1 : 0, NV: constantRows ? a.inDim / 8 : 0, ROPE: a.rope ? 1 : 0, KV_F16: a.rope?.kv === 'f32' ? 0 : 1,
      RED_SLOTS: Math.max(batch, a.rope ? 3 : a.norm ? 2 : 1),
    });
    const r = a.rope;
    const u = rt.uniform(params({
      out_dim: a.outDim, in_dim: a.inDim, x_stride: a.xStride, x_offset: a.xOffset + r0 * a.xStride,
      y_stride: a.yStride, y_offset: a.yOffset + r0 * a.yStride, flags: linearFlags(a), act_offset: actOffset,
      eps: a.norm?.eps ?? 0, rot_rows: r?.rotRows ?? 0, rot_dim: r?.rotDim ?? 0, pos: r?.pos ?? 0, theta: r?.theta ?? 0,
      store_row0: r?.storeRow0 ?? 0, store_row1: r?.storeRow1 ?? 0, cache_base: r?.cacheBase ?? 0,
    }));
    rt.dispatch(pipe, [u, a.w, a.x, bias, a.y, nw, r ? r.cache : unusedBinding(rt, 1)], grid, a.role ? `gemv:${a.role}` : 'gemv');
  }
}

// Tiled matmul for prefill: kernels/matmul.wgsl (f32 FMAs, any adapter) and kernels/matmul_mma.wgsl
// (subgroup matrices: tensor cores, f16 inputs, f32 accumulation), chosen per call by `matmul`.
import code from '../../../../kernels/matmul.wgsl?raw';
import mmaCode from '../../../../kernels/matmul_mma.wgsl?raw';
import linearParams from '../../../../kernels/common/linear_params.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { type LinearArgs, type ResolvedLinear, linearFlags, resolveLinear } from './linear_common';
import { opError, uniformStruct, unusedBinding } from './uniforms';

export { bytes, flops } from './linear_common';

// Both kernels share their uniforms (kernels/common/linear_params.wgsl), packed by `params` below.
const kernel: KernelSource = { name: 'matmul', code: `${code}\n${linearParams}` };
/** The subgroup-matrix kernel; its FN constant picks the block (4 × 2 or 4 × 4 fragments). Exported for the benchmark. */
export const mmaKernel: KernelSource = { name: 'matmul_mma', code: `${mmaCode}\n${linearParams}` };
const params = uniformStruct({
  n: 'u32', out_dim: 'u32', in_dim: 'u32', x_stride: 'u32', x_offset: 'u32', y_stride: 'u32', y_offset: 'u32', flags: 'u32',
});
const TILE = 64;

/** 16×16 fragments per subgroup, tokens × outputs: 64 × 32 or 64 × 64 values. */
export type MmaBlock = '4x2' | '4x4';

/**
 * The subgroup-matrix kernel's shape: sgm × sgn subgroups of 32 lanes, each a `block` of 16×16
 * fragments, so a workgroup tile of (sgm·64) tokens × (sgn·32 or sgn·64) outputs.
 */
export interface MmaConfig {
  sgm: number;
  sgn: number;
  block: MmaBlock;
  /** Workgroup buffers of the K tile: 2 = stage the next while multiplying this one (default 1). */
  buffers?: 1 | 2;
}

/**
 * 128 × 128 tiles, 4 subgroups of 64 × 64, one K-tile buffer: the fastest of the configs measured on an
 * H100 (tools/bench/matmul-kbench.ts, n = 2048) on 10 of the 11 prefill shapes of PLM-1.8B, GQA-1B and
 * GTA-1B: 113–223 TFLOP/s against 22–26 for the f32 kernel; 128 × 256 (2 × 4 subgroups) was 3% ahead
 * on PLM q_kv_a only, two K-tile buffers 20–40% behind everywhere.
 */
export const MMA_DEFAULT: MmaConfig = { sgm: 2, sgn: 2, block: '4x4' };
/**
 * From this many rows on `matmul` takes the subgroup-matrix kernel: at 32 rows (the fewest measured)
 * it was already 1.9–2.1× the f32 kernel on the H100; 9..31 rows are unmeasured and keep f32.
 */
export const MMA_MIN_ROWS = 32;

const available = new WeakMap<GpuRuntime, boolean>();

/** The subgroup-matrix kernel can run on this device: the feature, and 32-lane subgroups. */
export function mmaAvailable(rt: GpuRuntime): boolean {
  let ok = available.get(rt);
  if (ok === undefined) {
    // adapterInfo is a native getter (and newer than some typings): read once per runtime. A size Dawn
    // does not report counts as not 32: the kernels' lane arithmetic assumes 32 (AMD's wave64 would break it).
    const info = (rt.device as GPUDevice & { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
    ok = rt.subgroupMatrix && info?.subgroupMinSize === 32 && info?.subgroupMaxSize === 32;
    available.set(rt, ok);
  }
  return ok;
}

/** Whether `matmul` takes the subgroup-matrix kernel for these arguments. */
export function usesMma(rt: GpuRuntime, a: Pick<LinearArgs, 'rows' | 'wF16'>): boolean {
  return a.wF16 && a.rows >= MMA_MIN_ROWS && mmaAvailable(rt);
}

export function matmul(rt: GpuRuntime, args: LinearArgs): void {
  if (usesMma(rt, args)) matmulMma(rt, args);
  else matmulF32(rt, args);
}

/** The f32-FMA kernel on any adapter (kernels/matmul.wgsl). */
export function matmulF32(rt: GpuRuntime, args: LinearArgs): void {
  const a = resolveLinear('matmul', args);
  const grid: [number, number] = [Math.ceil(a.outDim / TILE), Math.ceil(a.rows / TILE)];
  const max = rt.maxWorkgroups;
  if (grid[0] > max || grid[1] > max) throw opError('matmul', `${a.rows}×${a.outDim} needs ${grid[0]}×${grid[1]} tiles, over the dispatch limit ${max}`);
  const pipe = rt.pipeline(kernel, { W_F16: a.wF16 ? 1 : 0 });
  const u = rt.uniform(params({
    n: a.rows, out_dim: a.outDim, in_dim: a.inDim, x_stride: a.xStride, x_offset: a.xOffset, y_stride: a.yStride, y_offset: a.yOffset, flags: linearFlags(a),
  }));
  rt.dispatch(pipe, [u, a.w, a.x, a.bias ?? unusedBinding(rt), a.y], grid, 'matmul');
}

/**
 * The subgroup-matrix kernel (kernels/matmul_mma.wgsl); f16 weights, an adapter with `mmaAvailable`.
 * X is rounded to f16 on the way in, after an exact 2^-4 scale (relative L2 error about 2e-4 against the
 * f32 kernel on random data; activations up to ±1,048,064 stay finite, beyond that they become ±inf).
 */
export function matmulMma(rt: GpuRuntime, args: LinearArgs, cfg: MmaConfig = MMA_DEFAULT): void {
  const a: ResolvedLinear = resolveLinear('matmul_mma', args);
  if (!a.wF16) throw opError('matmul_mma', 'the subgroup-matrix matmul takes f16 weights');
  if (!mmaAvailable(rt)) throw opError('matmul_mma', 'the device has no subgroup matrices with 32-lane subgroups');
  const { sgm, sgn } = cfg;
  const fm = 4;
  const fn = cfg.block === '4x4' ? 4 : 2;
  const wg = sgm * sgn * 32;
  const bm = sgm * fm * 16;
  const bn = sgn * fn * 16;
  const xv = (bm * 32) / (4 * wg);
  const wv = (bn * 32) / (8 * wg);
  const nbuf = cfg.buffers ?? 1;
  const smem = nbuf * (bm + bn) * 40 * 2 + sgm * sgn * 1024;
  const limits = rt.device.limits;
  const why =
    wg > limits.maxComputeInvocationsPerWorkgroup ? `${wg} threads a workgroup, over the device's ${limits.maxComputeInvocationsPerWorkgroup}`
    : smem > limits.maxComputeWorkgroupStorageSize ? `${smem} bytes of workgroup memory, over the device's ${limits.maxComputeWorkgroupStorageSize}`
    : !Number.isInteger(xv) || !Number.isInteger(wv) || xv < 1 || wv < 1 || xv > 8 || wv > 8 ? `${xv} X and ${wv} W loads per lane and K tile (the kernel stages 1 to 8 of each)`
    : null;
  if (why) throw opError('matmul_mma', `tile config ${JSON.stringify(cfg)} needs ${why}; use MMA_DEFAULT or a config tools/bench/matmul-kbench.ts accepts`);
  // X and W are read as 16-byte vectors: their buffers must hold whole vectors (rt.buffer and rt.upload round up to 16).
  for (const [name, buf] of [['x', a.x], ['w', a.w]] as const) {
    if (buf.size % 16 !== 0) throw opError('matmul_mma', `the ${name} buffer holds ${buf.size} bytes, not a multiple of 16; allocate it with rt.buffer or rt.upload`);
  }
  const grid: [number, number] = [Math.ceil(a.rows / bm), Math.ceil(a.outDim / bn)];
  const max = rt.maxWorkgroups;
  if (grid[0] > max || grid[1] > max) throw opError('matmul_mma', `${a.rows}×${a.outDim} needs ${grid[0]}×${grid[1]} tiles, over the dispatch limit ${max}: split the rows into chunks of at most ${max * bm}`);
  const xvec = a.xStride % 4 === 0 && a.xOffset % 4 === 0;
  const flags = linearFlags(a) | (xvec ? 4 : 0);
  const pipe = rt.pipeline(mmaKernel, { SGM: sgm, SGN: sgn, FM: fm, FN: fn, NBUF: nbuf });
  const u = rt.uniform(params({
    n: a.rows, out_dim: a.outDim, in_dim: a.inDim, x_stride: a.xStride, x_offset: a.xOffset, y_stride: a.yStride, y_offset: a.yOffset, flags,
  }));
  rt.dispatch(pipe, [u, a.w, a.x, a.bias ?? unusedBinding(rt), a.y], grid, 'matmul');
}

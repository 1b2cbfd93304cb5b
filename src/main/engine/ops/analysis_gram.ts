// Op: the Gram matrix XᵀX of a chunk of rows (analysis: KV compressibility): X is n rows of `dim` f32
// columns read in place (`stride` floats apart from element `offset`: a slice of a fused projection's
// output), g [dim, dim] f32 overwritten, or accumulated into with `accumulate` (a prompt's chunks in
// turn). Only the d×d matrix ever comes back. Kernel: kernels/analysis_gram.wgsl; float64 twin:
// engine/analysis/reference.ts (gramRef).
import code from '../../../../kernels/analysis_gram.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'analysis_gram', code };
const params = uniformStruct({ n: 'u32', dim: 'u32', stride: 'u32', offset: 'u32', tiles: 'u32', accumulate: 'u32', _pad0: 'u32', _pad1: 'u32' });

/** Output tile side of the kernel (TS in analysis_gram.wgsl). */
const TILE = 32;

export interface GramShape {
  n: number; // rows
  dim: number; // columns
  stride?: number; // floats between rows (default dim)
  offset?: number; // first column's element in row 0 (default 0)
  accumulate?: boolean; // g += XᵀX (default: g = XᵀX)
}

export function recordAnalysisGram(rt: GpuRuntime, b: { x: GPUBuffer; out: GPUBuffer }, s: GramShape): void {
  const stride = s.stride ?? s.dim;
  const offset = s.offset ?? 0;
  requirePositiveInts('analysis_gram', { n: s.n, dim: s.dim, stride });
  if (!Number.isInteger(offset) || offset < 0) throw opError('analysis_gram', `offset ${offset} must be a whole number`);
  if (offset + s.dim > stride) throw opError('analysis_gram', `columns ${offset}..${offset + s.dim} exceed the row stride ${stride}`);
  requireBytes('analysis_gram', 'x', b.x, ((s.n - 1) * stride + offset + s.dim) * 4);
  requireBytes('analysis_gram', 'out', b.out, s.dim * s.dim * 4);
  const tiles = Math.ceil(s.dim / TILE);
  const u = rt.uniform(params({ n: s.n, dim: s.dim, stride, offset, tiles, accumulate: s.accumulate ? 1 : 0, _pad0: 0, _pad1: 0 }));
  rt.dispatch(rt.pipeline(kernel), [u, b.x, b.out], grid2d(rt, (tiles * (tiles + 1)) / 2), 'analysis_gram');
}

/** Multiply-adds ×2 of the triangle the kernel computes (tiles on and above the diagonal). */
export function analysisGramFlops(s: GramShape): number {
  const tiles = Math.ceil(s.dim / TILE);
  return 2 * s.n * ((tiles * (tiles + 1)) / 2) * TILE * TILE;
}

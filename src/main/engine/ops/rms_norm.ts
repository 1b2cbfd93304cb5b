// RMSNorm over rows, optionally fused with the residual add before it (h += delta; out = norm(h)).
import code from '../../../../kernels/rms_norm.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct, unusedBinding, weightBytes } from './uniforms';

const kernel: KernelSource = { name: 'rms_norm', code };
const params = uniformStruct({
  rows: 'u32', dim: 'u32', eps: 'f32', x_stride: 'u32', x_offset: 'u32', out_stride: 'u32', out_offset: 'u32', _pad: 'u32',
});

export interface RmsNormShape {
  rows: number;
  dim: number;
  wF16: boolean;
  residual?: boolean;
}

export interface RmsNormArgs {
  x: GPUBuffer; // [rows, xStride] f32; with `delta`, the residual stream h, updated in place
  w: GPUBuffer; // [dim] f16 pairs or f32
  out: GPUBuffer; // [rows, outStride] f32, must not be x
  rows: number;
  dim: number;
  eps: number;
  wF16: boolean;
  /** [rows, xStride] f32: when given, x += delta first (written back to x) and x is normalised. */
  delta?: GPUBuffer;
  xStride?: number; // elements between rows of x (and delta); default dim
  xOffset?: number; // first element of row 0 in x; default 0
  outStride?: number; // default dim
  outOffset?: number; // default 0
}

export function rmsNorm(rt: GpuRuntime, a: RmsNormArgs): void {
  const xStride = a.xStride ?? a.dim;
  const xOffset = a.xOffset ?? 0;
  const outStride = a.outStride ?? a.dim;
  const outOffset = a.outOffset ?? 0;
  requirePositiveInts('rmsNorm', { rows: a.rows, dim: a.dim });
  if (a.x === a.out) throw opError('rmsNorm', 'x and out are the same buffer (a kernel may not write one buffer through two bindings)');
  if (xOffset + a.dim > xStride || outOffset + a.dim > outStride) throw opError('rmsNorm', `a row of ${a.dim} at offset ${xOffset}/${outOffset} does not fit strides ${xStride}/${outStride}`);
  requireBytes('rmsNorm', 'x', a.x, ((a.rows - 1) * xStride + xOffset + a.dim) * 4);
  requireBytes('rmsNorm', 'w', a.w, weightBytes(a.dim, a.wF16));
  requireBytes('rmsNorm', 'out', a.out, ((a.rows - 1) * outStride + outOffset + a.dim) * 4);
  if (a.delta) requireBytes('rmsNorm', 'delta', a.delta, ((a.rows - 1) * xStride + xOffset + a.dim) * 4);
  const pipe = rt.pipeline(kernel, { W_F16: a.wF16 ? 1 : 0, RESIDUAL: a.delta ? 1 : 0 });
  const u = rt.uniform(params({ rows: a.rows, dim: a.dim, eps: a.eps, x_stride: xStride, x_offset: xOffset, out_stride: outStride, out_offset: outOffset, _pad: 0 }));
  rt.dispatch(pipe, [u, a.x, a.delta ?? unusedBinding(rt), a.w, a.out], grid2d(rt, a.rows), a.delta ? 'rms_norm_residual' : 'rms_norm');
}

export function flops(s: RmsNormShape): number {
  return s.rows * s.dim * (s.residual ? 5 : 4);
}

export function bytes(s: RmsNormShape): number {
  // x read twice (the second read usually hits cache, counted anyway: it is what the kernel asks for).
  const perRow = s.dim * 4 * (s.residual ? 5 : 3);
  return s.rows * perRow + s.dim * (s.wF16 ? 2 : 4);
}

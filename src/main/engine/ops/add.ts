// Elementwise add of two f32 buffers.
import code from '../../../../kernels/add.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'add', code };
const params = uniformStruct({ n: 'u32', _pad0: 'u32', _pad1: 'u32', _pad2: 'u32' });

export interface AddArgs {
  a: GPUBuffer; // [n] f32
  b: GPUBuffer; // [n] f32
  out: GPUBuffer; // [n] f32, distinct from a and b
  n: number;
}

export function add(rt: GpuRuntime, a: AddArgs): void {
  requirePositiveInts('add', { n: a.n });
  if (a.out === a.a || a.out === a.b) throw opError('add', 'out aliases an input (use rmsNorm with delta, or a matmul with accumulate, for in-place residual adds)');
  for (const [name, buf] of [['a', a.a], ['b', a.b], ['out', a.out]] as const) requireBytes('add', name, buf, a.n * 4);
  const u = rt.uniform(params({ n: a.n, _pad0: 0, _pad1: 0, _pad2: 0 }));
  rt.dispatch(rt.pipeline(kernel), [u, a.a, a.b, a.out], grid2d(rt, Math.ceil(a.n / 256)), 'add');
}

export function flops(s: { n: number }): number {
  return s.n;
}

export function bytes(s: { n: number }): number {
  return s.n * 12;
}

// Greedy token pick on the GPU: writes argmax(logits row) into a u32 buffer.
import code from '../../../../kernels/argmax.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'argmax', code };
const params = uniformStruct({ n: 'u32', offset: 'u32', _pad0: 'u32', _pad1: 'u32' });

export interface ArgmaxArgs {
  logits: GPUBuffer; // f32, the row at [offset, offset + vocab)
  out: GPUBuffer; // [1] u32 token id (more elements allowed; only the first is written)
  vocab: number;
  offset?: number; // elements; e.g. (n − 1)·vocab for the last row of a prefill
  outOffsetBytes?: number; // where to write the id (a multiple of 256: a binding offset)
}

export function argmax(rt: GpuRuntime, a: ArgmaxArgs): void {
  const offset = a.offset ?? 0;
  requirePositiveInts('argmax', { vocab: a.vocab });
  requireBytes('argmax', 'logits', a.logits, (offset + a.vocab) * 4);
  const out: GPUBufferBinding = { buffer: a.out, offset: a.outOffsetBytes ?? 0, size: 4 };
  requireBytes('argmax', 'out', a.out, out.offset! + 4);
  const u = rt.uniform(params({ n: a.vocab, offset, _pad0: 0, _pad1: 0 }));
  rt.dispatch(rt.pipeline(kernel), [u, a.logits, out], [1], 'argmax');
}

export function flops(s: { vocab: number }): number {
  return s.vocab;
}

export function bytes(s: { vocab: number }): number {
  return s.vocab * 4 + 4;
}

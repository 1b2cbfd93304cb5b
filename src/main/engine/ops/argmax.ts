// Greedy token pick on the GPU: writes argmax(logits row) into a u32 buffer (two dispatches).
import code from '../../../../kernels/argmax.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const chunks: KernelSource = { name: 'argmax', code, entryPoint: 'chunks' };
const parts: KernelSource = { name: 'argmax', code, entryPoint: 'parts' };
const params = uniformStruct({ n: 'u32', offset: 'u32', chunk: 'u32', n_parts: 'u32' });

// Enough workgroups to spread a large vocabulary over the GPU, each scanning at least 4 elements a lane.
const MAX_PARTS = 1024;
const MIN_CHUNK = 1024;

export interface ArgmaxArgs {
  logits: GPUBuffer; // f32, the row at [offset, offset + vocab)
  out: GPUBuffer; // [1] u32 token id (more elements allowed; only the first is written)
  vocab: number;
  offset?: number; // elements; e.g. (n − 1)·vocab for the last row of a prefill
  outOffsetBytes?: number; // where to write the id (a multiple of 256: a binding offset)
}

const partsBuffers = new WeakMap<GpuRuntime, GPUBuffer>();

function partsFor(rt: GpuRuntime): GPUBuffer {
  let b = partsBuffers.get(rt);
  if (!b) {
    b = rt.buffer(MAX_PARTS * 8, 'argmax-parts'); // [MAX_PARTS, 2] u32
    partsBuffers.set(rt, b);
  }
  return b;
}

export function argmax(rt: GpuRuntime, a: ArgmaxArgs): void {
  const offset = a.offset ?? 0;
  requirePositiveInts('argmax', { vocab: a.vocab });
  requireBytes('argmax', 'logits', a.logits, (offset + a.vocab) * 4);
  const out: GPUBufferBinding = { buffer: a.out, offset: a.outOffsetBytes ?? 0, size: 4 };
  requireBytes('argmax', 'out', a.out, out.offset! + 4);
  const chunk = Math.max(MIN_CHUNK, Math.ceil(a.vocab / MAX_PARTS));
  const nParts = Math.ceil(a.vocab / chunk);
  const u = rt.uniform(params({ n: a.vocab, offset, chunk, n_parts: nParts }));
  const scratch = partsFor(rt);
  // Each entry point binds only what it uses ('auto' layouts drop the rest).
  rt.dispatch(rt.pipeline(chunks), [u, scratch, a.logits, null], [nParts], 'argmax_chunks');
  rt.dispatch(rt.pipeline(parts), [u, scratch, null, out], [1], 'argmax_parts');
}

export function flops(s: { vocab: number }): number {
  return s.vocab;
}

export function bytes(s: { vocab: number }): number {
  return s.vocab * 4 + 4;
}

// Token sampling on the GPU (temperature, top-k, top-p, repetition penalty, seed): see kernels/sample.wgsl.
// The draw uses the Gumbel-max trick with a per-token hash of the seed, so a given seed reproduces
// the same token on every GPU; it is not the CPU sampler's random stream.
import code from '../../../../kernels/sample.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { opError, requireBytes, requirePositiveInts, uniformStruct, unusedBinding } from './uniforms';

const kernel: KernelSource = { name: 'sample', code };
const params = uniformStruct({
  n: 'u32', offset: 'u32', top_k: 'u32', n_penalty: 'u32', top_p: 'f32', temperature: 'f32', penalty: 'f32', seed: 'u32',
});

export interface SampleArgs {
  logits: GPUBuffer; // f32, the row at [offset, offset + vocab)
  out: GPUBuffer; // [1] u32 token id
  outOffsetBytes?: number; // where to write the id (a multiple of 256: a binding offset)
  vocab: number;
  offset?: number; // elements
  temperature: number; // ≤ 0: greedy (argmax of the penalised logits)
  topK: number; // 0 = off
  topP: number; // (0, 1]; 1 = off
  repetitionPenalty: number; // 1 = off
  /** [nPenalised] u32 token ids the penalty applies to (duplicates allowed). */
  penalised?: GPUBuffer;
  nPenalised?: number;
  seed: number; // u32; a new value per token
  /** [vocab] f32 working space; allocated and kept per runtime when omitted. */
  scratch?: GPUBuffer;
}

const scratches = new WeakMap<GpuRuntime, GPUBuffer>();

function scratchFor(rt: GpuRuntime, vocab: number): GPUBuffer {
  let b = scratches.get(rt);
  if (!b || b.size < vocab * 4) {
    b?.destroy();
    b = rt.buffer(vocab * 4, 'sample-scratch'); // [vocab] f32
    scratches.set(rt, b);
  }
  return b;
}

export function sample(rt: GpuRuntime, a: SampleArgs): void {
  const offset = a.offset ?? 0;
  const nPen = a.penalised ? (a.nPenalised ?? 0) : 0;
  requirePositiveInts('sample', { vocab: a.vocab });
  if (!(a.topP > 0 && a.topP <= 1)) throw opError('sample', `top-p ${a.topP} is outside (0, 1]`);
  if (!Number.isInteger(a.topK) || a.topK < 0) throw opError('sample', `top-k ${a.topK} must be a whole number ≥ 0`);
  if (!(a.repetitionPenalty > 0)) throw opError('sample', `repetition penalty ${a.repetitionPenalty} must be above 0`);
  requireBytes('sample', 'logits', a.logits, (offset + a.vocab) * 4);
  const out: GPUBufferBinding = { buffer: a.out, offset: a.outOffsetBytes ?? 0, size: 4 };
  requireBytes('sample', 'out', a.out, out.offset! + 4);
  if (a.penalised) requireBytes('sample', 'penalised', a.penalised, nPen * 4);
  const scratch = a.scratch ?? scratchFor(rt, a.vocab);
  requireBytes('sample', 'scratch', scratch, a.vocab * 4);
  const u = rt.uniform(params({
    n: a.vocab, offset, top_k: a.topK, n_penalty: nPen, top_p: a.topP, temperature: a.temperature, penalty: a.repetitionPenalty, seed: a.seed >>> 0,
  }));
  // Without a penalty list the binding still needs a buffer; n_penalty = 0 keeps it unread.
  rt.dispatch(rt.pipeline(kernel), [u, a.logits, a.penalised ?? unusedBinding(rt), scratch, out], [1], 'sample');
}

export function flops(s: { vocab: number }): number {
  return s.vocab * 40; // up to ten passes over the row
}

export function bytes(s: { vocab: number }): number {
  return s.vocab * 4 * 12;
}

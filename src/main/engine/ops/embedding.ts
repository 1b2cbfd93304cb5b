// Embedding gather: out[t, :] = table[ids[t], :] (f32 out, f16-packed or f32 table).
import code from '../../../../kernels/embedding.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { requireBytes, requirePositiveInts, uniformStruct, weightBytes } from './uniforms';

const kernel: KernelSource = { name: 'embedding', code };
const params = uniformStruct({ n_tokens: 'u32', dim: 'u32', vocab: 'u32', _pad: 'u32' });

export interface EmbeddingShape {
  nTokens: number;
  dim: number;
  wF16: boolean;
}

export interface EmbeddingArgs extends EmbeddingShape {
  ids: GPUBuffer; // [n_tokens] u32
  table: GPUBuffer; // [vocab, dim] f16 pairs or f32
  out: GPUBuffer; // [n_tokens, dim] f32
  vocab: number;
}

export function embedding(rt: GpuRuntime, a: EmbeddingArgs): void {
  requirePositiveInts('embedding', { nTokens: a.nTokens, dim: a.dim, vocab: a.vocab });
  requireBytes('embedding', 'ids', a.ids, a.nTokens * 4);
  requireBytes('embedding', 'table', a.table, weightBytes(a.vocab * a.dim, a.wF16));
  requireBytes('embedding', 'out', a.out, a.nTokens * a.dim * 4);
  const pipe = rt.pipeline(kernel, { W_F16: a.wF16 ? 1 : 0 });
  const u = rt.uniform(params({ n_tokens: a.nTokens, dim: a.dim, vocab: a.vocab, _pad: 0 }));
  rt.dispatch(pipe, [u, a.ids, a.table, a.out], [Math.ceil(a.dim / 256), a.nTokens], 'embedding');
}

export function flops(): number {
  return 0;
}

export function bytes(s: EmbeddingShape): number {
  return s.nTokens * (4 + s.dim * ((s.wF16 ? 2 : 4) + 4));
}

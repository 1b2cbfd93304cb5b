// Op: a chunk's attention probabilities into a layer's full map as f16 (analysis, keepFull):
// [maps, n, width] f32 → rows pos0 .. of [maps, T, TP] f16 (TP = T rounded up to even; zero beyond the
// causal limit and in the pad column). Kernel: kernels/analysis_pack.wgsl.
import code from '../../../../kernels/analysis_pack.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { checkChunk, type ProbsChunk } from './analysis_stats';
import { grid2d, opError, requireBytes, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'analysis_pack', code };
const params = uniformStruct({ maps: 'u32', n: 'u32', pos0: 'u32', width: 'u32', t: 'u32', words: 'u32', _pad0: 'u32', _pad1: 'u32' });

/** Row stride (f16 elements) of a packed full map of T columns. */
export function packedWidth(t: number): number {
  return t + (t % 2);
}

export function recordAnalysisPack(rt: GpuRuntime, b: { probs: GPUBuffer; out: GPUBuffer }, c: ProbsChunk & { t: number }): void {
  checkChunk('analysis_pack', b.probs, c);
  if (c.pos0 + c.n > c.t) throw opError('analysis_pack', `rows ${c.pos0}..${c.pos0 + c.n} exceed T = ${c.t}`);
  const words = packedWidth(c.t) / 2;
  requireBytes('analysis_pack', 'out', b.out, c.maps * c.t * words * 4);
  const u = rt.uniform(params({ maps: c.maps, n: c.n, pos0: c.pos0, width: c.width, t: c.t, words, _pad0: 0, _pad1: 0 }));
  rt.dispatch(rt.pipeline(kernel), [u, b.probs, b.out], grid2d(rt, Math.ceil((c.maps * c.n * words) / 256)), 'analysis_pack');
}

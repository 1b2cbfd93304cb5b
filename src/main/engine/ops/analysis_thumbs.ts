// Op: attention-map thumbnails (analysis): [maps, T, T] fed chunk by chunk → [maps, S, S] f32, S ≤ T,
// each cell the mean (causal zeros included) or max of its block. Kernel: kernels/analysis_thumbs.wgsl.
import code from '../../../../kernels/analysis_thumbs.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { checkChunk, type ProbsChunk } from './analysis_stats';
import { grid2d, opError, requireBytes, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'analysis_thumbs', code };
const params = uniformStruct({ maps: 'u32', n: 'u32', pos0: 'u32', width: 'u32', t: 'u32', s: 'u32', accumulate: 'u32', _pad0: 'u32' });

export type ThumbReduce = 'mean' | 'max';

/**
 * Reduce the chunk's part of every cell into out [maps, S, S]; the first chunk (pos0 = 0) initialises
 * every cell, later ones combine with it, so record the chunks in order.
 */
export function recordAnalysisThumbs(rt: GpuRuntime, b: { probs: GPUBuffer; out: GPUBuffer }, c: ProbsChunk & { t: number; s: number; reduce: ThumbReduce }): void {
  checkChunk('analysis_thumbs', b.probs, c);
  if (c.s < 1 || c.s > c.t || c.pos0 + c.n > c.t) throw opError('analysis_thumbs', `S = ${c.s} must lie in [1, T = ${c.t}] and the chunk inside T`);
  requireBytes('analysis_thumbs', 'out', b.out, c.maps * c.s * c.s * 4);
  const u = rt.uniform(params({ maps: c.maps, n: c.n, pos0: c.pos0, width: c.width, t: c.t, s: c.s, accumulate: c.pos0 > 0 ? 1 : 0, _pad0: 0 }));
  const pipe = rt.pipeline(kernel, { MAX: c.reduce === 'max' ? 1 : 0 });
  rt.dispatch(pipe, [u, b.probs, b.out], grid2d(rt, c.maps * c.s * c.s), 'analysis_thumbs');
}

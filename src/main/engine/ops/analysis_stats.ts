// Op: per-map statistics of every query row of a chunk's attention probabilities (analysis):
// [maps, n, width] f32 → rows pos0 .. pos0+n−1 of [maps, total, 5] f32 (entropy bits, mean distance in
// tokens, sink, local, self). Kernel: kernels/analysis_stats.wgsl; CPU twin: engine/analysis/reference.ts.
import code from '../../../../kernels/analysis_stats.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'analysis_stats', code };
const params = uniformStruct({ maps: 'u32', n: 'u32', pos0: 'u32', width: 'u32', total: 'u32', _pad0: 'u32', _pad1: 'u32', _pad2: 'u32' });

/** A chunk of one layer's probabilities: [maps, n, width] f32, rows pos0 .. pos0+n−1, width ≥ pos0 + n. */
export interface ProbsChunk {
  maps: number;
  n: number;
  pos0: number;
  width: number;
}

export const STATS = 5; // values per (map, row)

export function checkChunk(op: string, probs: GPUBuffer, c: ProbsChunk): void {
  requirePositiveInts(op, { maps: c.maps, n: c.n, width: c.width });
  if (c.width < c.pos0 + c.n) throw opError(op, `width ${c.width} < pos0 + n = ${c.pos0 + c.n}`);
  requireBytes(op, 'probs', probs, c.maps * c.n * c.width * 4);
}

export function recordAnalysisStats(rt: GpuRuntime, b: { probs: GPUBuffer; out: GPUBuffer }, c: ProbsChunk & { total: number }): void {
  checkChunk('analysis_stats', b.probs, c);
  if (c.total < c.pos0 + c.n) throw opError('analysis_stats', `total ${c.total} < pos0 + n = ${c.pos0 + c.n}`);
  requireBytes('analysis_stats', 'out', b.out, c.maps * c.total * STATS * 4);
  const u = rt.uniform(params({ maps: c.maps, n: c.n, pos0: c.pos0, width: c.width, total: c.total, _pad0: 0, _pad1: 0, _pad2: 0 }));
  rt.dispatch(rt.pipeline(kernel), [u, b.probs, b.out], grid2d(rt, c.maps * c.n), 'analysis_stats');
}

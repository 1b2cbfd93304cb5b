// Op: copy a layer chunk's stored query rows into the model-wide cross-layer buffer (analysis):
// [maps, n, width] f32 → out [allMaps, R, T] f32 at maps map0 .. map0+maps−1, stored row k = query row
// rowPos[k] (only those inside the chunk). Kernel: kernels/analysis_rows.wgsl.
import code from '../../../../kernels/analysis_rows.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { checkChunk, type ProbsChunk } from './analysis_stats';
import { grid2d, requireBytes, uniformStruct } from './uniforms';

const kernel: KernelSource = { name: 'analysis_rows', code };
const params = uniformStruct({ maps: 'u32', n: 'u32', pos0: 'u32', width: 'u32', t: 'u32', r: 'u32', map0: 'u32', _pad0: 'u32' });

/** Evenly spaced query rows: row_k = floor((k + 0.5)·T / R), R ≤ T. */
export function crossRows(t: number, r: number): number[] {
  return Array.from({ length: Math.min(r, t) }, (_, k) => Math.floor(((k + 0.5) * t) / Math.min(r, t)));
}

export function recordAnalysisRows(
  rt: GpuRuntime,
  b: { probs: GPUBuffer; rowPos: GPUBuffer; out: GPUBuffer },
  c: ProbsChunk & { t: number; r: number; map0: number; allMaps: number },
): void {
  checkChunk('analysis_rows', b.probs, c);
  requireBytes('analysis_rows', 'rowPos', b.rowPos, c.r * 4);
  requireBytes('analysis_rows', 'out', b.out, c.allMaps * c.r * c.t * 4);
  const u = rt.uniform(params({ maps: c.maps, n: c.n, pos0: c.pos0, width: c.width, t: c.t, r: c.r, map0: c.map0, _pad0: 0 }));
  rt.dispatch(rt.pipeline(kernel), [u, b.probs, b.rowPos, b.out], grid2d(rt, Math.ceil((c.maps * c.r * c.t) / 256)), 'analysis_rows');
}

// Op: pairwise similarity of attention maps row by row (analysis): for every stored row and every pair
// (a ≤ b) of maps, the row's JS divergence (bits) and dot product → [rows, pairs, 2] f32; the host sums
// rows in float64 (engine/analysis/reduce.ts). Kernel: kernels/analysis_similarity.wgsl.
import code from '../../../../kernels/analysis_similarity.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { grid2d, opError, requireBytes, requirePositiveInts, uniformStruct, unusedBinding } from './uniforms';

const kernel: KernelSource = { name: 'analysis_similarity', code };
const params = uniformStruct({ n_rows: 'u32', width: 'u32', pos0: 'u32', out_row0: 'u32', pairs: 'u32', _pad0: 'u32', _pad1: 'u32', _pad2: 'u32' });

/** Pairs (a, b), a ≤ b, of `maps` maps in row-major upper-triangle order; pair index of (a, b) = pairIndex. */
export function pairTable(maps: number): Uint32Array {
  if (maps > 0xffff) throw opError('analysis_similarity', `${maps} maps exceed the pair table's 65,535`);
  const t = new Uint32Array((maps * (maps + 1)) / 2);
  let k = 0;
  for (let a = 0; a < maps; a++) for (let b = a; b < maps; b++) t[k++] = ((a << 16) | b) >>> 0;
  return t;
}

export function pairIndex(maps: number, a: number, b: number): number {
  const [x, y] = a <= b ? [a, b] : [b, a];
  return x * maps - (x * (x - 1)) / 2 + (y - x);
}

export interface SimilarityShape {
  maps: number;
  nRows: number; // rows stored per map in probs
  width: number; // row stride of probs
  pos0: number; // absolute position of stored row 0 (without rowPos)
  outRow0: number; // output row of stored row 0
}

/**
 * probs [maps, nRows, width] f32; pairs: pairTable(maps) uploaded; rowPos [nRows] u32 absolute
 * positions of the stored rows (default pos0 + r); out [≥ outRow0 + nRows, pairs, 2] f32.
 */
export function recordAnalysisSimilarity(
  rt: GpuRuntime,
  b: { probs: GPUBuffer; pairs: GPUBuffer; rowPos?: GPUBuffer; out: GPUBuffer },
  s: SimilarityShape,
): void {
  requirePositiveInts('analysis_similarity', { maps: s.maps, nRows: s.nRows, width: s.width });
  const pairs = (s.maps * (s.maps + 1)) / 2;
  requireBytes('analysis_similarity', 'probs', b.probs, s.maps * s.nRows * s.width * 4);
  requireBytes('analysis_similarity', 'pairs', b.pairs, pairs * 4);
  requireBytes('analysis_similarity', 'out', b.out, (s.outRow0 + s.nRows) * pairs * 8);
  if (b.rowPos) requireBytes('analysis_similarity', 'rowPos', b.rowPos, s.nRows * 4);
  const u = rt.uniform(params({ n_rows: s.nRows, width: s.width, pos0: s.pos0, out_row0: s.outRow0, pairs, _pad0: 0, _pad1: 0, _pad2: 0 }));
  const pipe = rt.pipeline(kernel, { ROWS: b.rowPos ? 1 : 0 });
  rt.dispatch(pipe, [u, b.probs, b.pairs, b.rowPos ?? unusedBinding(rt, 0), b.out], grid2d(rt, s.nRows * pairs), 'analysis_similarity');
}

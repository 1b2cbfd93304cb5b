// The analysis on the CPU reference backend (machines without a GPU, small models): one float64
// forward with the reference's hooks; every reduction is the float64 twin of the GPU kernel
// (reference.ts) over the whole [maps, T, T] of each layer, which the reference computes anyway.
import type { CpuBackend } from '../arch/cpu';
import type { AttentionMap } from '../arch/types';
import type { ShareTarget } from '../ops/analysis_share';
import { crossRows } from '../ops/analysis_rows';
import { f32ToF16 } from '../ops/convert';
import { finishSimilarity, finishStats, nllRowsRef, shareRef, similarityRowsRef, statsRowsRef, thumbsRef } from './reference';
import { cancelled } from './gpu';
import type { AttentionReduceOptions, AttentionReduction, LayerReduction } from './types';

export function reduceCpu(b: CpuBackend, ids: number[], o: AttentionReduceOptions): AttentionReduction {
  const T = ids.length;
  const L = b.config.numLayers;
  const S = Math.min(o.thumbSide, T);
  const R = Math.min(o.crossLayerRows, T);
  const rows = R > 0 ? crossRows(T, R) : [];
  const all = [...Array(T).keys()];
  let maps = 0;
  const layers: LayerReduction[] = [];
  const cross: Float64Array[] = []; // per layer [maps, R, T]
  cancelled(o.signal);
  b.forwardHooked(ids, {
    probs(layer, p, shape) {
      maps = shape.heads;
      const c = { maps, n: T, pos0: 0, width: T };
      const full = o.keepFull ? Uint16Array.from(p, (x) => f32ToF16(x)) : undefined;
      layers.push({
        layer,
        stats: finishStats(statsRowsRef(p, c), maps, T),
        ...finishSimilarity(similarityRowsRef(p, maps, T, T, all), maps, T),
        thumbs: Float32Array.from(thumbsRef(p, maps, T, S, o.thumbReduce)),
        ...(full ? { full } : {}),
      });
      if (R > 0) {
        const x = new Float64Array(maps * R * T);
        for (let h = 0; h < maps; h++) rows.forEach((i, k) => x.set(p.subarray((h * T + i) * T, (h * T + i + 1) * T), (h * R + k) * T));
        cross.push(x);
      }
      o.onProgress?.(layer + 1, L);
    },
  });
  let global: AttentionReduction['global'] = null;
  if (R > 0) {
    const x = new Float64Array(L * maps * R * T);
    cross.forEach((c, l) => x.set(c, l * maps * R * T));
    global = { rows, n: L * maps, ...finishSimilarity(similarityRowsRef(x, L * maps, R, T, rows), L * maps, R) };
  }
  return { tokens: T, maps, thumbSide: S, layers, global };
}

export function layerCpu(b: CpuBackend, ids: number[], layer: number): AttentionMap {
  const T = ids.length;
  let map: AttentionMap | null = null;
  b.forwardHooked(ids, {
    probs(l, p, shape) {
      if (l === layer) map = { layer, heads: shape.heads, n: T, t: T, pos0: 0, probs: Float32Array.from(p) };
    },
  });
  return map!;
}

/** Sum of the next-token NLL (nats) over rows 0 .. T−2, float64 throughout. */
export function sharedNllCpu(b: CpuBackend, ids: number[], targets: Map<number, ShareTarget[]>): number {
  const V = b.config.vocabSize;
  const logits = b.forwardHooked(ids, {
    attend(layer, io) {
      const t = targets.get(layer);
      if (t && t.length > 0) shareRef(io.out, io.probs, io.v, io, t);
    },
  });
  const nll = nllRowsRef(logits, ids.length, V, 0, ids);
  let sum = 0;
  for (let i = 0; i + 1 < ids.length; i++) sum += nll[i];
  return sum;
}

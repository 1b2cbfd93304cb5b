// Float64 twins of the analysis kernels (kernels/analysis_*.wgsl) — the oracle of their tests and the
// CPU backend's reductions — and the host-side finishing both backends share (row means, JS/cosine
// from the per-row sums). Plain loops, written for clarity.
//
// A chunk of one layer's probabilities is [maps, n, width]: rows pos0 .. pos0+n−1 (absolute query
// positions) over keys 0 .. width−1, zero beyond the causal limit j > i, rows summing to 1.
import type { MapStats } from '../../../shared/analysis/types';
import { pairIndex } from '../ops/analysis_similarity';
import type { ShareTarget } from '../ops/analysis_share';

type Arr = ArrayLike<number>;

export interface ChunkShape {
  maps: number;
  n: number;
  pos0: number;
  width: number;
}

/** analysis_stats: [maps, n, 5] per row: entropy (bits), mean distance i − j (tokens), p[i][0], p[i][i−1] (0 on row 0), p[i][i]. */
export function statsRowsRef(probs: Arr, c: ChunkShape): Float64Array {
  const out = new Float64Array(c.maps * c.n * 5);
  for (let h = 0; h < c.maps; h++) {
    for (let r = 0; r < c.n; r++) {
      const i = c.pos0 + r;
      const base = (h * c.n + r) * c.width;
      let e = 0;
      let d = 0;
      for (let j = 0; j <= i; j++) {
        const x = probs[base + j];
        if (x > 0) e -= x * Math.log2(x);
        d += x * (i - j);
      }
      const o = (h * c.n + r) * 5;
      out.set([e, d, probs[base], i >= 1 ? probs[base + i - 1] : 0, probs[base + i]], o);
    }
  }
  return out;
}

/**
 * Row means of per-row stats [maps, T, 5] → MapStats per map. `local` is the mean over rows i ≥ 1 (0
 * when T = 1); every other field the mean over all T rows.
 */
export function finishStats(rows: Arr, maps: number, t: number): MapStats[] {
  return Array.from({ length: maps }, (_, h) => {
    const s = [0, 0, 0, 0, 0];
    for (let i = 0; i < t; i++) for (let k = 0; k < 5; k++) s[k] += rows[(h * t + i) * 5 + k];
    return { entropy: s[0] / t, distance: s[1] / t, sink: s[2] / t, local: t > 1 ? s[3] / (t - 1) : 0, self: s[4] / t };
  });
}

/** analysis_thumbs over whole maps [maps, T, T] → [maps, S', S'], S' = min(S, T). */
export function thumbsRef(full: Arr, maps: number, t: number, side: number, reduce: 'mean' | 'max'): Float64Array {
  const s = Math.min(side, t);
  const out = new Float64Array(maps * s * s);
  for (let h = 0; h < maps; h++) {
    for (let a = 0; a < s; a++) {
      const [r0, r1] = [Math.floor((a * t) / s), Math.floor(((a + 1) * t) / s)];
      for (let b = 0; b < s; b++) {
        const [c0, c1] = [Math.floor((b * t) / s), Math.floor(((b + 1) * t) / s)];
        let acc = 0;
        for (let i = r0; i < r1; i++) {
          for (let j = c0; j < c1; j++) {
            const x = full[(h * t + i) * t + j];
            acc = reduce === 'max' ? Math.max(acc, x) : acc + x;
          }
        }
        out[(h * s + a) * s + b] = reduce === 'max' ? acc : acc / ((r1 - r0) * (c1 - c0));
      }
    }
  }
  return out;
}

/** JS divergence (bits, 0·log 0 = 0) of two rows over their first `cols` entries. */
export function jsRow(a: Arr, ao: number, b: Arr, bo: number, cols: number): number {
  let js = 0;
  for (let j = 0; j < cols; j++) {
    const x = a[ao + j];
    const y = b[bo + j];
    const m = x + y;
    if (m <= 0) continue;
    if (x > 0) js += 0.5 * x * Math.log2((2 * x) / m);
    if (y > 0) js += 0.5 * y * Math.log2((2 * y) / m);
  }
  return js;
}

/**
 * analysis_similarity: probs [maps, nRows, width], stored row r at absolute position rowPos[r] →
 * [nRows, pairs, 2] (row JS, row dot) for the pairs a ≤ b in pairTable order.
 */
export function similarityRowsRef(probs: Arr, maps: number, nRows: number, width: number, rowPos: readonly number[]): Float64Array {
  const pairs = (maps * (maps + 1)) / 2;
  const out = new Float64Array(nRows * pairs * 2);
  for (let r = 0; r < nRows; r++) {
    const cols = Math.min(rowPos[r] + 1, width);
    for (let a = 0; a < maps; a++) {
      for (let b = a; b < maps; b++) {
        const ao = (a * nRows + r) * width;
        const bo = (b * nRows + r) * width;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += probs[ao + j] * probs[bo + j];
        const o = (r * pairs + pairIndex(maps, a, b)) * 2;
        out[o] = a === b ? 0 : jsRow(probs, ao, probs, bo, cols);
        out[o + 1] = dot;
      }
    }
  }
  return out;
}

/**
 * Per-row sums [nRows, pairs, 2] → symmetric [maps, maps] matrices: JS = the mean over the rows of the
 * row JS (bits); cosine = Σ a·b / √(Σ a² Σ b²) over every stored row (the flattened maps). Rows are
 * summed in float64.
 */
export function finishSimilarity(rows: Arr, maps: number, nRows: number): { js: Float64Array; cosine: Float64Array } {
  const pairs = (maps * (maps + 1)) / 2;
  const js = new Float64Array(pairs);
  const dot = new Float64Array(pairs);
  for (let r = 0; r < nRows; r++) {
    for (let k = 0; k < pairs; k++) {
      js[k] += rows[(r * pairs + k) * 2];
      dot[k] += rows[(r * pairs + k) * 2 + 1];
    }
  }
  const J = new Float64Array(maps * maps);
  const C = new Float64Array(maps * maps);
  for (let a = 0; a < maps; a++) {
    for (let b = a; b < maps; b++) {
      const k = pairIndex(maps, a, b);
      const j = a === b ? 0 : js[k] / nRows;
      const den = Math.sqrt(dot[pairIndex(maps, a, a)] * dot[pairIndex(maps, b, b)]);
      const c = den > 0 ? dot[k] / den : 0;
      J[a * maps + b] = J[b * maps + a] = j;
      C[a * maps + b] = C[b * maps + a] = c;
    }
  }
  return { js: J, cosine: C };
}

/**
 * analysis_share: out [n, hq, dv] rows of each target ← P_shared·V, P_shared the mean of the members'
 * rows of probs [hq, n, t], V = v [t, hv, dv] at the target's value head (h / (hq / hv)). In place.
 */
export function shareRef(out: Float64Array | Float32Array, probs: Arr, v: Arr, s: { n: number; t: number; hq: number; hv: number; dv: number }, targets: readonly ShareTarget[]): void {
  const { n, t, hq, hv, dv } = s;
  const row = new Float64Array(t);
  for (const g of targets) {
    const vh = Math.floor(g.map / (hq / hv));
    for (let i = 0; i < n; i++) {
      row.fill(0);
      for (const m of g.members) for (let j = 0; j < t; j++) row[j] += probs[(m * n + i) * t + j];
      const o = (i * hq + g.map) * dv;
      for (let d = 0; d < dv; d++) {
        let acc = 0;
        for (let j = 0; j < t; j++) acc += (row[j] / g.members.length) * v[(j * hv + vh) * dv + d];
        out[o + d] = acc;
      }
    }
  }
}

/** Next-token NLL (nats) of rows pos0 .. of logits [m, vocab] against ids [T]; 0 for the text's last row. */
export function nllRowsRef(logits: Arr, m: number, vocab: number, pos0: number, ids: readonly number[]): Float64Array {
  const out = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    const i = pos0 + r;
    if (i + 1 >= ids.length) continue;
    let mx = -Infinity;
    for (let j = 0; j < vocab; j++) mx = Math.max(mx, logits[r * vocab + j]);
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += Math.exp(logits[r * vocab + j] - mx);
    out[r] = Math.log(sum) + mx - logits[r * vocab + ids[i + 1]];
  }
  return out;
}

/**
 * analysis_gram: XᵀX [dim, dim] (float64, row-major, exactly symmetric) of n rows of `dim` columns,
 * `stride` apart from element `offset`; with `into`, added to it (a prompt's chunks in turn).
 */
export function gramRef(x: Arr, n: number, dim: number, stride = dim, offset = 0, into?: Float64Array): Float64Array {
  const g = into ?? new Float64Array(dim * dim);
  for (let r = 0; r < n; r++) {
    const base = r * stride + offset;
    for (let a = 0; a < dim; a++) {
      const xa = x[base + a];
      if (xa === 0) continue;
      const ga = a * dim;
      for (let b = a; b < dim; b++) g[ga + b] += xa * x[base + b];
    }
  }
  // The lower triangle mirrors the upper (which holds every call's sums when accumulating).
  for (let a = 0; a < dim; a++) for (let b = a + 1; b < dim; b++) g[b * dim + a] = g[a * dim + b];
  return g;
}

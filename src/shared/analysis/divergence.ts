// Distances between attention maps and per-map statistics, float64 reference implementations.
// A map is row-major [rows][cols]: row i holds one query's probability distribution over key columns,
// causal zeros allowed (j > position of i). JS divergence is in bits (log base 2), so it lies in [0, 1],
// with 0·log 0 = 0. Pure TS: runs in the renderer and in Node.
import type { MapStats } from './types';

function checkCount(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} (${v}) must be an integer ≥ ${min}`);
}

function checkLength(name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) throw new RangeError(`${name} has ${a.length} values; expected ${expected}`);
}

/**
 * Jensen–Shannon divergence (bits) of p[off .. off+len) and q[offQ .. offQ+len), clamped to [0, 1]:
 * ½·Σ p·log2(p/m) + ½·Σ q·log2(q/m) with m = (p + q)/2, terms with a zero probability dropped.
 */
export function jsRow(p: ArrayLike<number>, q: ArrayLike<number>, off: number, len: number, offQ: number = off): number {
  if (!Number.isInteger(off) || off < 0) throw new RangeError(`off (${off}) must be an integer ≥ 0`);
  if (!Number.isInteger(offQ) || offQ < 0) throw new RangeError(`offQ (${offQ}) must be an integer ≥ 0`);
  if (!Number.isInteger(len) || len < 0) throw new RangeError(`len (${len}) must be an integer ≥ 0`);
  if (off + len > p.length) throw new RangeError(`off + len (${off + len}) exceeds p's length (${p.length})`);
  if (offQ + len > q.length) throw new RangeError(`offQ + len (${offQ + len}) exceeds q's length (${q.length})`);
  let s = 0;
  for (let j = 0; j < len; j++) {
    const a = p[off + j];
    const b = q[offQ + j];
    const sum = a + b;
    if (!(sum > 0)) continue;
    // p·log2(p/m) = p·log2(2p/(p+q))
    if (a > 0) s += a * Math.log2((2 * a) / sum);
    if (b > 0) s += b * Math.log2((2 * b) / sum);
  }
  const js = 0.5 * s;
  return js < 0 ? 0 : js > 1 ? 1 : js;
}

/** Mean over query rows i of JS(a[i,:], b[i,:]) (bits); a and b are [rows][cols]. */
export function meanJs(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, cols: number): number {
  checkCount('rows', rows);
  checkCount('cols', cols);
  checkLength('a', a, rows * cols);
  checkLength('b', b, rows * cols);
  let s = 0;
  for (let i = 0; i < rows; i++) s += jsRow(a, b, i * cols, cols);
  return s / rows;
}

/** Cosine similarity of two flattened arrays of equal length; 0 when either norm is 0. */
export function cosineFlat(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkLength('b', b, a.length);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return 0;
  const c = dot / (Math.sqrt(na) * Math.sqrt(nb));
  return c > 1 ? 1 : c < -1 ? -1 : c;
}

/**
 * Pairwise distances of m maps, maps = [m][rows][cols]. Returns m×m row-major matrices:
 * js (mean-over-rows JS in bits, symmetric, diagonal exactly 0) and cosine (of the flattened maps,
 * symmetric, diagonal 1 for non-zero maps, 0 for all-zero ones).
 * JS per row is computed as H(m) − ½(H(p) + H(q)) with the row entropies H(p) precomputed, one log per
 * element and pair instead of two; clamped to [0, 1] like jsRow (equal to it within rounding).
 */
export function similarityMatrices(maps: ArrayLike<number>, m: number, rows: number, cols: number): { js: Float64Array; cosine: Float64Array } {
  checkCount('m', m);
  checkCount('rows', rows);
  checkCount('cols', cols);
  const size = rows * cols;
  checkLength('maps', maps, m * size);
  // Row entropies (bits, as Σ p·log2 p, i.e. −H) and squared norms per map.
  const plogp = new Float64Array(m * rows);
  const norm2 = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    let n2 = 0;
    for (let i = 0; i < rows; i++) {
      const off = a * size + i * cols;
      let h = 0;
      for (let j = 0; j < cols; j++) {
        const v = maps[off + j];
        n2 += v * v;
        if (v > 0) h += v * Math.log2(v);
      }
      plogp[a * rows + i] = h;
    }
    norm2[a] = n2;
  }
  const js = new Float64Array(m * m);
  const cosine = new Float64Array(m * m);
  for (let a = 0; a < m; a++) {
    cosine[a * m + a] = norm2[a] > 0 ? 1 : 0;
    for (let b = a + 1; b < m; b++) {
      let jsSum = 0;
      let dot = 0;
      for (let i = 0; i < rows; i++) {
        const oa = a * size + i * cols;
        const ob = b * size + i * cols;
        let mlogm = 0; // Σ s·log2(s/2) with s = p + q, i.e. 2·Σ m·log2 m
        for (let j = 0; j < cols; j++) {
          const p = maps[oa + j];
          const q = maps[ob + j];
          dot += p * q;
          const s = p + q;
          if (s > 0) mlogm += s * Math.log2(0.5 * s);
        }
        // JS = ½Σp log p + ½Σq log q − Σ m log m
        const r = 0.5 * (plogp[a * rows + i] + plogp[b * rows + i]) - 0.5 * mlogm;
        jsSum += r < 0 ? 0 : r > 1 ? 1 : r;
      }
      const d = jsSum / rows;
      js[a * m + b] = d;
      js[b * m + a] = d;
      let c = norm2[a] > 0 && norm2[b] > 0 ? dot / (Math.sqrt(norm2[a]) * Math.sqrt(norm2[b])) : 0;
      c = c > 1 ? 1 : c < -1 ? -1 : c;
      cosine[a * m + b] = c;
      cosine[b * m + a] = c;
    }
  }
  return { js, cosine };
}

/**
 * Means over the query rows of one map [rows][cols], query row i sitting at absolute position pos0 + i
 * (pos0 = 0 for a full prefill map, where cols = rows). Needs cols ≥ pos0 + rows.
 *  entropy  = mean_i −Σ_j p·log2 p (bits)
 *  distance = mean_i Σ_j p_ij·((pos0 + i) − j) (tokens)
 *  sink     = mean_i p[i][0]
 *  local    = mean over rows with position ≥ 1 of p[i][pos − 1] (0 when there is no such row)
 *  self     = mean_i p[i][pos]
 */
export function mapStats(map: ArrayLike<number>, rows: number, cols: number, pos0 = 0): MapStats {
  checkCount('rows', rows);
  checkCount('cols', cols);
  checkCount('pos0', pos0, 0);
  checkLength('map', map, rows * cols);
  if (pos0 + rows > cols) throw new RangeError(`pos0 + rows (${pos0 + rows}) exceeds cols (${cols}): row i sits at position pos0 + i`);
  let entropy = 0;
  let distance = 0;
  let sink = 0;
  let local = 0;
  let localRows = 0;
  let self = 0;
  for (let i = 0; i < rows; i++) {
    const off = i * cols;
    const pos = pos0 + i;
    let h = 0;
    let dist = 0;
    for (let j = 0; j < cols; j++) {
      const p = map[off + j];
      if (p > 0) h -= p * Math.log2(p);
      dist += p * (pos - j);
    }
    entropy += h;
    distance += dist;
    sink += map[off];
    self += map[off + pos];
    if (pos >= 1) {
      local += map[off + pos - 1];
      localRows++;
    }
  }
  return {
    entropy: entropy / rows,
    distance: distance / rows,
    sink: sink / rows,
    local: localRows > 0 ? local / localRows : 0,
    self: self / rows,
  };
}

// The analysis math (src/shared/analysis) against hand-computed cases, scipy's conventions and
// invariants on seeded random inputs.
import { describe, expect, it } from 'vitest';
import { zooConfig } from '../../src/shared/arch/zoo';
import {
  asIsCost,
  averageLinkage,
  classicalMds,
  cosineFlat,
  cumulativeEnergy,
  energyRank,
  gramSingularValues,
  gtaCost,
  jsRow,
  mapStats,
  meanJs,
  similarityMatrices,
  singularValues,
  suggestGroups,
  symmetricEigenvalues,
} from '../../src/shared/analysis';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** m seeded random causal maps [m][T][T], rows summing to 1, never all zeros. */
function randomMaps(m: number, T: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(m * T * T);
  for (let a = 0; a < m; a++) {
    for (let i = 0; i < T; i++) {
      const off = (a * T + i) * T;
      let s = 0;
      for (let j = 0; j <= i; j++) {
        out[off + j] = 0.05 + rand();
        s += out[off + j];
      }
      for (let j = 0; j <= i; j++) out[off + j] /= s;
    }
  }
  return out;
}

/** Pairwise Euclidean distances of points (n×n row-major). */
function distances(points: number[][]): Float64Array {
  const n = points.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const p = points[i];
    for (let j = i + 1; j < n; j++) {
      const q = points[j];
      let s = 0;
      for (let k = 0; k < p.length; k++) s += (p[k] - q[k]) ** 2;
      d[i * n + j] = d[j * n + i] = Math.sqrt(s);
    }
  }
  return d;
}

/** Largest |embedded − input| distance over rows 0, stride, 2·stride, … against every column. */
function expectSameDistances(emb: [number, number][], d: ArrayLike<number>, tol: number, stride = 1): void {
  const n = emb.length;
  let worst = 0;
  for (let i = 0; i < n; i += stride) {
    for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(Math.hypot(emb[i][0] - emb[j][0], emb[i][1] - emb[j][1]) - d[i * n + j]));
  }
  expect(worst).toBeLessThan(tol);
}

describe('Jensen–Shannon divergence and cosine', () => {
  it('is 0 for identical rows and 1 for disjoint supports', () => {
    expect(jsRow([0.2, 0.3, 0.5], [0.2, 0.3, 0.5], 0, 3)).toBe(0);
    expect(jsRow([1, 0, 0], [0, 0.5, 0.5], 0, 3)).toBe(1);
    expect(jsRow([0.5, 0.5, 0, 0], [0, 0, 0.25, 0.75], 0, 4)).toBe(1);
  });

  it('matches the hand-computed JS([1, 0], [½, ½]) = 3/2 − ¾·log2 3 bits', () => {
    const expected = 1.5 - 0.75 * Math.log2(3); // ≈ 0.311278
    expect(jsRow([1, 0], [0.5, 0.5], 0, 2)).toBeCloseTo(expected, 14);
    expect(jsRow([0.5, 0.5], [1, 0], 0, 2)).toBeCloseTo(expected, 14); // symmetric
    expect(expected).toBeCloseTo(0.311278, 6);
  });

  it('reads rows at offsets of flat arrays (offQ defaults to off)', () => {
    const flat = [9, 9, 1, 0, 0.5, 0.5];
    expect(jsRow(flat, flat, 2, 2, 4)).toBeCloseTo(1.5 - 0.75 * Math.log2(3), 14);
    expect(jsRow(flat, [7, 7, 1, 0], 2, 2)).toBe(0);
    expect(() => jsRow(flat, flat, 5, 2)).toThrow(RangeError);
  });

  it('averages over rows with causal zeros', () => {
    const a = [1, 0, 0.5, 0.5];
    const b = [1, 0, 1, 0];
    expect(meanJs(a, b, 2, 2)).toBeCloseTo((1.5 - 0.75 * Math.log2(3)) / 2, 14);
    expect(meanJs(a, a, 2, 2)).toBe(0);
    expect(() => meanJs(a, b, 2, 3)).toThrow(/a has 4 values/);
    expect(() => meanJs(a, b, 0, 4)).toThrow(/rows/);
  });

  it('gives the cosine of flattened arrays, 0 for a zero norm', () => {
    expect(cosineFlat([1, 0], [0, 1])).toBe(0);
    expect(cosineFlat([1, 2], [2, 4])).toBeCloseTo(1, 15);
    expect(cosineFlat([1, 1], [1, 0])).toBeCloseTo(Math.SQRT1_2, 15);
    expect(cosineFlat([0, 0], [1, 0])).toBe(0);
    expect(() => cosineFlat([1, 2], [1])).toThrow(RangeError);
  });

  it('builds symmetric matrices that agree with meanJs and cosineFlat', () => {
    const m = 5;
    const T = 7;
    const maps = randomMaps(m, T, 11);
    const { js, cosine } = similarityMatrices(maps, m, T, T);
    const size = T * T;
    for (let a = 0; a < m; a++) {
      expect(js[a * m + a]).toBe(0);
      expect(cosine[a * m + a]).toBe(1);
      for (let b = 0; b < m; b++) {
        expect(js[a * m + b]).toBe(js[b * m + a]);
        expect(cosine[a * m + b]).toBe(cosine[b * m + a]);
        const A = maps.subarray(a * size, (a + 1) * size);
        const B = maps.subarray(b * size, (b + 1) * size);
        expect(js[a * m + b]).toBeCloseTo(meanJs(A, B, T, T), 12);
        expect(cosine[a * m + b]).toBeCloseTo(cosineFlat(A, B), 12);
        if (a !== b) expect(js[a * m + b]).toBeGreaterThan(0);
      }
    }
    expect(() => similarityMatrices(maps, m, T, T + 1)).toThrow(/maps has/);
  });
});

describe('mapStats', () => {
  // Row i attends to keys 0..i (causal):
  //   [1,    0,    0  ]   entropy 0,   distance 0
  //   [0.5,  0.5,  0  ]   entropy 1,   distance 0.5
  //   [0.25, 0.25, 0.5]   entropy 1.5, distance 0.25·2 + 0.25·1 = 0.75
  const map = [1, 0, 0, 0.5, 0.5, 0, 0.25, 0.25, 0.5];

  it('gives entropy, distance, sink, local and self of a hand-built 3×3 causal map', () => {
    const s = mapStats(map, 3, 3);
    expect(s.entropy).toBeCloseTo(2.5 / 3, 14);
    expect(s.distance).toBeCloseTo(1.25 / 3, 14);
    expect(s.sink).toBeCloseTo(1.75 / 3, 14);
    expect(s.local).toBeCloseTo((0.5 + 0.25) / 2, 14); // rows 1 and 2 only
    expect(s.self).toBeCloseTo(2 / 3, 14);
  });

  it('places row i at position pos0 + i', () => {
    const s = mapStats(map.slice(3), 2, 3, 1);
    expect(s.entropy).toBeCloseTo(1.25, 14);
    expect(s.distance).toBeCloseTo(0.625, 14);
    expect(s.sink).toBeCloseTo(0.375, 14);
    expect(s.local).toBeCloseTo(0.375, 14);
    expect(s.self).toBeCloseTo(0.5, 14);
    expect(mapStats([1], 1, 1).local).toBe(0); // no row with a previous token
    expect(() => mapStats(map, 3, 3, 1)).toThrow(/pos0 \+ rows/);
  });
});

describe('averageLinkage', () => {
  it('reproduces a hand-worked 4-point example (points 0, 1, 4, 10 on a line)', () => {
    // d(0,1) = 1 first; then d({0,1}, 2) = (4 + 3)/2 = 3.5; then d({0,1,2}, 3) = (10 + 9 + 6)/3 = 25/3.
    const x = [0, 1, 4, 10];
    const d = x.flatMap((a) => x.map((b) => Math.abs(a - b)));
    const { merges, order } = averageLinkage(d, 4);
    expect(merges).toEqual([
      { a: 0, b: 1, height: 1, size: 2 },
      { a: 2, b: 4, height: 3.5, size: 3 },
      { a: 3, b: 5, height: 25 / 3, size: 4 },
    ]);
    expect(order).toEqual([3, 2, 0, 1]); // scipy leaves_list
  });

  it("matches scipy's linkage(method='average') and leaves_list on a 5-point example", () => {
    // scipy 1.17: Z = [[0,3,2,2], [1,2,3,2], [4,6,4.5,3], [5,7,7.8333,5]], leaves_list = [0,3,4,1,2].
    // By hand: {0,3} at 2, {1,2} at 3, {4} ∪ {1,2} at (4 + 5)/2 = 4.5, then (5+8+9 + 6+10+9)/6 = 47/6.
    const d = [
      0, 9, 8, 2, 5,
      9, 0, 3, 10, 4,
      8, 3, 0, 9, 5,
      2, 10, 9, 0, 6,
      5, 4, 5, 6, 0,
    ];
    const { merges, order } = averageLinkage(d, 5);
    expect(merges.map((m) => [m.a, m.b, m.size])).toEqual([[0, 3, 2], [1, 2, 2], [4, 6, 3], [5, 7, 5]]);
    expect(merges.map((m) => m.height)).toEqual([2, 3, 4.5, 47 / 6]);
    expect(order).toEqual([0, 3, 4, 1, 2]);
  });

  it('breaks ties as scipy does, handles n = 1 and rejects bad input', () => {
    const { merges } = averageLinkage(new Float64Array(9).fill(1).map((v, i) => (i % 4 === 0 ? 0 : v)), 3);
    expect(merges[0]).toEqual({ a: 0, b: 1, height: 1, size: 2 });
    expect(merges[1]).toEqual({ a: 2, b: 3, height: 1, size: 3 });
    expect(averageLinkage([0], 1)).toEqual({ merges: [], order: [0] });
    expect(() => averageLinkage([0, 1, 1], 2)).toThrow(/dist has 3 values/);
    expect(() => averageLinkage([], 0)).toThrow(/n \(0\)/);
  });

  it('gives n − 1 monotone merges and a permutation as order on 512 random points, fast', () => {
    // Measured on the 2-core dev machine (nearest-neighbour chain, O(n²)): n = 512 ≈ 12 ms, n = 2000 ≈ 0.14 s,
    // n = 2000 with all distances equal ≈ 0.07 s. Cross-checked offline against scipy 1.17 on 40 random
    // matrices (n ≤ 61, half with integer distances full of ties): identical merges and leaves_list.
    const rand = mulberry32(7);
    const n = 512;
    const pts = Array.from({ length: n }, () => [rand(), rand(), rand()]);
    const d = distances(pts);
    const t0 = performance.now();
    const { merges, order } = averageLinkage(d, n);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(300);
    expect(merges).toHaveLength(n - 1);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (let i = 1; i < merges.length; i++) expect(merges[i].height).toBeGreaterThanOrEqual(merges[i - 1].height - 1e-12);
    expect(merges[n - 2].size).toBe(n);
    for (let i = 0; i < merges.length; i++) {
      expect(merges[i].a).toBeLessThan(merges[i].b);
      expect(merges[i].b).toBeLessThan(n + i);
    }
  });
});

describe('classicalMds', () => {
  it('recovers distances of points on a line and of a 3-4-5 triangle', () => {
    const line = [[0], [1], [3], [7], [7.5]];
    const dl = distances(line);
    expectSameDistances(classicalMds(dl, 5), dl, 1e-9);
    const tri = distances([[0, 0], [3, 0], [0, 4]]);
    expect(tri[1 * 3 + 2]).toBe(5);
    expectSameDistances(classicalMds(tri, 3), tri, 1e-9);
  });

  it('handles n = 1, n = 2 (±d/2 on the x axis) and a regular hexagon (repeated top eigenvalue)', () => {
    expect(classicalMds([0], 1)).toEqual([[0, 0]]);
    const two = classicalMds([0, 3, 3, 0], 2);
    expect(two[0][0]).toBeCloseTo(1.5, 12);
    expect(two[1][0]).toBeCloseTo(-1.5, 12);
    expect(Math.abs(two[0][1]) + Math.abs(two[1][1])).toBeLessThan(1e-12);
    const hex = Array.from({ length: 6 }, (_, k) => [Math.cos((k * Math.PI) / 3), Math.sin((k * Math.PI) / 3)]);
    const dh = distances(hex);
    expectSameDistances(classicalMds(dh, 6), dh, 1e-9);
  });

  it('is deterministic and sign-normalised', () => {
    const rand = mulberry32(3);
    const pts = Array.from({ length: 12 }, () => [rand() * 4, rand()]);
    const d = distances(pts);
    const a = classicalMds(d, 12);
    expect(classicalMds(d, 12)).toEqual(a);
    for (const axis of [0, 1]) {
      const col = a.map((p) => p[axis]);
      const big = col.reduce((b, v, i) => (Math.abs(v) > Math.abs(col[b]) ? i : b), 0);
      expect(col[big]).toBeGreaterThan(0);
    }
    expect(() => classicalMds([0, 1], 2)).toThrow(RangeError);
  });

  it('embeds 2000 planar points exactly and 2000 points in 5-D well, fast', () => {
    // Measured on the 2-core dev machine: n = 2000 planar ≈ 0.15 s, 5-D ≈ 0.08 s, 30-D ≈ 0.15 s, and a random
    // non-Euclidean matrix (no clear top pair: the basis runs to its 72-vector cap) ≈ 0.37 s.
    const rand = mulberry32(5);
    const n = 2000;
    const plane = distances(Array.from({ length: n }, () => [rand() * 10, rand() * 3]));
    let t0 = performance.now();
    const embPlane = classicalMds(plane, n);
    const msPlane = performance.now() - t0;
    expectSameDistances(embPlane, plane, 1e-7, 7);
    const five = distances(Array.from({ length: n }, () => [rand() * 10, rand() * 3, rand(), rand(), rand()]));
    t0 = performance.now();
    const emb5 = classicalMds(five, n);
    const ms5 = performance.now() - t0;
    expect(emb5).toHaveLength(n);
    // The 2-D embedding of 5-D points: the first axis spans the long direction (≈ 10 wide).
    const xs = emb5.map((p) => p[0]);
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(9);
    expect(msPlane).toBeLessThan(1500);
    expect(ms5).toBeLessThan(1500);
  });
});

describe('suggestGroups', () => {
  /** js from cluster labels: `inside` within a cluster, `across` between clusters. */
  function clusterJs(labels: number[], inside: number, across: number): Float64Array {
    const n = labels.length;
    const js = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) js[i * n + j] = i === j ? 0 : labels[i] === labels[j] ? inside : across;
    return js;
  }

  function expectValid(s: { groups: number[][]; medoids: number[]; maxJs: number }, js: ArrayLike<number>, n: number, tau: number): void {
    expect(s.groups.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (let k = 0; k < s.groups.length; k++) {
      const g = s.groups[k];
      expect([...g].sort((a, b) => a - b)).toEqual(g);
      if (k > 0) expect(g[0]).toBeGreaterThan(s.groups[k - 1][0]);
      expect(g).toContain(s.medoids[k]);
      for (const j of g) if (j !== s.medoids[k]) expect(js[s.medoids[k] * n + j]).toBeLessThanOrEqual(Math.min(tau, s.maxJs));
    }
  }

  it('finds two free groups for two clear clusters of real maps', () => {
    // Maps 0, 2, 5 look at the previous token; 1, 3, 4 at the first token; all with a little noise.
    const T = 8;
    const m = 6;
    const rand = mulberry32(21);
    const maps = new Float64Array(m * T * T);
    const kinds = [0, 1, 0, 1, 1, 0];
    for (let a = 0; a < m; a++) {
      for (let i = 0; i < T; i++) {
        const off = (a * T + i) * T;
        let s = 0;
        for (let j = 0; j <= i; j++) {
          const peak = kinds[a] === 0 ? j === Math.max(0, i - 1) : j === 0;
          maps[off + j] = (peak ? 1 : 0.02) + 0.01 * rand();
          s += maps[off + j];
        }
        for (let j = 0; j <= i; j++) maps[off + j] /= s;
      }
    }
    const { js } = similarityMatrices(maps, m, T, T);
    const s = suggestGroups(js, m, 0.1);
    expect(s.tau).toBe(0.1);
    expect(s.free.groups).toEqual([[0, 2, 5], [1, 3, 4]]);
    expect(s.free.maxJs).toBeLessThanOrEqual(0.1);
    expectValid(s.free, js, m, 0.1);
    // Contiguous halves [0,1,2] and [3,4,5] mix both kinds, so only one map per group fits.
    expect(s.contiguous?.groups).toHaveLength(6);
  });

  it('needs 4 contiguous groups where 2 free ones do', () => {
    const labels = [0, 0, 1, 1, 0, 0, 1, 1];
    const js = clusterJs(labels, 0.02, 0.5);
    const s = suggestGroups(js, 8, 0.1);
    expect(s.free.groups).toEqual([[0, 1, 4, 5], [2, 3, 6, 7]]);
    expect(s.free.medoids).toEqual([0, 2]);
    expect(s.free.maxJs).toBe(0.02);
    expect(s.contiguous).not.toBeNull();
    expect(s.contiguous?.groups).toEqual([[0, 1], [2, 3], [4, 5], [6, 7]]);
    expect(s.contiguous?.medoids).toEqual([0, 2, 4, 6]);
    expect(s.contiguous?.maxJs).toBe(0.02);
    // At a looser τ both collapse to one group.
    const loose = suggestGroups(js, 8, 0.5);
    expect(loose.free.groups).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(loose.contiguous?.groups).toHaveLength(1);
  });

  it('puts identical maps into one group at τ = 0, and each map alone when all differ', () => {
    const same = suggestGroups(new Float64Array(25), 5, 0);
    expect(same.free).toEqual({ groups: [[0, 1, 2, 3, 4]], medoids: [0], maxJs: 0 });
    expect(same.contiguous).toEqual({ groups: [[0, 1, 2, 3, 4]], medoids: [0], maxJs: 0 });
    const apart = suggestGroups(clusterJs([0, 1, 2], 0, 0.3), 3, 0);
    expect(apart.free.groups).toEqual([[0], [1], [2]]);
    expect(apart.contiguous?.groups).toEqual([[0], [1], [2]]);
    expect(suggestGroups([0], 1, 0.1).free).toEqual({ groups: [[0]], medoids: [0], maxJs: 0 });
  });

  it('is exact up to 20 maps and greedy above (a case where greedy needs one more group)', () => {
    // Stars a (0) with leaves 1–4 and b (5) with leaves 6–9, plus a hub h (10) close to a, 1–3 and 6–8.
    // h covers 8 maps, so greedy takes it first and still needs b and a: 3 groups; {a, b} covers all: 2.
    // Padding maps (far from everything) add one group each way.
    const gadget = (n: number): Float64Array => {
      const near = new Set(['0-1', '0-2', '0-3', '0-4', '5-6', '5-7', '5-8', '5-9', '10-0', '10-1', '10-2', '10-3', '10-6', '10-7', '10-8']);
      const js = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) js[i * n + j] = i === j ? 0 : near.has(`${i}-${j}`) || near.has(`${j}-${i}`) ? 0.05 : 0.5;
      }
      return js;
    };
    const exact = suggestGroups(gadget(20), 20, 0.1);
    expect(exact.free.groups).toHaveLength(2 + 9);
    expect(exact.free.groups.slice(0, 2)).toEqual([[0, 1, 2, 3, 4, 10], [5, 6, 7, 8, 9]]);
    expectValid(exact.free, gadget(20), 20, 0.1);
    const greedy = suggestGroups(gadget(21), 21, 0.1);
    expect(greedy.free.groups).toHaveLength(3 + 10);
    expectValid(greedy.free, gadget(21), 21, 0.1);
    expect(greedy.free.maxJs).toBe(0.05);
  });

  it('runs greedily on 1000 maps in reasonable time and rejects bad input', () => {
    const rand = mulberry32(9);
    const n = 1000;
    const labels = Array.from({ length: n }, () => Math.floor(rand() * 7));
    const js = clusterJs(labels, 0.01, 0.4);
    const s = suggestGroups(js, n, 0.05);
    expect(s.free.groups).toHaveLength(new Set(labels).size);
    expectValid(s.free, js, n, 0.05);
    expect(() => suggestGroups(js, n, Number.NaN)).toThrow(/tau/);
    expect(() => suggestGroups(js, n, -0.1)).toThrow(/tau/);
    expect(() => suggestGroups(js, n + 1, 0.1)).toThrow(/js has/);
    expect(() => suggestGroups([], 0, 0.1)).toThrow(/n \(0\)/);
  });
});

describe('gtaCost and asIsCost', () => {
  const N = 2048;

  it('reproduces GQA-1B as it is with 20 maps per layer, and GTA-style costs with fewer', () => {
    const c = zooConfig('GQA-1B'); // 54 layers, 20 heads, 5 KV heads of 64
    const asIs = asIsCost(c, N);
    expect(asIs).toEqual({ groups: 20 * 54, kvValuesPerTokenLayer: 640, attentionFlopsPerToken: 2 * 20 * 64 * N * 54 });
    expect(gtaCost(c, new Array(54).fill(20), N)).toEqual(asIs);
    // 5 maps: n_k = min(5, 5) = 5 keys and 5 latent groups of 64 — the same cache, a quarter of the attention.
    expect(gtaCost(c, new Array(54).fill(5), N)).toEqual({ groups: 270, kvValuesPerTokenLayer: 640, attentionFlopsPerToken: 5 * 128 * N * 54 });
    // 1 map: one key head and one latent group: 128 values.
    expect(gtaCost(c, new Array(54).fill(1), N)).toEqual({ groups: 54, kvValuesPerTokenLayer: 128, attentionFlopsPerToken: 128 * N * 54 });
    // Mixed layers: the cache is the mean over layers, the attention the sum.
    const mixed = [...new Array(27).fill(1), ...new Array(27).fill(20)];
    expect(gtaCost(c, mixed, N)).toEqual({ groups: 27 * 21, kvValuesPerTokenLayer: (128 + 640) / 2, attentionFlopsPerToken: 27 * (128 + 20 * 128) * N });
  });

  it('reproduces GTA-1B as it is with its 5 groups', () => {
    const c = zooConfig('GTA-1B');
    const asIs = asIsCost(c, N);
    expect(asIs).toEqual({ groups: 5 * 54, kvValuesPerTokenLayer: 192, attentionFlopsPerToken: 5 * (64 + 128) * N * 54 });
    expect(gtaCost(c, new Array(54).fill(5), N)).toEqual(asIs);
    expect(gtaCost(c, new Array(54).fill(1), N).attentionFlopsPerToken).toBe(192 * N * 54);
  });

  it('models MLA as one explicit key head of d_nope + d_rope and its latent as the value latent', () => {
    const c = zooConfig('PLM-1.8B'); // 32 layers, 16 heads, d_c 512, nope 128, rope 64
    expect(asIsCost(c, N)).toEqual({ groups: 16 * 32, kvValuesPerTokenLayer: 576, attentionFlopsPerToken: 16 * (64 + 256) * N * 32 });
    expect(gtaCost(c, new Array(32).fill(16), N)).toEqual({ groups: 512, kvValuesPerTokenLayer: 192 + 512, attentionFlopsPerToken: 16 * 704 * N * 32 });
    expect(gtaCost(c, new Array(32).fill(2), N).attentionFlopsPerToken).toBe(2 * 704 * N * 32);
  });

  it('rejects bad input', () => {
    const c = zooConfig('GTA-1B');
    expect(() => gtaCost(c, [5, 5], N)).toThrow(/groupsPerLayer has 2/);
    expect(() => gtaCost(c, new Array(54).fill(6), N)).toThrow(/groupsPerLayer\[0\]/);
    expect(() => gtaCost(c, new Array(54).fill(0), N)).toThrow(RangeError);
    expect(() => asIsCost(c, 0)).toThrow(/tokens/);
  });
});

describe('symmetricEigenvalues and singular values', () => {
  it('returns a diagonal matrix\'s entries, descending', () => {
    const a = new Float64Array(16);
    [3, -1, 7, 0.5].forEach((v, i) => (a[i * 4 + i] = v));
    expect(Array.from(symmetricEigenvalues(a, 4))).toEqual([7, 3, 0.5, -1]);
    expect(Array.from(symmetricEigenvalues(new Float64Array([2.5]), 1))).toEqual([2.5]);
  });

  it('solves the 3×3 tridiagonal [2 1 0; 1 2 1; 0 1 2]: 2 + √2, 2, 2 − √2', () => {
    const ev = symmetricEigenvalues(new Float64Array([2, 1, 0, 1, 2, 1, 0, 1, 2]), 3);
    expect(ev[0]).toBeCloseTo(2 + Math.SQRT2, 13);
    expect(ev[1]).toBeCloseTo(2, 13);
    expect(ev[2]).toBeCloseTo(2 - Math.SQRT2, 13);
    // a dense one: [4 1 2; 1 3 0; 2 0 5] has trace 12 and det 4·15 − 1·5 + 2·(−6) = 43
    const d = symmetricEigenvalues(new Float64Array([4, 1, 2, 1, 3, 0, 2, 0, 5]), 3);
    expect(d[0] + d[1] + d[2]).toBeCloseTo(12, 12);
    expect(d[0] * d[1] * d[2]).toBeCloseTo(43, 11);
  });

  it('keeps the trace, the Frobenius norm and trace(A³) of a random symmetric 50×50 matrix', () => {
    const n = 50;
    const rand = mulberry32(42);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rand() * 2 - 1;
    const ev = symmetricEigenvalues(a, n);
    let trace = 0;
    let frob = 0;
    let trace3 = 0;
    for (let i = 0; i < n; i++) {
      trace += a[i * n + i];
      for (let j = 0; j < n; j++) {
        frob += a[i * n + j] ** 2;
        for (let k = 0; k < n; k++) trace3 += a[i * n + j] * a[j * n + k] * a[k * n + i];
      }
    }
    expect(ev.reduce((s, l) => s + l, 0)).toBeCloseTo(trace, 10);
    expect(ev.reduce((s, l) => s + l * l, 0)).toBeCloseTo(frob, 9);
    expect(ev.reduce((s, l) => s + l ** 3, 0)).toBeCloseTo(trace3, 8);
    for (let i = 1; i < n; i++) expect(ev[i]).toBeLessThanOrEqual(ev[i - 1]);
    expect(() => symmetricEigenvalues(a, 49)).toThrow(/a has 2500 values/);
  });

  it('takes well under a second at n = 512', () => {
    // Measured on the 2-core dev machine: ≈ 0.15 s (n = 1024 ≈ 0.9 s).
    const n = 512;
    const rand = mulberry32(8);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = rand() - 0.5;
    const t0 = performance.now();
    const ev = symmetricEigenvalues(a, n);
    const ms = performance.now() - t0;
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i];
    expect(ev.reduce((s, l) => s + l, 0)).toBeCloseTo(trace, 8);
    expect(ms).toBeLessThan(1000);
  });

  it('finds the two singular values of a rank-2 matrix on both Gram sides', () => {
    // X = 3·u1·v1ᵀ + 2·u2·v2ᵀ with orthonormal u (40-D) and v (12-D): σ = 3, 2, then zeros.
    const rand = mulberry32(99);
    const orthonormalPair = (dim: number): [number[], number[]] => {
      const u = Array.from({ length: dim }, () => rand() - 0.5);
      const w = Array.from({ length: dim }, () => rand() - 0.5);
      const nu = Math.hypot(...u);
      const u1 = u.map((x) => x / nu);
      const c = w.reduce((s, x, i) => s + x * u1[i], 0);
      const w2 = w.map((x, i) => x - c * u1[i]);
      const nw = Math.hypot(...w2);
      return [u1, w2.map((x) => x / nw)];
    };
    const [u1, u2] = orthonormalPair(40);
    const [v1, v2] = orthonormalPair(12);
    const x = new Float64Array(40 * 12);
    const xt = new Float64Array(12 * 40);
    for (let r = 0; r < 40; r++) {
      for (let k = 0; k < 12; k++) {
        x[r * 12 + k] = 3 * u1[r] * v1[k] + 2 * u2[r] * v2[k];
        xt[k * 40 + r] = x[r * 12 + k];
      }
    }
    for (const s of [singularValues(x, 40, 12), singularValues(xt, 12, 40)]) {
      expect(s).toHaveLength(12);
      expect(s[0]).toBeCloseTo(3, 10);
      expect(s[1]).toBeCloseTo(2, 10);
      for (let k = 2; k < 12; k++) expect(s[k]).toBeLessThan(1e-6);
      expect(energyRank(s, 0.9)).toBe(2);
      expect(energyRank(s, 0.99)).toBe(2);
      const cum = cumulativeEnergy(s);
      expect(cum[0]).toBeCloseTo(9 / 13, 10);
      expect(cum[1]).toBeCloseTo(1, 10);
      expect(cum[11]).toBe(1);
    }
    // The same from a precomputed Gram matrix XᵀX.
    const g = new Float64Array(144);
    for (let a = 0; a < 12; a++) for (let b = 0; b < 12; b++) for (let r = 0; r < 40; r++) g[a * 12 + b] += x[r * 12 + a] * x[r * 12 + b];
    const sg = gramSingularValues(g, 12);
    expect(sg[0]).toBeCloseTo(3, 10);
    expect(sg[1]).toBeCloseTo(2, 10);
    expect(() => singularValues(x, 40, 13)).toThrow(/x has 480 values/);
  });

  it('handles energyRank and cumulativeEnergy edge cases', () => {
    expect(energyRank([0, 0, 0], 0.9)).toBe(0);
    expect(energyRank([], 0.9)).toBe(0);
    expect(energyRank([5, 1], 0)).toBe(0);
    expect(energyRank([1, 0, 0], 1)).toBe(1);
    expect(energyRank([1, 1, 1, 1], 0.5)).toBe(2);
    expect(energyRank([1, 1, 1, 1], 0.51)).toBe(3);
    expect(energyRank([1, 1, 1, 1], 1)).toBe(4);
    expect(() => energyRank([1], 1.5)).toThrow(/fraction/);
    expect(() => energyRank([1], Number.NaN)).toThrow(/fraction/);
    expect(cumulativeEnergy([0, 0])).toEqual([0, 0]);
    expect(cumulativeEnergy([])).toEqual([]);
    expect(cumulativeEnergy([1, 1])).toEqual([0.5, 1]);
  });
});

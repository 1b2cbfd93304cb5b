// The analysis reductions (stats, thumbnails, similarity, f16 pack, cross-layer rows) vs their float64
// twins (engine/analysis/reference.ts) on real probability rows: seeded random logits, causal softmax.
// Outputs start as NaN; sizes are odd and cross the kernels' 64-thread column strides; maps are fed
// in one chunk and in uneven chunks (rows indexed absolutely).
import { describe, expect, it } from 'vitest';
import { finishSimilarity, similarityRowsRef, statsRowsRef, thumbsRef } from '../../../src/main/engine/analysis/reference';
import { packedWidth, recordAnalysisPack } from '../../../src/main/engine/ops/analysis_pack';
import { crossRows, recordAnalysisRows } from '../../../src/main/engine/ops/analysis_rows';
import { pairTable, recordAnalysisSimilarity } from '../../../src/main/engine/ops/analysis_similarity';
import { recordAnalysisStats } from '../../../src/main/engine/ops/analysis_stats';
import { recordAnalysisThumbs } from '../../../src/main/engine/ops/analysis_thumbs';
import { f16ToF32 } from '../../../src/main/engine/ops/convert';
import { checked, gpuRuntime, poisonedF32, rng } from '../../helpers/gpu';

// f32 sums over ≤ 131 columns of values ≤ 1 (entropy ≤ 7 bits, distance ≤ 130 tokens): relative 2e-6
// is the f32 rounding of such sums with margin; stated per quantity below.
const REL = 1e-5;

/** [maps, T, T] causal softmax of random logits (spread 4 nats, so rows are neither flat nor one-hot). */
function randomMaps(maps: number, t: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(maps * t * t);
  for (let h = 0; h < maps; h++) {
    for (let i = 0; i < t; i++) {
      const row = Array.from({ length: i + 1 }, () => (r() * 2 - 1) * 4);
      const mx = Math.max(...row);
      const e = row.map((x) => Math.exp(x - mx));
      const s = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= i; j++) out[(h * t + i) * t + j] = e[j] / s;
    }
  }
  return out;
}

/** Rows pos0 .. pos0+n−1 of full maps as a chunk [maps, n, pos0+n]. */
function chunkOf(full: Float32Array, maps: number, t: number, pos0: number, n: number): Float32Array {
  const w = pos0 + n;
  const out = new Float32Array(maps * n * w);
  for (let h = 0; h < maps; h++) for (let r = 0; r < n; r++) out.set(full.subarray((h * t + pos0 + r) * t, (h * t + pos0 + r) * t + w), (h * n + r) * w);
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, abs: number, rel = 0): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const tol = abs + rel * Math.abs(want[i]);
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (tolerance ${tol})`);
  }
}

const CASES = [
  { name: 'one chunk, T 37', maps: 3, t: 37, splits: [37], side: 5 },
  { name: 'uneven chunks, T 131 (crosses 64-column strides)', maps: 4, t: 131, splits: [50, 64, 17], side: 9 },
  { name: 'single map, side = T', maps: 1, t: 23, splits: [7, 16], side: 23 },
];

describe.each(CASES)('analysis reductions: $name', ({ maps, t, splits, side }) => {
  it('stats, thumbnails (mean and max), similarity, f16 pack and cross-layer rows equal the float64 twins', async () => {
    const rt = await gpuRuntime();
    const full = randomMaps(maps, t, maps * 1000 + t);
    const pairs = (maps * (maps + 1)) / 2;
    const stats = poisonedF32(rt, maps * t * 5, 'stats');
    const thumbMean = poisonedF32(rt, maps * side * side, 'thumb-mean');
    const thumbMax = poisonedF32(rt, maps * side * side, 'thumb-max');
    const sim = poisonedF32(rt, t * pairs * 2, 'sim');
    const words = (maps * t * packedWidth(t)) / 2;
    const packed = rt.upload(new Uint32Array(words).fill(0x7e007e00), 'packed'); // f16 NaN pairs
    const R = 5;
    const rows = crossRows(t, R);
    const allMaps = maps + 2; // the layer's maps sit at map0 = 1 of a wider buffer
    const cross = poisonedF32(rt, allMaps * R * t, 'cross');
    const rowPos = rt.upload(Uint32Array.from(rows), 'row-pos');
    const pairBuf = rt.upload(pairTable(maps), 'pairs');
    const bufs: GPUBuffer[] = [];
    let pos0 = 0;
    for (const n of splits) {
      const probs = rt.upload(chunkOf(full, maps, t, pos0, n), 'probs');
      bufs.push(probs);
      const c = { maps, n, pos0, width: pos0 + n };
      await checked(rt, () => {
        recordAnalysisStats(rt, { probs, out: stats }, { ...c, total: t });
        recordAnalysisThumbs(rt, { probs, out: thumbMean }, { ...c, t, s: side, reduce: 'mean' });
        recordAnalysisThumbs(rt, { probs, out: thumbMax }, { ...c, t, s: side, reduce: 'max' });
        recordAnalysisSimilarity(rt, { probs, pairs: pairBuf, out: sim }, { maps, nRows: n, width: c.width, pos0, outRow0: pos0 });
        recordAnalysisPack(rt, { probs, out: packed }, { ...c, t });
        recordAnalysisRows(rt, { probs, rowPos, out: cross }, { ...c, t, r: R, map0: 1, allMaps });
      });
      pos0 += n;
    }
    const all = [...Array(t).keys()];
    // stats: entropy/distance relative 1e-5; the copied probabilities exactly.
    expectClose(await rt.readF32(stats, maps * t * 5), statsRowsRef(full, { maps, n: t, pos0: 0, width: t }), 1e-6, REL);
    // thumbnails: a mean over ≤ 15·15 entries, relative 1e-5; max exact.
    expectClose(await rt.readF32(thumbMean, maps * side * side), thumbsRef(full, maps, t, side, 'mean'), 1e-7, REL);
    expectClose(await rt.readF32(thumbMax, maps * side * side), thumbsRef(full, maps, t, side, 'max'), 0);
    // similarity per row: JS ≤ 1 bit summed over ≤ 131 terms, absolute 1e-6; dot relative 1e-5.
    const simGot = await rt.readF32(sim, t * pairs * 2);
    const simWant = similarityRowsRef(full, maps, t, t, all);
    for (let i = 0; i < simWant.length; i += 2) {
      expect(Math.abs(simGot[i] - simWant[i])).toBeLessThan(1e-6);
      expect(Math.abs(simGot[i + 1] - simWant[i + 1])).toBeLessThanOrEqual(1e-7 + REL * simWant[i + 1]);
    }
    const fin = finishSimilarity(simGot, maps, t);
    const finWant = finishSimilarity(simWant, maps, t);
    expectClose(fin.js, finWant.js, 1e-7);
    expectClose(fin.cosine, finWant.cosine, 1e-6);
    // f16 pack: the nearest f16 (relative 2^-11), zero beyond the causal limit and in the pad column.
    const half = new Uint16Array(await rt.read(packed, words * 4));
    const tp = packedWidth(t);
    for (let r = 0; r < maps * t; r++) {
      for (let j = 0; j < tp; j++) {
        const want = j < t ? full[r * t + j] : 0;
        const got = f16ToF32(half[r * tp + j]);
        if (!(Math.abs(got - want) <= want * 2 ** -11 + 6e-8)) throw new Error(`pack row ${r} col ${j}: ${got} vs ${want}`);
      }
    }
    // cross-layer rows: exact copies at maps 1 .. maps; maps 0 and maps+1 untouched (NaN).
    const x = await rt.readF32(cross, allMaps * R * t);
    for (let h = 0; h < allMaps; h++) {
      for (let k = 0; k < R; k++) {
        const got = x.subarray((h * R + k) * t, (h * R + k + 1) * t);
        if (h === 0 || h === maps + 1) expect(got.every(Number.isNaN)).toBe(true);
        else expect([...got]).toEqual([...full.subarray(((h - 1) * t + rows[k]) * t, ((h - 1) * t + rows[k] + 1) * t)]);
      }
    }
    // The similarity over stored rows (ROWS variant) equals the twin on those rows.
    const crossSim = poisonedF32(rt, R * ((allMaps * (allMaps + 1)) / 2) * 2, 'cross-sim');
    const inner = rt.buffer(maps * R * t * 4, 'inner');
    await checked(rt, () => {
      rt.copy(cross, R * t * 4, inner, 0, maps * R * t * 4);
    });
    const innerSim = poisonedF32(rt, R * pairs * 2, 'inner-sim');
    await checked(rt, () => recordAnalysisSimilarity(rt, { probs: inner, pairs: pairBuf, rowPos, out: innerSim }, { maps, nRows: R, width: t, pos0: 0, outRow0: 0 }));
    const innerHost = await rt.readF32(inner, maps * R * t);
    const wantRows = similarityRowsRef(innerHost, maps, R, t, rows);
    const gotRows = await rt.readF32(innerSim, R * pairs * 2);
    for (let i = 0; i < wantRows.length; i += 2) {
      expect(Math.abs(gotRows[i] - wantRows[i])).toBeLessThan(1e-6);
      expect(Math.abs(gotRows[i + 1] - wantRows[i + 1])).toBeLessThanOrEqual(1e-7 + REL * wantRows[i + 1]);
    }
    for (const b of [stats, thumbMean, thumbMax, sim, packed, cross, rowPos, pairBuf, crossSim, inner, innerSim, ...bufs]) b.destroy();
  });
});

it('pair table and identical maps: JS 0, cosine 1; disjoint support: JS 1 bit', () => {
  expect([...pairTable(3)].map((v) => [v >> 16, v & 0xffff])).toEqual([[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]]);
  // Two maps of 2 rows over 2 keys: row 1 of map 0 is [1, 0], of map 1 [0, 1].
  const p = Float64Array.from([1, 0, 1, 0, /* map 1 */ 1, 0, 0, 1]);
  const f = finishSimilarity(similarityRowsRef(p, 2, 2, 2, [0, 1]), 2, 2);
  expect(f.js[1]).toBeCloseTo(0.5, 12); // row 0 identical (0), row 1 disjoint (1 bit): mean 0.5
  expect(f.js[0]).toBe(0);
  expect(f.cosine[0]).toBeCloseTo(1, 12);
});

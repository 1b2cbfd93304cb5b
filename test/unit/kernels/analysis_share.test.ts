// The shared-map override and the per-row NLL vs their float64 twins. Override: real probability rows
// (random logits, causal softmax) of a chunk at pos0 > 0, values read from a cache through attention's
// views in f16 and f32 (GQA/GTA-like value heads at an offset in the row; MLA-like one latent head);
// non-target outputs must stay as they were; 'mean' of identical member rows equals 'medoid'.
import { describe, expect, it } from 'vitest';
import { nllRowsRef, shareRef } from '../../../src/main/engine/analysis/reference';
import { packKv, type KvFormat } from '../../../src/main/engine/ops/attn_common';
import { recordAnalysisNll } from '../../../src/main/engine/ops/analysis_nll';
import { mixTable, recordAnalysisShare, type ShareTarget } from '../../../src/main/engine/ops/analysis_share';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, rng, roundToF16 } from '../../helpers/gpu';

/** A chunk [maps, n, pos0+n] of causal softmax rows of random logits. */
function randomChunk(maps: number, n: number, pos0: number, seed: number): Float32Array {
  const r = rng(seed);
  const w = pos0 + n;
  const out = new Float32Array(maps * n * w);
  for (let h = 0; h < maps; h++) {
    for (let i = 0; i < n; i++) {
      const vis = pos0 + i + 1;
      const row = Array.from({ length: vis }, () => (r() * 2 - 1) * 3);
      const mx = Math.max(...row);
      const e = row.map((x) => Math.exp(x - mx));
      const s = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < vis; j++) out[(h * n + i) * w + j] = e[j] / s;
    }
  }
  return out;
}

interface Case {
  name: string;
  hq: number;
  hv: number;
  dv: number;
  n: number;
  pos0: number;
  row: number; // cache row width
  off: number; // value columns start
  targets: ShareTarget[];
}

const CASES: Case[] = [
  { name: 'GTA-like: 6 maps over 2 latent groups behind 4 key columns', hq: 6, hv: 2, dv: 8, n: 21, pos0: 5, row: 4 + 16, off: 4, targets: [{ map: 0, members: [2] }, { map: 1, members: [2] }, { map: 4, members: [3, 4, 5] }] },
  { name: 'MLA-like: one latent head, 70 wide (crosses 64-column chunks), 17 rows', hq: 4, hv: 1, dv: 70, n: 17, pos0: 40, row: 74, off: 0, targets: [{ map: 3, members: [0, 3] }, { map: 0, members: [0, 3] }] },
  { name: 'MHA: dv 64, one target', hq: 3, hv: 3, dv: 64, n: 33, pos0: 0, row: 192, off: 0, targets: [{ map: 1, members: [2] }] },
];

describe.each(CASES)('analysis_share: $name', (c) => {
  it.each(['f16', 'f32'] as KvFormat[])('%s cache: targets ← P_shared·V, others unchanged', async (kv) => {
    const rt = await gpuRuntime();
    const t = c.pos0 + c.n;
    const probs = randomChunk(c.hq, c.n, c.pos0, c.hq * 100 + c.n);
    let cacheVals = randomF32(t * c.row, c.dv + 7);
    if (kv === 'f16') cacheVals = roundToF16(cacheVals);
    // The twin reads V dense [t, hv, dv].
    const v = new Float64Array(t * c.hv * c.dv);
    for (let j = 0; j < t; j++) for (let h = 0; h < c.hv; h++) for (let d = 0; d < c.dv; d++) v[(j * c.hv + h) * c.dv + d] = cacheVals[j * c.row + c.off + h * c.dv + d];
    const before = randomF32(c.n * c.hq * c.dv, 99);
    const want = Float64Array.from(before);
    shareRef(want, probs, v, { n: c.n, t, hq: c.hq, hv: c.hv, dv: c.dv }, c.targets);
    const pBuf = rt.upload(probs, 'probs');
    const vBuf = rt.upload(packKv(cacheVals, kv), 'cache');
    const mix = rt.upload(mixTable(c.targets, c.hq), 'mix');
    const out = rt.upload(before, 'out');
    await checked(rt, () =>
      recordAnalysisShare(rt, { probs: pBuf, v: vBuf, mix, out }, { n: c.n, pos0: c.pos0, hq: c.hq, hv: c.hv, dv: c.dv, kv, vView: { row: c.row, head: c.dv, off: c.off }, targets: c.targets.length }),
    );
    const got = await rt.readF32(out, c.n * c.hq * c.dv);
    // f32 sums of ≤ 57 products of a probability and a value in [−1, 1]: 2e-6 absolute.
    expect(maxAbsErr(got, want)).toBeLessThan(2e-6);
    // Maps that are no target keep their bits.
    const isTarget = new Set(c.targets.map((g) => g.map));
    for (let i = 0; i < c.n; i++) for (let h = 0; h < c.hq; h++) if (!isTarget.has(h)) for (let d = 0; d < c.dv; d++) expect(got[(i * c.hq + h) * c.dv + d]).toBe(before[(i * c.hq + h) * c.dv + d]);
    for (const b of [pBuf, vBuf, mix, out]) b.destroy();
  });
});

it("'mean' of identical member rows equals 'medoid'", async () => {
  const rt = await gpuRuntime();
  const [hq, n, pos0, dv] = [3, 19, 3, 16];
  const t = pos0 + n;
  const one = randomChunk(1, n, pos0, 5);
  const probs = new Float32Array(hq * n * t);
  for (let h = 0; h < hq; h++) probs.set(one, h * n * t); // three identical maps
  const cache = roundToF16(randomF32(t * dv, 6));
  const run = async (targets: ShareTarget[]): Promise<Float32Array> => {
    const bufs = [rt.upload(probs, 'p'), rt.upload(packKv(cache, 'f16'), 'v'), rt.upload(mixTable(targets, hq), 'mix'), poisonedF32(rt, n * hq * dv, 'out')];
    await checked(rt, () => recordAnalysisShare(rt, { probs: bufs[0], v: bufs[1], mix: bufs[2], out: bufs[3] }, { n, pos0, hq, hv: 1, dv, kv: 'f16', targets: targets.length }));
    const got = await rt.readF32(bufs[3], n * hq * dv);
    for (const b of bufs) b.destroy();
    return got;
  };
  const all = [0, 1, 2];
  const mean = await run(all.map((m) => ({ map: m, members: all })));
  const medoid = await run(all.map((m) => ({ map: m, members: [1] })));
  // (x + x + x)·(1/3) differs from x by at most an f32 rounding: 1e-6 absolute on outputs ≤ 1.
  expect(maxAbsErr(mean, medoid)).toBeLessThan(1e-6);
});

describe('analysis_nll', () => {
  it.each([
    { m: 5, vocab: 300, pos0: 3, t: 8 }, // the text's last row inside the chunk; vocab crosses 256 lanes
    { m: 9, vocab: 61, pos0: 0, t: 20 },
  ])('rows of $m × $vocab logits at pos0 $pos0 of T $t', async (s) => {
    const rt = await gpuRuntime();
    const logits = randomF32(s.m * s.vocab, s.vocab + s.m, -6, 6);
    const r = rng(s.t);
    const ids = Array.from({ length: s.t }, () => Math.floor(r() * s.vocab));
    const lb = rt.upload(logits, 'logits');
    const ib = rt.upload(Uint32Array.from(ids), 'ids');
    const out = poisonedF32(rt, s.t, 'nll');
    await checked(rt, () => recordAnalysisNll(rt, { logits: lb, ids: ib, out }, s));
    const got = await rt.readF32(out, s.t);
    const want = nllRowsRef(logits, s.m, s.vocab, s.pos0, ids);
    // log-sum-exp in f32 over ≤ 300 terms of logits in [−6, 6]: 1e-5 absolute (nats).
    expect(maxAbsErr(got.subarray(s.pos0, s.pos0 + s.m), want)).toBeLessThan(1e-5);
    // Rows outside the chunk are untouched.
    for (let i = 0; i < s.t; i++) if (i < s.pos0 || i >= s.pos0 + s.m) expect(Number.isNaN(got[i])).toBe(true);
    for (const b of [lb, ib, out]) b.destroy();
  });
});

// attn_prefill and attn_append vs the float64 CPU reference: MHA, GQA, GTA-shaped (keys + latent with
// different head counts) and the probability tap. Sizes cross the kernel's tiles: 16 rows per workgroup,
// 16 keys per tile, 64-wide head-dim chunks.
import { describe, expect, it } from 'vitest';
import { attention, groupedAttention } from '../../../src/main/engine/cpu/attention';
import { packKv, type KvFormat } from '../../../src/main/engine/ops/attn_common';
import { recordAttnAppend } from '../../../src/main/engine/ops/attn_append';
import { recordAttnPrefill, type AttnShape } from '../../../src/main/engine/ops/attn_prefill';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, roundToF16 } from '../../helpers/gpu';

// With an f32 cache the kernel differs from float64 only by f32 rounding; with an f16 cache the
// reference reads the same f16-rounded K/V, so both tolerances bound f32 arithmetic (sums over ≤ 100 keys).
const TOL = 2e-5;

interface Case {
  name: string;
  n: number;
  pos0: number;
  hq: number;
  hk: number;
  hv?: number;
  dk: number;
  dv: number;
}

async function runCase(c: Case, kv: KvFormat, tap: boolean): Promise<void> {
  const rt = await gpuRuntime();
  const hv = c.hv ?? c.hk;
  const t = c.pos0 + c.n;
  const seed = c.n * 1000 + c.pos0 * 10 + c.dk;
  const q = randomF32(c.n * c.hq * c.dk, seed);
  // Values of the whole cache; the first pos0 rows are uploaded directly, the last n go through attn_append.
  let k = randomF32(t * c.hk * c.dk, seed + 1);
  let v = randomF32(t * hv * c.dv, seed + 2);
  if (kv === 'f16') {
    k = roundToF16(k);
    v = roundToF16(v);
  }
  const scale = 1 / Math.sqrt(c.dk);
  const shape: AttnShape = { n: c.n, pos0: c.pos0, hq: c.hq, hk: c.hk, hv, dk: c.dk, dv: c.dv, scale, kv };
  const kBuf = rt.upload(packKv(k.subarray(0, c.pos0 * c.hk * c.dk), kv), 'k');
  const vBuf = rt.upload(packKv(v.subarray(0, c.pos0 * hv * c.dv), kv), 'v');
  const kCache = rt.buffer(t * c.hk * c.dk * 4, 'k-cache');
  const vCache = rt.buffer(t * hv * c.dv * 4, 'v-cache');
  const kNew = rt.upload(k.subarray(c.pos0 * c.hk * c.dk), 'k-new');
  const vNew = rt.upload(v.subarray(c.pos0 * hv * c.dv), 'v-new');
  const qBuf = rt.upload(q, 'q');
  const out = poisonedF32(rt, c.n * c.hq * c.dv, 'out');
  const probs = tap ? poisonedF32(rt, c.hq * c.n * t, 'probs') : undefined;
  await checked(rt, () => {
    if (c.pos0 > 0) {
      rt.copy(kBuf, 0, kCache, 0, kBuf.size);
      rt.copy(vBuf, 0, vCache, 0, vBuf.size);
    }
    recordAttnAppend(rt, { src: kNew, cache: kCache }, { n: c.n, width: c.hk * c.dk, pos0: c.pos0, kv });
    recordAttnAppend(rt, { src: vNew, cache: vCache }, { n: c.n, width: hv * c.dv, pos0: c.pos0, kv });
    recordAttnPrefill(rt, { q: qBuf, k: kCache, v: vCache, out, probs }, shape);
  });
  const got = await rt.readF32(out, c.n * c.hq * c.dv);
  const wantProbs = tap ? new Float64Array(c.hq * c.n * t) : undefined;
  const want = groupedAttention(q, k, v, { n: c.n, t, hq: c.hq, hk: c.hk, hv, dk: c.dk, dv: c.dv, scale, pos0: c.pos0, probs: wantProbs });
  expect(maxAbsErr(got, want)).toBeLessThan(TOL);
  if (tap && probs && wantProbs) {
    const p = await rt.readF32(probs, c.hq * c.n * t);
    expect(maxAbsErr(p, wantProbs)).toBeLessThan(1e-6);
    for (let h = 0; h < c.hq; h++) {
      for (let i = 0; i < c.n; i++) {
        const row = p.subarray((h * c.n + i) * t, (h * c.n + i + 1) * t);
        let sum = 0;
        for (let j = 0; j < t; j++) {
          if (j > c.pos0 + i) expect(row[j]).toBe(0); // causal: nothing after the query's own position
          sum += row[j];
        }
        expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
      }
    }
  }
  for (const b of [kBuf, vBuf, kCache, vCache, kNew, vNew, qBuf, out, ...(probs ? [probs] : [])]) b.destroy();
}

// Head widths are shared between cases where the case is about something else (positions, head
// mapping), because each (dk, dv, format) is a pipeline that lavapipe compiles for many seconds.
const cases: Case[] = [
  { name: 'MHA n=1 at position 0', n: 1, pos0: 0, hq: 2, hk: 2, dk: 72, dv: 40 },
  { name: 'MHA n=3 after 7 cached tokens', n: 3, pos0: 7, hq: 3, hk: 3, dk: 72, dv: 40 },
  { name: 'GQA n=17, pos0=5 (dk 72 crosses a head-dim chunk)', n: 17, pos0: 5, hq: 4, hk: 2, dk: 72, dv: 40 },
  { name: 'GTA-shaped: 4 groups, 1 key head, 2 latent groups', n: 9, pos0: 14, hq: 4, hk: 1, hv: 2, dk: 72, dv: 40 },
];
const wide: Case = { name: 'MQA with dv 130 (3 value chunks)', n: 5, pos0: 19, hq: 3, hk: 1, dk: 64, dv: 130 };

describe('attn_prefill', () => {
  for (const kv of ['f32', 'f16'] as const) {
    for (const c of cases) it(`${c.name}, ${kv} cache`, () => runCase(c, kv, false));
  }
  it(`${wide.name}, f16 cache`, () => runCase(wide, 'f16', false));
  it('tap: probabilities match, rows sum to 1 and are causal (f16 cache)', () => runCase({ name: 'tap', n: 17, pos0: 3, hq: 2, hk: 1, dk: 72, dv: 40 }, 'f16', true));
  it('tap with f32 cache, GQA', () => runCase({ name: 'tap', n: 4, pos0: 30, hq: 4, hk: 2, dk: 72, dv: 40 }, 'f32', true));
  it('MHA reference is the grouped form with equal head counts', () => {
    const q = randomF32(2 * 2 * 4, 1);
    const k = randomF32(3 * 2 * 4, 2);
    const v = randomF32(3 * 2 * 4, 3);
    const o = { n: 2, t: 3, hq: 2, hk: 2, dk: 4, dv: 4, scale: 0.5, pos0: 1 };
    expect(maxAbsErr(attention(q, k, v, o), groupedAttention(q, k, v, { ...o, hv: 2 }))).toBe(0);
  });
});

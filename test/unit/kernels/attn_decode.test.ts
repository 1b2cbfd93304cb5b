// attn_decode (split-K flash decoding + combine) vs the float64 CPU reference. Sizes cross the kernels'
// tiles (32, 16, 8 or 4 rows) and the splits, splits hold 1 to 6 tiles (the next tile's loads are in
// flight while one is computed); head widths cross the value pairs a thread owns and split heads into
// blocks. The cache-view cases lay K and V out as the engine does:
// one buffer with rows [k heads ‖ v heads] (GQA, GTA), or values that are the first columns of the key
// rows (absorbed MLA's latent).
import { describe, expect, it } from 'vitest';
import { groupedAttention } from '../../../src/main/engine/cpu/attention';
import { packKv, type KvFormat } from '../../../src/main/engine/ops/attn_common';
import { attnDecodePlanKey, attnDecodeScratchBytes, recordAttnDecode, recordDecodeCombine, type AttnDecodeShape } from '../../../src/main/engine/ops/attn_decode';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, roundToF16 } from '../../helpers/gpu';

// f32 arithmetic against float64 (the f16 case compares with the same f16-rounded cache values).
const TOL = 2e-5;

interface Case {
  name: string;
  t: number;
  hq: number;
  hk: number;
  hv?: number;
  dk: number;
  dv: number;
  splitRows?: number;
  wide?: AttnDecodeShape['wide'];
}

async function runCase(c: Case, kv: KvFormat): Promise<void> {
  const rt = await gpuRuntime();
  const hv = c.hv ?? c.hk;
  const seed = c.t * 7 + c.dk + c.dv;
  const q = randomF32(c.hq * c.dk, seed, -2, 2);
  let k = randomF32(c.t * c.hk * c.dk, seed + 1);
  let v = randomF32(c.t * hv * c.dv, seed + 2);
  if (kv === 'f16') {
    k = roundToF16(k);
    v = roundToF16(v);
  }
  const shape: AttnDecodeShape = { t: c.t, hq: c.hq, hk: c.hk, hv, dk: c.dk, dv: c.dv, scale: 1 / Math.sqrt(c.dk), kv, splitRows: c.splitRows, wide: c.wide };
  const bufs = {
    q: rt.upload(q, 'q'),
    k: rt.upload(packKv(k, kv), 'k'),
    v: rt.upload(packKv(v, kv), 'v'),
    out: poisonedF32(rt, c.hq * c.dv, 'out'),
    scratch: poisonedF32(rt, attnDecodeScratchBytes(c.hq, c.dv) / 4, 'scratch'),
  };
  await checked(rt, () => recordAttnDecode(rt, bufs, shape));
  const got = await rt.readF32(bufs.out, c.hq * c.dv);
  const want = groupedAttention(q, k, v, { n: 1, t: c.t, hq: c.hq, hk: c.hk, hv, dk: c.dk, dv: c.dv, scale: shape.scale, pos0: c.t - 1 });
  expect(maxAbsErr(got, want)).toBeLessThan(TOL);
  for (const b of Object.values(bufs)) b.destroy();
}

// Widths repeat where a case is about positions or head mapping: each (dk, dv, heads per workgroup,
// format) is a pipeline that lavapipe compiles for many seconds.
const cases: Case[] = [
  { name: 'GQA t=1', t: 1, hq: 4, hk: 2, dk: 64, dv: 64 },
  { name: 'GQA t=33, one split, partial second tile', t: 33, hq: 4, hk: 2, dk: 64, dv: 64 },
  { name: 'GQA t=100 over 4 splits of 32 (last one partial)', t: 100, hq: 4, hk: 2, dk: 64, dv: 64, splitRows: 32 },
  { name: 'GQA t=300, default split plan', t: 300, hq: 6, hk: 3, dk: 64, dv: 64 },
  { name: 'GTA-1B shaped: 5 groups, 1 key head, dk 64, dv 128', t: 77, hq: 5, hk: 1, dk: 64, dv: 128, splitRows: 64 },
  { name: 'GTA with latent groups ≠ key heads (hq 4, hk 2, hv 1)', t: 50, hq: 4, hk: 2, hv: 1, dk: 64, dv: 64, splitRows: 40 },
  { name: 'dk 72 crosses a head-dim chunk, dv 40', t: 65, hq: 3, hk: 3, dk: 72, dv: 40, splitRows: 32 },
];
// The widest values (MLA's 512: 8 value chunks, heads in blocks of ≤ 8) compile slowly on
// lavapipe, so only the f16 layout runs it; the cache format changes nothing but the load.
const wide: Case = { name: 'dv 512 (8 value chunks, 2 head units of 5)', t: 37, hq: 10, hk: 2, dk: 32, dv: 512, splitRows: 32 };

// One key/value head for all query heads with values ≥ 256 wide take attn_decode_mqa_wide: absorbed
// MLA's shape (16 heads, 576/512) over several splits with a partial last tile, and odd widths whose
// lanes run past dk and dv (clamped loads, zero queries) in the f32 layout with the default split plan;
// heads in workgroup blocks (8 slots: 10 heads leave the second block partial) over a tile whose rows
// end in half an entry (dk 102: 25.5 entries of 4).
const mqaWide: Case[] = [
  { name: 'wide MQA, PLM shape: 16 heads, dk 576, dv 512, 3 splits', t: 70, hq: 16, hk: 1, dk: 576, dv: 512, splitRows: 32 },
  { name: 'wide MQA, 3 heads, dk 100, dv 260, default splits', t: 300, hq: 3, hk: 1, dk: 100, dv: 260 },
  { name: 'wide MQA, 10 heads in blocks of 8, dk 102, dv 258, splits of 16', t: 41, hq: 10, hk: 1, dk: 102, dv: 258, splitRows: 16, wide: { headSlots: 8 } },
];

interface ViewCase extends Case {
  /** 'split': rows [k (hk·dk) ‖ v (hv·dv)] in one buffer; 'prefix': values = the first dv columns of the key rows. */
  layout: 'split' | 'prefix';
}

async function runViewCase(c: ViewCase, kv: KvFormat): Promise<void> {
  const rt = await gpuRuntime();
  const hv = c.hv ?? c.hk;
  const seed = c.t * 11 + c.dk + 3 * c.dv;
  const q = randomF32(c.hq * c.dk, seed, -2, 2);
  let k = randomF32(c.t * c.hk * c.dk, seed + 1);
  if (kv === 'f16') k = roundToF16(k);
  let v: Float32Array;
  let rows: Float32Array;
  let views: Pick<AttnDecodeShape, 'kView' | 'vView'>;
  if (c.layout === 'prefix') {
    v = new Float32Array(c.t * c.dv);
    for (let j = 0; j < c.t; j++) v.set(k.subarray(j * c.dk, j * c.dk + c.dv), j * c.dv);
    rows = k;
    views = { kView: { row: c.dk, head: 0 }, vView: { row: c.dk, head: 0 } };
  } else {
    v = randomF32(c.t * hv * c.dv, seed + 2);
    if (kv === 'f16') v = roundToF16(v);
    const kr = c.hk * c.dk;
    const row = kr + hv * c.dv;
    rows = new Float32Array(c.t * row);
    for (let j = 0; j < c.t; j++) {
      rows.set(k.subarray(j * kr, (j + 1) * kr), j * row);
      rows.set(v.subarray(j * hv * c.dv, (j + 1) * hv * c.dv), j * row + kr);
    }
    views = { kView: { row }, vView: { row, off: kr } };
  }
  const shape: AttnDecodeShape = { t: c.t, hq: c.hq, hk: c.hk, hv, dk: c.dk, dv: c.dv, scale: 1 / Math.sqrt(c.dk), kv, splitRows: c.splitRows, wide: c.wide, ...views };
  const cache = rt.upload(packKv(rows, kv), 'kv');
  const bufs = {
    q: rt.upload(q, 'q'),
    k: cache,
    v: cache,
    out: poisonedF32(rt, c.hq * c.dv, 'out'),
    scratch: poisonedF32(rt, attnDecodeScratchBytes(c.hq, c.dv) / 4, 'scratch'),
  };
  await checked(rt, () => recordAttnDecode(rt, bufs, shape));
  const got = await rt.readF32(bufs.out, c.hq * c.dv);
  const want = groupedAttention(q, k, v, { n: 1, t: c.t, hq: c.hq, hk: c.hk, hv, dk: c.dk, dv: c.dv, scale: shape.scale, pos0: c.t - 1 });
  expect(maxAbsErr(got, want)).toBeLessThan(TOL);
  for (const b of [bufs.q, cache, bufs.out, bufs.scratch]) b.destroy();
}

// Engine layouts: GQA-1B's rows (5 key/value heads of 64, here 2), GTA-1B's [k 64 ‖ latent 128], PLM's
// latent rows (576-wide keys whose first 512 columns are the values) and a wide value head stored after
// its key in the same row (not a prefix: staged separately).
const viewCases: ViewCase[] = [
  { name: 'GQA rows [k ‖ v], t=151 over splits of 3 tiles (last one 23 rows)', layout: 'split', t: 151, hq: 8, hk: 2, dk: 64, dv: 64, splitRows: 96 },
  { name: 'GTA rows [k 64 ‖ c 128], t=203, splits of 4 tiles of 16', layout: 'split', t: 203, hq: 5, hk: 1, dk: 64, dv: 128, splitRows: 64 },
  { name: 'GQA rows [k ‖ v], t=1000, default split plan', layout: 'split', t: 1000, hq: 4, hk: 2, dk: 64, dv: 64 },
  { name: 'wide MQA, PLM latent rows (values = first 512 of 576), t=45 in one split of 6 tiles', layout: 'prefix', t: 45, hq: 16, hk: 1, dk: 576, dv: 512, splitRows: 48 },
  { name: 'wide MQA, [k 256 ‖ v 256] rows, 4 heads, t=37 over splits of 16', layout: 'split', t: 37, hq: 4, hk: 1, dk: 256, dv: 256, splitRows: 16 },
  // The other wide variants on PLM's rows: blocks of 8 heads (four row groups in the scores), of 4 heads
  // (eight row groups: one row each).
  { name: 'wide MQA, PLM latent rows, blocks of 8 heads, t=61 over splits of 32', layout: 'prefix', t: 61, hq: 16, hk: 1, dk: 576, dv: 512, splitRows: 32, wide: { headSlots: 8 } },
  { name: 'wide MQA, PLM latent rows, blocks of 4 heads, t=29 over splits of 16', layout: 'prefix', t: 29, hq: 16, hk: 1, dk: 576, dv: 512, splitRows: 16, wide: { headSlots: 4 } },
];

describe('attn_decode', () => {
  // Every shape with the f16 cache (the engine's default); the f32 layout differs only in the load, so it
  // runs on the shapes that cross splits and chunks, sparing lavapipe a pipeline compile per case.
  for (const c of cases) it(`${c.name}, f16 cache`, () => runCase(c, 'f16'));
  for (const c of cases.filter((x) => x.splitRows !== undefined)) it(`${c.name}, f32 cache`, () => runCase(c, 'f32'));
  it(`${wide.name}, f16 cache`, () => runCase(wide, 'f16'));
  it(`${mqaWide[0].name}, f16 cache`, () => runCase(mqaWide[0], 'f16'));
  it(`${mqaWide[1].name}, f32 cache`, () => runCase(mqaWide[1], 'f32'));
  it(`${mqaWide[2].name}, f16 cache`, () => runCase(mqaWide[2], 'f16'));
  it(`${viewCases[0].name}, f16 cache`, () => runViewCase(viewCases[0], 'f16'));
  it(`${viewCases[0].name}, f32 cache`, () => runViewCase(viewCases[0], 'f32'));
  it(`${viewCases[1].name}, f16 cache`, () => runViewCase(viewCases[1], 'f16'));
  it(`${viewCases[2].name}, f16 cache`, () => runViewCase(viewCases[2], 'f16'));
  it(`${viewCases[3].name}, f16 cache`, () => runViewCase(viewCases[3], 'f16'));
  it(`${viewCases[3].name}, f32 cache`, () => runViewCase(viewCases[3], 'f32'));
  it(`${viewCases[4].name}, f16 cache`, () => runViewCase(viewCases[4], 'f16'));
  it(`${viewCases[5].name}, f16 cache`, () => runViewCase(viewCases[5], 'f16'));
  it(`${viewCases[6].name}, f16 cache`, () => runViewCase(viewCases[6], 'f16'));
});

// Decode replay (src/main/engine/arch/replay.ts) re-issues a captured step for the following positions of
// a bucket of 16: every dispatch of the attention must depend on t only through ceil(t / 16).
describe('attn_decode plan', () => {
  const shapes: [string, Omit<AttnDecodeShape, 't'>][] = [
    ['GQA-1B (20 q / 5 kv heads, 64)', { hq: 20, hk: 5, hv: 5, dk: 64, dv: 64, scale: 0.125, kv: 'f16', kView: { row: 640 }, vView: { row: 640, off: 320 } }],
    ['GTA-1B (5 groups, keys 64, latent 128)', { hq: 5, hk: 1, hv: 1, dk: 64, dv: 128, scale: 0.125, kv: 'f16', kView: { row: 192 }, vView: { row: 192, off: 64 } }],
    ['PLM-1.8B absorbed MLA (16 heads, 576 / 512)', { hq: 16, hk: 1, hv: 1, dk: 576, dv: 512, scale: 0.07, kv: 'f16', kView: { row: 576 }, vView: { row: 576 } }],
  ];
  for (const [name, shape] of shapes) {
    it(`${name}: one plan per bucket of 16 positions`, async () => {
      const rt = await gpuRuntime();
      const ts = [...Array.from({ length: 600 }, (_, i) => 1 + i), ...Array.from({ length: 64 }, (_, i) => 8160 + i), 65535];
      for (const t of ts) {
        expect(attnDecodePlanKey(rt, { ...shape, t }), `t = ${t}`).toBe(attnDecodePlanKey(rt, { ...shape, t: Math.ceil(t / 16) * 16 }));
      }
      // The plan does change with the context (more splits), so the check above is not vacuous.
      expect(attnDecodePlanKey(rt, { ...shape, t: 100 })).not.toBe(attnDecodePlanKey(rt, { ...shape, t: 8000 }));
    });
  }
});

// The merge alone, on random partials in both layouts: f32 (o unnormalised, then (m, l) pairs: the
// CUDA-core split kernels) and f16 (o/l, then 16-byte (m, l, 0, 0) entries: attn_decode_mla_mma, which
// runs only on adapters with subgroup matrices, so its merge is checked here on its own).
describe('attn_decode_combine', () => {
  const cases = [
    { splits: 1, hq: 3, dv: 48 },
    { splits: 7, hq: 5, dv: 136 }, // a partial last column block
    { splits: 37, hq: 16, dv: 512 }, // the loop's tail (37 = 32 + 5)
    { splits: 256, hq: 2, dv: 64 }, // the most splits
  ];
  for (const c of cases) {
    for (const o16 of [false, true]) {
      it(`${c.splits} splits, ${c.hq} heads × ${c.dv}, ${o16 ? 'f16 normalised' : 'f32'} partials`, async () => {
        const rt = await gpuRuntime();
        const { splits: S, hq: H, dv: D } = c;
        const seed = S * 31 + H * 7 + D + (o16 ? 1 : 0);
        const m = randomF32(S * H, seed, -6, 6);
        const l = randomF32(S * H, seed + 1, 1, 40);
        let o = randomF32(S * H * D, seed + 2, -3, 3); // o/l (o16) or o (f32)
        let words: Uint32Array;
        if (o16) {
          o = roundToF16(o);
          const oWords = packKv(o, 'f16'); // [S, H, D] f16 pairs
          words = new Uint32Array(oWords.length + S * H * 4);
          words.set(oWords);
          const f = new Float32Array(words.buffer, oWords.length * 4);
          for (let i = 0; i < S * H; i++) {
            f[4 * i] = m[i];
            f[4 * i + 1] = l[i];
          }
        } else {
          const f = new Float32Array(S * H * D + 2 * S * H);
          f.set(o);
          for (let i = 0; i < S * H; i++) {
            f[S * H * D + 2 * i] = m[i];
            f[S * H * D + 2 * i + 1] = l[i];
          }
          words = new Uint32Array(f.buffer);
        }
        const scratch = rt.upload(words, 'scratch');
        const out = poisonedF32(rt, H * D, 'out');
        await checked(rt, () => recordDecodeCombine(rt, { scratch, out }, { splits: S, hq: H, dv: D, o16 }));
        const got = await rt.readF32(out, H * D);
        const want = new Float64Array(H * D);
        for (let h = 0; h < H; h++) {
          let M = -Infinity;
          for (let s = 0; s < S; s++) M = Math.max(M, m[s * H + h]);
          let den = 0;
          for (let s = 0; s < S; s++) den += Math.exp(m[s * H + h] - M) * l[s * H + h];
          for (let d = 0; d < D; d++) {
            let num = 0;
            for (let s = 0; s < S; s++) {
              const w = Math.exp(m[s * H + h] - M) * (o16 ? l[s * H + h] : 1);
              num += w * o[(s * H + h) * D + d];
            }
            want[h * D + d] = num / den;
          }
        }
        expect(maxAbsErr(got, want)).toBeLessThan(1e-5);
      });
    }
  }
  it('refuses more splits than its weight table holds, and f16 widths not divisible by 8', async () => {
    const rt = await gpuRuntime();
    const bufs = { scratch: rt.buffer(64, 's'), out: rt.buffer(64, 'o') };
    expect(() => recordDecodeCombine(rt, bufs, { splits: 257, hq: 1, dv: 8, o16: true })).toThrow(/1 to 256 splits/);
    expect(() => recordDecodeCombine(rt, bufs, { splits: 2, hq: 1, dv: 12, o16: true })).toThrow(/divisible by 8/);
  });
});

// attn_decode (split-K flash decoding + combine) vs the float64 CPU reference. Sizes cross the kernel's
// 32-key tiles and the splits; head widths cross the 64-column value chunks and split heads into blocks.
import { describe, expect, it } from 'vitest';
import { groupedAttention } from '../../../src/main/engine/cpu/attention';
import { packKv, type KvFormat } from '../../../src/main/engine/ops/attn_common';
import { attnDecodeScratchBytes, recordAttnDecode, type AttnDecodeShape } from '../../../src/main/engine/ops/attn_decode';
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
  const shape: AttnDecodeShape = { t: c.t, hq: c.hq, hk: c.hk, hv, dk: c.dk, dv: c.dv, scale: 1 / Math.sqrt(c.dk), kv, splitRows: c.splitRows };
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
// lanes run past dk and dv (clamped loads, zero queries) in the f32 layout with the default split plan.
const mqaWide: Case[] = [
  { name: 'wide MQA, PLM shape: 16 heads, dk 576, dv 512, 3 splits', t: 70, hq: 16, hk: 1, dk: 576, dv: 512, splitRows: 32 },
  { name: 'wide MQA, 3 heads, dk 100, dv 260, default splits', t: 300, hq: 3, hk: 1, dk: 100, dv: 260 },
];

describe('attn_decode', () => {
  // Every shape with the f16 cache (the engine's default); the f32 layout differs only in the load, so it
  // runs on the shapes that cross splits and chunks, sparing lavapipe a pipeline compile per case.
  for (const c of cases) it(`${c.name}, f16 cache`, () => runCase(c, 'f16'));
  for (const c of cases.filter((x) => x.splitRows !== undefined)) it(`${c.name}, f32 cache`, () => runCase(c, 'f32'));
  it(`${wide.name}, f16 cache`, () => runCase(wide, 'f16'));
  it(`${mqaWide[0].name}, f16 cache`, () => runCase(mqaWide[0], 'f16'));
  it(`${mqaWide[1].name}, f32 cache`, () => runCase(mqaWide[1], 'f32'));
});

// GTA: attn_gta_decode_v (value decoder + sigmoid gate) against the CPU reference, and the key property:
// attention with shared maps over keys + latent (attn_prefill / attn_decode with hk = n_k, hv = n_c, then
// attn_gta_decode_v) equals the expanded form, where each of the H/d_h heads attends with its group's
// query and key head over its own per-token value, decoded from the latent before attending.
import { describe, expect, it } from 'vitest';
import { attention, gtaDecodeValues, sigmoid } from '../../../src/main/engine/cpu/attention';
import { packKv, type KvFormat } from '../../../src/main/engine/ops/attn_common';
import { attnDecodeScratchBytes, recordAttnDecode } from '../../../src/main/engine/ops/attn_decode';
import { recordGtaDecodeV, recordGtaDecodeVSplit, type GtaDecodeVShape } from '../../../src/main/engine/ops/attn_gta_decode_v';
import type { ColumnSplit } from '../../../src/main/engine/ops/attn_mla_absorb_q';
import { recordAttnPrefill } from '../../../src/main/engine/ops/attn_prefill';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

interface Gta {
  nq: number; // query groups
  nk: number; // key heads
  nc: number; // latent groups
  dk: number; // query/key dim
  dl: number; // latent (value) dim
  e: number;
  dh: number; // head_dim of the expanded heads (H / n_heads)
}
const gta1b: Gta = { nq: 5, nk: 1, nc: 1, dk: 64, dl: 128, e: 2, dh: 64 }; // GTA-1B
const multi: Gta = { nq: 4, nk: 2, nc: 4, dk: 64, dl: 128, e: 3, dh: 96 }; // several key heads and latent groups, e = 3

function vbWeights(g: Gta, f16: boolean, seed: number): Float32Array {
  const w = randomF32(g.nq * g.dl * g.e * g.dl, seed, -0.3, 0.3);
  return f16 ? roundToF16(w) : w;
}

describe('attn_gta_decode_v', () => {
  for (const wF16 of [true, false]) {
    for (const n of [1, 3, 17]) {
      it(`n=${n}, GTA-1B widths, ${wF16 ? 'f16' : 'f32'} weights`, async () => {
        const rt = await gpuRuntime();
        const g = gta1b;
        const H = g.nq * g.e * g.dl;
        const s: GtaDecodeVShape = { n, nq: g.nq, dl: g.dl, e: g.e, wF16 };
        const w = vbWeights(g, wF16, 40 + n);
        const a = randomF32(n * g.nq * g.dl, 41 + n);
        const gate = randomF32(n * H, 42 + n, -4, 4);
        const bufs = { a: rt.upload(a, 'a'), w: rt.upload(packKv(w, wF16 ? 'f16' : 'f32'), 'v_b_proj'), gate: rt.upload(gate, 'gate'), out: poisonedF32(rt, n * H, 'out') };
        await checked(rt, () => recordGtaDecodeV(rt, bufs, s));
        const got = await rt.readF32(bufs.out, n * H);
        // 128-term f32 dot products of values ≤ 1 × 0.3
        expect(maxAbsErr(got, gtaDecodeValues(a, w, gate, s))).toBeLessThan(1e-5);
        for (const b of Object.values(bufs)) b.destroy();
      });
    }
  }
});

/**
 * The decoder on random inputs with its gate inside wider rows (stride, offset: as in the fused qkcg
 * projection), against the CPU reference on the gate gathered dense.
 */
async function decodeVCase(s: GtaDecodeVShape, seed: number, gateAt: { stride: number; offset: number }, split?: ColumnSplit | 'tokens'): Promise<void> {
  const rt = await gpuRuntime();
  const H = s.nq * s.e * s.dl;
  const w = randomF32(s.nq * s.dl * s.e * s.dl, seed, -0.3, 0.3);
  const wk = s.wF16 ? roundToF16(w) : w;
  const a = randomF32(s.n * s.nq * s.dl, seed + 1);
  const rows = randomF32(s.n * gateAt.stride, seed + 2, -4, 4);
  const gate = new Float32Array(s.n * H);
  for (let t = 0; t < s.n; t++) gate.set(rows.subarray(t * gateAt.stride + gateAt.offset, t * gateAt.stride + gateAt.offset + H), t * H);
  const bufs = { a: rt.upload(a, 'a'), w: rt.upload(packKv(wk, s.wF16 ? 'f16' : 'f32'), 'v_b_proj'), gate: rt.upload(rows, 'qkcg'), out: poisonedF32(rt, s.n * H, 'out') };
  await checked(rt, () => (split ? recordGtaDecodeVSplit(rt, bufs, s, gateAt, split) : recordGtaDecodeV(rt, bufs, s, gateAt)));
  const got = await rt.readF32(bufs.out, s.n * H);
  expect(maxAbsErr(got, gtaDecodeValues(a, wk, gate, s))).toBeLessThan(1e-5);
  for (const b of Object.values(bufs)) b.destroy();
}

// Decode (n = 1) and prefill (n > 1) take different kernels (`main`, `main_tokens`); these cover the
// dispatch variants:
// element-wise loads (e·d_l % 4 ≠ 0, partial last column group), the row loop unrolled (the hardware
// default) or not (the lavapipe default), splits whose slices do not divide d_l, padding tokens past n.
describe('attn_gta_decode_v work splits, gate inside wider rows', () => {
  const gtaRow = { stride: 1792, offset: 512 }; // GTA-1B: [q ‖ k ‖ c] is 512 wide, then the 1280 gate values
  for (const wF16 of [true, false]) {
    const dt = wF16 ? 'f16' : 'f32';
    for (const n of [1, 6]) {
      it(`d_l 13, e 2 (element loads): n=${n}, ${dt}`, () => decodeVCase({ n, nq: 3, dl: 13, e: 2, wF16 }, 60 + n, { stride: 3 * 26 + 9, offset: 5 }));
      it(`GTA-1B, default split: n=${n}, ${dt}`, () => decodeVCase({ n, nq: 5, dl: 128, e: 2, wF16 }, 70 + n, gtaRow));
    }
    it(`GTA-1B, default past 32 tokens (main_tokens): n=37, ${dt}`, () => decodeVCase({ n: 37, nq: 5, dl: 128, e: 2, wF16 }, 79, gtaRow));
    it(`GTA-1B, rows unrolled, decode split: n=1, ${dt}`, () => decodeVCase({ n: 1, nq: 5, dl: 128, e: 2, wF16 }, 80, gtaRow, { rs: 64, co: 2, nt: 1, unroll: true }));
    it(`e 3, rows unrolled, 5 slices × 3 column groups, 3 tokens per workgroup: n=7, ${dt}`, () =>
      decodeVCase({ n: 7, nq: 2, dl: 24, e: 3, wF16 }, 81, { stride: 2 * 72 + 3, offset: 3 }, { rs: 5, co: 3, nt: 3, unroll: true }));
    it(`d_l 13, 4 slices × 16 column groups, 4 tokens per workgroup: n=6, ${dt}`, () =>
      decodeVCase({ n: 6, nq: 3, dl: 13, e: 2, wF16 }, 84, { stride: 78, offset: 0 }, { rs: 4, co: 16, nt: 4 }));
    it(`prefill entry (main_tokens), e 3: n=9, ${dt}`, () => decodeVCase({ n: 9, nq: 2, dl: 24, e: 3, wF16 }, 85, { stride: 2 * 72 + 3, offset: 3 }, 'tokens'));
    it(`prefill entry (main_tokens) for one token: n=1, ${dt}`, () => decodeVCase({ n: 1, nq: 3, dl: 13, e: 2, wF16 }, 86, { stride: 80, offset: 2 }, 'tokens'));
    it(`d_l 13, rows unrolled, 16 slices: n=2, ${dt}`, () => decodeVCase({ n: 2, nq: 3, dl: 13, e: 2, wF16 }, 82, { stride: 78, offset: 0 }, { rs: 16, co: 2, nt: 2, unroll: true }));
  }
});

/** The expanded per-head form, independent of gtaDecodeValues: decode values per token, then attend. */
function expandedReference(g: Gta, q: Float32Array, k: Float32Array, c: Float32Array, w: Float32Array, gate: Float32Array, n: number, t: number, pos0: number): Float64Array {
  const width = g.e * g.dl;
  const H = g.nq * width;
  const heads = H / g.dh;
  const hpg = width / g.dh; // expanded heads per query group
  // Per-head queries and keys (copies of the group's), values [t, heads, dh] decoded from the latent.
  const qh = new Float64Array(n * heads * g.dk);
  const kh = new Float64Array(t * heads * g.dk);
  const vh = new Float64Array(t * heads * g.dh);
  for (let h = 0; h < heads; h++) {
    const grp = Math.floor(h / hpg);
    const key = Math.floor(grp / (g.nq / g.nk));
    const lat = Math.floor(grp / (g.nq / g.nc));
    for (let i = 0; i < n; i++) for (let d = 0; d < g.dk; d++) qh[(i * heads + h) * g.dk + d] = q[(i * g.nq + grp) * g.dk + d];
    for (let j = 0; j < t; j++) {
      for (let d = 0; d < g.dk; d++) kh[(j * heads + h) * g.dk + d] = k[(j * g.nk + key) * g.dk + d];
      for (let d = 0; d < g.dh; d++) {
        const col = (h % hpg) * g.dh + d; // column within the group's decoded width
        let v = c[(j * g.nc + lat) * g.dl + (col % g.dl)];
        for (let r = 0; r < g.dl; r++) v += c[(j * g.nc + lat) * g.dl + r] * w[(grp * g.dl + r) * width + col];
        vh[(j * heads + h) * g.dh + d] = v;
      }
    }
  }
  const o = attention(qh, kh, vh, { n, t, hq: heads, hk: heads, dk: g.dk, dv: g.dh, scale: 1 / Math.sqrt(g.dh), pos0 });
  for (let i = 0; i < n * H; i++) o[i] *= sigmoid(gate[i]);
  return o;
}

async function groupedVsExpanded(g: Gta, n: number, t: number, kv: KvFormat, splitRows?: number): Promise<void> {
  const rt = await gpuRuntime();
  const pos0 = t - n;
  const H = g.nq * g.e * g.dl;
  const w = vbWeights(g, true, 50 + t);
  const q = randomF32(n * g.nq * g.dk, 51 + t, -2, 2);
  let k = randomF32(t * g.nk * g.dk, 52 + t);
  let c = randomF32(t * g.nc * g.dl, 53 + t);
  if (kv === 'f16') {
    k = roundToF16(k);
    c = roundToF16(c);
  }
  const gate = randomF32(n * H, 54 + t, -3, 3);
  const bufs = {
    q: rt.upload(q, 'q'),
    k: rt.upload(packKv(k, kv), 'k-cache'), // [t, nk, dk]
    c: rt.upload(packKv(c, kv), 'latent-cache'), // [t, nc, dl]
    w: rt.upload(packKv(w, 'f16'), 'v_b_proj'),
    gate: rt.upload(gate, 'gate'),
    a: rt.buffer(n * g.nq * g.dl * 4, 'a'),
    scratch: rt.buffer(attnDecodeScratchBytes(g.nq, g.dl), 'scratch'),
    out: poisonedF32(rt, n * H, 'out'),
  };
  // The scale uses head_dim (gta.md step 4).
  const attn = { hq: g.nq, hk: g.nk, hv: g.nc, dk: g.dk, dv: g.dl, scale: 1 / Math.sqrt(g.dh), kv };
  await checked(rt, () => {
    if (n === 1) recordAttnDecode(rt, { q: bufs.q, k: bufs.k, v: bufs.c, out: bufs.a, scratch: bufs.scratch }, { ...attn, t, splitRows });
    else recordAttnPrefill(rt, { q: bufs.q, k: bufs.k, v: bufs.c, out: bufs.a }, { ...attn, n, pos0 });
    recordGtaDecodeV(rt, { a: bufs.a, w: bufs.w, gate: bufs.gate, out: bufs.out }, { n, nq: g.nq, dl: g.dl, e: g.e, wF16: true });
  });
  const got = await rt.readF32(bufs.out, n * H);
  const want = expandedReference(g, q, k, c, w, gate, n, t, pos0);
  expect(relL2(got, want)).toBeLessThan(1e-5);
  expect(maxAbsErr(got, want)).toBeLessThan(1e-4);
  for (const b of Object.values(bufs)) b.destroy();
}

describe('GTA over keys + latent equals the expanded per-head form', () => {
  it('GTA-1B shape, decode t=70 over 3 splits, f16 cache', () => groupedVsExpanded(gta1b, 1, 70, 'f16', 32));
  it('GTA-1B shape, prefill n=17 after 6 tokens, f32 cache', () => groupedVsExpanded(gta1b, 17, 23, 'f32'));
  // Same widths as GTA-1B, so lavapipe compiles fewer pipelines; the head mapping is what differs.
  it('2 key heads, 4 latent groups, decode t=41, f16 cache', () => groupedVsExpanded(multi, 1, 41, 'f16', 32));
  it('2 key heads, 4 latent groups, prefill n=3 after 19 tokens, f32 cache', () => groupedVsExpanded(multi, 3, 22, 'f32'));
});

// MLA (PLM) attention from the latent cache: attn_mla_absorb_q and attn_mla_up_v against the CPU
// reference, and the key property: absorbed attention over [c ‖ k_rope] (absorb → attn over the latent →
// up-project) equals plain per-head attention over K/V expanded from the latent with kv_b_proj.
import { describe, expect, it } from 'vitest';
import { attention, mlaAbsorbQ, mlaExpandKV, mlaUpV } from '../../../src/main/engine/cpu/attention';
import { packKv, type KvFormat } from '../../../src/main/engine/ops/attn_common';
import { f16ToF32Array } from '../../../src/main/engine/ops/convert';
import { attnDecodeScratchBytes, recordAttnDecode } from '../../../src/main/engine/ops/attn_decode';
import { recordMlaAbsorbQ, recordMlaAbsorbQSplit, type ColumnSplit, type MlaShape } from '../../../src/main/engine/ops/attn_mla_absorb_q';
import { recordMlaUpV, recordMlaUpVSplit, type RowSplit } from '../../../src/main/engine/ops/attn_mla_up_v';
import { recordAttnPrefill } from '../../../src/main/engine/ops/attn_prefill';
import { recordRopeStore } from '../../../src/main/engine/ops/rope_store';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

type Dims = Omit<MlaShape, 'n' | 'wF16'>;
const small: Dims = { nh: 3, dNope: 24, dRope: 8, dV: 20, dC: 64 };
const plm: Dims = { nh: 16, dNope: 128, dRope: 64, dV: 128, dC: 512 }; // PLM-1.8B
// d_c not a multiple of 4: the kernels' element-wise (non-16-byte) paths, a partial last column group
const odd: Dims = { nh: 2, dNope: 13, dRope: 6, dV: 11, dC: 38 };

function packW(w: Float32Array, f16: boolean): Uint32Array {
  return packKv(w, f16 ? 'f16' : 'f32');
}

/** kv_b_proj values as the kernel sees them (f16-rounded when packed so). */
function weights(d: Dims, f16: boolean, seed: number): Float32Array {
  const w = randomF32(d.nh * (d.dNope + d.dV) * d.dC, seed, -0.2, 0.2);
  return f16 ? roundToF16(w) : w;
}

describe('attn_mla_absorb_q / attn_mla_up_v', () => {
  for (const wF16 of [true, false]) {
    for (const n of [1, 5]) {
      it(`absorb q: n=${n}, ${wF16 ? 'f16' : 'f32'} weights`, async () => {
        const rt = await gpuRuntime();
        const s: MlaShape = { ...small, n, wF16 };
        const w = weights(small, wF16, 11 + n);
        const q = randomF32(n * s.nh * (s.dNope + s.dRope), 12 + n);
        const bufs = { q: rt.upload(q, 'q'), w: rt.upload(packW(w, wF16), 'w'), out: poisonedF32(rt, n * s.nh * (s.dC + s.dRope), 'out') };
        await checked(rt, () => recordMlaAbsorbQ(rt, bufs, s));
        const got = await rt.readF32(bufs.out, n * s.nh * (s.dC + s.dRope));
        // dNope-term sums of products of values ≤ 1 × 0.2 in f32
        expect(maxAbsErr(got, mlaAbsorbQ(q, w, s))).toBeLessThan(1e-5);
      });
      it(`up-project v: n=${n}, ${wF16 ? 'f16' : 'f32'} weights`, async () => {
        const rt = await gpuRuntime();
        const s: MlaShape = { ...small, n, wF16 };
        const w = weights(small, wF16, 21 + n);
        const a = randomF32(n * s.nh * s.dC, 22 + n);
        const bufs = { a: rt.upload(a, 'a'), w: rt.upload(packW(w, wF16), 'w'), out: poisonedF32(rt, n * s.nh * s.dV, 'out') };
        await checked(rt, () => recordMlaUpV(rt, bufs, s));
        const got = await rt.readF32(bufs.out, n * s.nh * s.dV);
        expect(maxAbsErr(got, mlaUpV(a, w, s))).toBeLessThan(1e-5);
      });
    }
  }
});

async function absorbCase(d: Dims, n: number, wF16: boolean, seed: number, split?: ColumnSplit | 'tokens'): Promise<void> {
  const rt = await gpuRuntime();
  const s: MlaShape = { ...d, n, wF16 };
  const w = weights(d, wF16, seed);
  const q = randomF32(n * s.nh * (s.dNope + s.dRope), seed + 1);
  const bufs = { q: rt.upload(q, 'q'), w: rt.upload(packW(w, wF16), 'w'), out: poisonedF32(rt, n * s.nh * (s.dC + s.dRope), 'out') };
  await checked(rt, () => (split ? recordMlaAbsorbQSplit(rt, bufs, s, split) : recordMlaAbsorbQ(rt, bufs, s)));
  const got = await rt.readF32(bufs.out, n * s.nh * (s.dC + s.dRope));
  expect(maxAbsErr(got, mlaAbsorbQ(q, w, s))).toBeLessThan(1e-5 * Math.sqrt(d.dNope / 24));
  for (const b of Object.values(bufs)) b.destroy();
}

async function upVCase(d: Dims, n: number, wF16: boolean, seed: number, split?: RowSplit): Promise<void> {
  const rt = await gpuRuntime();
  const s: MlaShape = { ...d, n, wF16 };
  const w = weights(d, wF16, seed);
  const a = randomF32(n * s.nh * s.dC, seed + 1);
  const bufs = { a: rt.upload(a, 'a'), w: rt.upload(packW(w, wF16), 'w'), out: poisonedF32(rt, n * s.nh * s.dV, 'out') };
  await checked(rt, () => (split ? recordMlaUpVSplit(rt, bufs, s, split) : recordMlaUpV(rt, bufs, s)));
  const got = await rt.readF32(bufs.out, n * s.nh * s.dV);
  expect(maxAbsErr(got, mlaUpV(a, w, s))).toBeLessThan(1e-5 * Math.sqrt(d.dC / 64));
  for (const b of Object.values(bufs)) b.destroy();
}

// Decode (n = 1) and prefill chunks (n > 1) take different kernels or work splits (the ops' defaults:
// absorb q one token → `main`, more → `main_tokens`); these cover the dispatch variants:
// element-wise loads (d_c % 4 ≠ 0), row loops unrolled (the hardware default) or not (the
// lavapipe default), splits whose slices or lanes do not divide the rows, padding tokens past n.
describe('attn_mla_absorb_q / attn_mla_up_v work splits', () => {
  for (const wF16 of [true, false]) {
    const dt = wF16 ? 'f16' : 'f32';
    for (const n of [1, 6]) {
      it(`absorb q, d_c 38 (element loads): n=${n}, ${dt}`, () => absorbCase(odd, n, wF16, 61 + n));
      it(`up-project v, d_c 38 (element loads): n=${n}, ${dt}`, () => upVCase(odd, n, wF16, 71 + n));
    }
    it(`absorb q, rows unrolled, 5 slices × 3 column groups, 3 tokens per workgroup: n=7, ${dt}`, () =>
      absorbCase(small, 7, wF16, 81, { rs: 5, co: 3, nt: 3, unroll: true }));
    it(`absorb q, d_c 38, 4 slices × 16 column groups, 4 tokens per workgroup: n=6, ${dt}`, () => absorbCase(odd, 6, wF16, 85, { rs: 4, co: 16, nt: 4 }));
    it(`absorb q, prefill entry (main_tokens), d_c 38: n=9, ${dt}`, () => absorbCase(odd, 9, wF16, 86, 'tokens'));
    it(`absorb q, prefill entry (main_tokens) for one token: n=1, ${dt}`, () => absorbCase(small, 1, wF16, 87, 'tokens'));
    it(`absorb q, default for up to 4 tokens (one workgroup of 4): n=3, ${dt}`, () => absorbCase(small, 3, wF16, 88));
    it(`up-project v, default from 16 tokens (8 lanes × 8 rows): n=18, ${dt}`, () => upVCase(small, 18, wF16, 89));
    it(`absorb q, rows unrolled, decode split: n=1, ${dt}`, () => absorbCase(small, 1, wF16, 82, { rs: 32, co: 4, nt: 1, unroll: true }));
    it(`absorb q, d_c 38, rows unrolled, 16 slices: n=2, ${dt}`, () => absorbCase(odd, 2, wF16, 83, { rs: 16, co: 2, nt: 2, unroll: true }));
    it(`up-project v, words unrolled, 3 lanes × 5 rows, 3 tokens per workgroup: n=7, ${dt}`, () =>
      upVCase(small, 7, wF16, 91, { tpr: 3, rpw: 5, nt: 3, unroll: true }));
    it(`up-project v, words unrolled, decode split: n=1, ${dt}`, () => upVCase(small, 1, wF16, 92, { tpr: 16, rpw: 8, nt: 1, unroll: true }));
  }
  it('PLM-1.8B dimensions, absorb q, n=1 and n=5, f16', async () => {
    await absorbCase(plm, 1, true, 101);
    await absorbCase(plm, 5, true, 102);
  });
  it('PLM-1.8B dimensions, up-project v, n=1 and n=5, f16', async () => {
    await upVCase(plm, 1, true, 103);
    await upVCase(plm, 5, true, 104);
  });
});

/**
 * Absorbed MLA on the GPU over a latent cache of t rows vs the expanded form on the CPU, for n new tokens
 * (n = 1: attn_decode with forced splits; n > 1: attn_prefill).
 */
async function absorbedVsExpanded(d: Dims, n: number, t: number, kv: KvFormat, splitRows?: number): Promise<void> {
  const rt = await gpuRuntime();
  const dl = d.dC + d.dRope;
  const dk = d.dNope + d.dRope;
  const pos0 = t - n;
  const s: MlaShape = { ...d, n, wF16: true };
  const w = weights(d, true, 31 + t);
  const q = randomF32(n * d.nh * dk, 32 + t, -2, 2);
  let latent = randomF32(t * dl, 33 + t);
  if (kv === 'f16') latent = roundToF16(latent);
  const scale = 1 / Math.sqrt(dk);
  const bufs = {
    q: rt.upload(q, 'q'),
    w: rt.upload(packW(w, true), 'kv_b_proj'),
    latent: rt.upload(packKv(latent, kv), 'latent'), // [t, dC + dRope]
    qt: rt.buffer(n * d.nh * dl * 4, 'q-absorbed'),
    a: rt.buffer(n * d.nh * d.dC * 4, 'a-latent'),
    scratch: rt.buffer(attnDecodeScratchBytes(d.nh, d.dC), 'scratch'),
    out: poisonedF32(rt, n * d.nh * d.dV, 'out'),
  };
  // Keys: the whole latent row (c ‖ k_rope); values: its first dC elements. One kv head shared by all.
  const views = { kView: { row: dl, head: 0, off: 0 }, vView: { row: dl, head: 0, off: 0 } };
  const attn = { hq: d.nh, hk: 1, dk: dl, dv: d.dC, scale, kv, ...views };
  await checked(rt, () => {
    recordMlaAbsorbQ(rt, { q: bufs.q, w: bufs.w, out: bufs.qt }, s);
    if (n === 1) recordAttnDecode(rt, { q: bufs.qt, k: bufs.latent, v: bufs.latent, out: bufs.a, scratch: bufs.scratch }, { ...attn, t, splitRows });
    else recordAttnPrefill(rt, { q: bufs.qt, k: bufs.latent, v: bufs.latent, out: bufs.a }, { ...attn, n, pos0 });
    recordMlaUpV(rt, { a: bufs.a, w: bufs.w, out: bufs.out }, s);
  });
  const got = await rt.readF32(bufs.out, n * d.nh * d.dV);
  const { k, v } = mlaExpandKV(latent, w, { ...s, n: t });
  const want = attention(q, k, v, { n, t, hq: d.nh, hk: d.nh, dk, dv: d.dV, scale, pos0 });
  // Same math in another order (absorbing W_UK into q, W_UV after the sum), f32 on the GPU.
  expect(relL2(got, want)).toBeLessThan(1e-5);
  expect(maxAbsErr(got, want)).toBeLessThan(1e-4);
  for (const b of Object.values(bufs)) b.destroy();
}

describe('MLA absorbed attention over the latent cache equals expanded per-head attention', () => {
  it('decode, t=70 over 3 splits, f16 latent', () => absorbedVsExpanded(small, 1, 70, 'f16', 32));
  it('decode, t=33, one split, f16 latent', () => absorbedVsExpanded(small, 1, 33, 'f16'));
  it('prefill n=17 after 4 cached tokens, f16 latent', () => absorbedVsExpanded(small, 17, 21, 'f16'));
  it('prefill n=3 at position 0, f32 latent', () => absorbedVsExpanded(small, 3, 3, 'f32'));
  it('PLM-1.8B dimensions (576-wide keys, 512-wide values), decode t=40, f16 latent', () => absorbedVsExpanded(plm, 1, 40, 'f16', 32));
});

// A decode step without q_lora_rank: the absorption dispatch also does rope_store's work. It must equal
// rope_store (GPT-J RoPE on q_rope and k_rope, the latent normalised, the cache row written) followed by
// the plain absorption, on the same fused projection row.
describe('attn_mla_absorb_q with the fused cache store', () => {
  for (const [name, d, kv] of [['small dims, f16 cache', small, 'f16'], ['PLM-1.8B dims, f32 cache', plm, 'f32']] as const) {
    it(name, async () => {
      const rt = await gpuRuntime();
      const s: MlaShape = { ...d, n: 1, wF16: true };
      const dq = s.nh * (s.dNope + s.dRope);
      const W = dq + s.dC + s.dRope; // [q ‖ c ‖ k_rope]
      const rowW = s.dC + s.dRope;
      const pos = 29;
      const row = randomF32(W, 71, -2, 2);
      const g = randomF32(s.dC, 72, 0.5, 1.5);
      const w = rt.upload(packW(weights(d, true, 73), true), 'w');
      const normW = rt.upload(packW(g, true), 'g');
      const fresh = () => rt.upload(new Uint32Array(((pos + 2) * rowW) / (kv === 'f16' ? 2 : 1)).fill(kv === 'f16' ? 0x7e007e00 : 0x7fc00000), 'cache');
      // Reference path: rope_store, then absorb_q on the rotated row.
      const refSrc = rt.upload(row, 'row');
      const refCache = fresh();
      const refOut = poisonedF32(rt, s.nh * (s.dC + s.dRope), 'ref-out');
      await checked(rt, () => {
        recordRopeStore(rt, { src: refSrc, cache: refCache, normW, vout: rt.buffer(s.dC * 4, 'lat') }, {
          n: 1, pos0: pos, srcStride: W, rotDim: s.dRope, interleaved: true, theta: 10000, dstStride: rowW, kv,
          q: { heads: s.nh, base: 0, headStride: s.dNope + s.dRope, rotOff: s.dNope }, k: { heads: 1, base: dq + s.dC, headStride: s.dRope, rotOff: 0, dst: s.dC },
          v: { base: dq, width: s.dC, dst: 0 }, vNorm: { wF16: true, eps: 1e-6 },
        });
        recordMlaAbsorbQ(rt, { q: refSrc, w, out: refOut }, s);
      });
      // Fused path on the raw row.
      const cache = fresh();
      const out = poisonedF32(rt, s.nh * (s.dC + s.dRope), 'out');
      await checked(rt, () => recordMlaAbsorbQ(rt, { q: rt.upload(row, 'row'), w, out }, s, { cache, kv, cacheBase: pos * rowW, normW, pos, theta: 10000, eps: 1e-6 }));
      expect(relL2(await rt.readF32(out, s.nh * (s.dC + s.dRope)), await rt.readF32(refOut, s.nh * (s.dC + s.dRope)))).toBeLessThan(1e-6);
      const words = ((pos + 2) * rowW) / (kv === 'f16' ? 2 : 1);
      const decode = (buf: ArrayBuffer) => (kv === 'f16' ? f16ToF32Array(new Uint16Array(buf)) : new Float32Array(buf));
      const [a, b] = [decode(await rt.read(cache, words * 4)), decode(await rt.read(refCache, words * 4))];
      let differ = 0;
      let written = 0;
      for (let i = 0; i < a.length; i++) {
        if (Number.isNaN(b[i])) {
          if (!Number.isNaN(a[i])) differ++; // written outside the row
        } else {
          written++;
          if (!(Math.abs(a[i] - b[i]) <= (kv === 'f16' ? 2e-3 : 1e-5) * Math.max(1, Math.abs(b[i])))) differ++;
        }
      }
      expect(written).toBe(rowW);
      expect(differ, 'cache elements that differ').toBe(0);
    });
  }
});

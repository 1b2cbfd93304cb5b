// MLA (PLM) attention from the latent cache: attn_mla_absorb_q and attn_mla_up_v against the CPU
// reference, and the key property: absorbed attention over [c ‖ k_rope] (absorb → attn over the latent →
// up-project) equals plain per-head attention over K/V expanded from the latent with kv_b_proj.
import { describe, expect, it } from 'vitest';
import { attention, mlaAbsorbQ, mlaExpandKV, mlaUpV } from '../../../src/main/engine/cpu/attention';
import { packKv, type KvFormat } from '../../../src/main/engine/ops/attn_common';
import { attnDecodeScratchBytes, recordAttnDecode } from '../../../src/main/engine/ops/attn_decode';
import { recordMlaAbsorbQ, type MlaShape } from '../../../src/main/engine/ops/attn_mla_absorb_q';
import { recordMlaUpV } from '../../../src/main/engine/ops/attn_mla_up_v';
import { recordAttnPrefill } from '../../../src/main/engine/ops/attn_prefill';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

type Dims = Omit<MlaShape, 'n' | 'wF16'>;
const small: Dims = { nh: 3, dNope: 24, dRope: 8, dV: 20, dC: 64 };
const plm: Dims = { nh: 16, dNope: 128, dRope: 64, dV: 128, dC: 512 }; // PLM-1.8B

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

// rope_store: RoPE on a fused projection row's query and key heads (in place) and the store of the key
// and value slices into the cache, the value slice optionally RMS-normalised (MLA's latent). Checked
// against the CPU reference (RoPE, RMSNorm in float64) on random rows, for the three layouts the
// families use, several tokens at a non-zero position, f16 and f32 caches.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { f16ToF32Array, f32ToF16Array } from '../../../src/main/engine/ops/convert';
import { recordRopeStore, type RopeStoreShape } from '../../../src/main/engine/ops/rope_store';
import { checked, gpuRuntime, maxAbsErr, randomF32, roundToF16 } from '../../helpers/gpu';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

type Layout = Omit<RopeStoreShape, 'n' | 'pos0' | 'kv' | 'vNorm'> & { norm?: boolean };

// Llama GQA: [q 4×16 ‖ k 2×16 ‖ v 2×16], cache [k ‖ v].
const llama: Layout = {
  srcStride: 128, rotDim: 16, interleaved: false, theta: 10000,
  q: { heads: 4, base: 0, headStride: 16, rotOff: 0 }, k: { heads: 2, base: 64, headStride: 16, rotOff: 0, dst: 0 },
  v: { base: 96, width: 32, dst: 32 }, dstStride: 64,
};
// GTA: [q 3×8 ‖ k 1×8 ‖ c 1×12 ‖ gate 10], cache [k ‖ c].
const gta: Layout = {
  srcStride: 54, rotDim: 8, interleaved: false, theta: 500,
  q: { heads: 3, base: 0, headStride: 8, rotOff: 0 }, k: { heads: 1, base: 24, headStride: 8, rotOff: 0, dst: 0 },
  v: { base: 32, width: 12, dst: 8 }, dstStride: 20,
};
// MLA: [q 3×(nope 6 ‖ rope 4) ‖ c 10 ‖ k_rope 4], interleaved, cache [norm(c) ‖ k_rope].
const mla: Layout = {
  srcStride: 44, rotDim: 4, interleaved: true, theta: 100000,
  q: { heads: 3, base: 0, headStride: 10, rotOff: 6 }, k: { heads: 1, base: 40, headStride: 4, rotOff: 0, dst: 10 },
  v: { base: 30, width: 10, dst: 0 }, dstStride: 14, norm: true,
};

async function run(name: string, L: Layout, kv: 'f16' | 'f32', n: number, pos0: number): Promise<void> {
  const seed = L.srcStride * 13 + n * 7 + pos0 + (kv === 'f16' ? 1 : 0);
  const rows = randomF32(n * L.srcStride, seed, -2, 2);
  const g = randomF32(L.v.width, seed + 1, 0.5, 1.5);
  const eps = 1e-6;
  const src = rt.upload(rows, 'src');
  const nCtx = pos0 + n + 3;
  const sentinel = new Uint32Array(nCtx * L.dstStride / (kv === 'f16' ? 2 : 1)).fill(kv === 'f16' ? 0x7e007e00 : 0x7fc00000); // NaN bits: untouched words stay NaN
  const cache = rt.upload(sentinel, 'cache');
  const vout = rt.upload(new Float32Array(n * L.v.width).fill(NaN), 'vout');
  const s: RopeStoreShape = { ...L, n, pos0, kv, vNorm: L.norm ? { wF16: true, eps } : undefined };
  await checked(rt, () => recordRopeStore(rt, { src, cache, normW: L.norm ? rt.upload(f32ToF16Array(g), 'g') : undefined, vout: L.norm ? vout : undefined }, s));

  // Reference: rotate a float64 copy, then normalise the value slice.
  const x = Float64Array.from(rows);
  const positions = Array.from({ length: n }, (_, t) => pos0 + t);
  const rope = L.interleaved ? cpu.ropeInterleaved : cpu.ropeRotateHalf;
  const sub = (base: number, heads: number, stride: number, off: number) => {
    // ropeApply views rows as [rows, heads, stride]: rotate each token's run through a dense copy.
    for (let t = 0; t < n; t++) {
      const seg = x.slice(t * L.srcStride + base, t * L.srcStride + base + heads * stride);
      rope(seg, 1, heads, stride, off, L.rotDim, [positions[t]], L.theta);
      x.set(seg, t * L.srcStride + base);
    }
  };
  sub(L.q.base, L.q.heads, L.q.headStride, L.q.rotOff);
  sub(L.k.base, L.k.heads, L.k.headStride, L.k.rotOff);
  const got = await rt.readF32(src, n * L.srcStride);
  // The angle is reduced in f32 as the kernels (and transformers) do: its error grows with the position.
  const angleTol = 2e-5 + 1e-6 * (pos0 + n);
  expect(maxAbsErr(got, x), `${name}: rotated src`).toBeLessThan(angleTol);

  const wantCache = new Float64Array(nCtx * L.dstStride).fill(NaN);
  const gRef = roundToF16(g);
  const wantVout = new Float64Array(n * L.v.width);
  for (let t = 0; t < n; t++) {
    const r = (pos0 + t) * L.dstStride;
    const kw = L.k.heads * L.k.headStride;
    for (let j = 0; j < kw; j++) wantCache[r + L.k.dst + j] = x[t * L.srcStride + L.k.base + j];
    let v = x.slice(t * L.srcStride + L.v.base, t * L.srcStride + L.v.base + L.v.width);
    if (L.norm) {
      v = Float64Array.from(cpu.rmsNorm(v, gRef, 1, L.v.width, eps));
      wantVout.set(v, t * L.v.width);
    }
    for (let j = 0; j < L.v.width; j++) wantCache[r + L.v.dst + j] = v[j];
  }
  const raw = new Uint32Array(await rt.read(cache, sentinel.byteLength));
  const gotCache = kv === 'f16' ? f16ToF32Array(new Uint16Array(raw.buffer)) : new Float32Array(raw.buffer);
  const tol = kv === 'f16' ? 4e-3 : angleTol;
  for (let i = 0; i < wantCache.length; i++) {
    if (Number.isNaN(wantCache[i])) {
      if (!Number.isNaN(gotCache[i])) throw new Error(`${name}: cache element ${i} written outside the stored slices`);
    } else if (!(Math.abs(gotCache[i] - wantCache[i]) <= tol * Math.max(1, Math.abs(wantCache[i])))) {
      throw new Error(`${name}: cache element ${i} is ${gotCache[i]}, want ${wantCache[i]}`);
    }
  }
  if (L.norm) expect(maxAbsErr(await rt.readF32(vout, n * L.v.width), wantVout), `${name}: normalised values`).toBeLessThan(2e-5);
}

describe('rope_store', () => {
  for (const kv of ['f16', 'f32'] as const) {
    it(`llama layout, 3 tokens at 5, ${kv} cache`, () => run('llama', llama, kv, 3, 5));
    it(`gta layout, 1 token at 1000, ${kv} cache`, () => run('gta', gta, kv, 1, 1000));
    it(`mla layout with the latent norm, 4 tokens at 0, ${kv} cache`, () => run('mla', mla, kv, 4, 0));
  }
  it('a decode step far into the context (position 8191)', () => run('llama', llama, 'f32', 1, 8191));
});

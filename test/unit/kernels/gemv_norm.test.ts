// GEMV with the block's RMSNorm fused into its reads of x (decode: no separate norm pass): the result
// must match RMSNorm first, then the plain linear layer, on the CPU reference. Covers the f16 and f32
// vector paths (widths % 8 / % 4), the scalar path (odd width), an offset into a wider row, bias and
// accumulation (the residual add of an output projection), and rows of TPR lanes crossing workgroups.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { f16ToF32Array, f32ToF16Array } from '../../../src/main/engine/ops/convert';
import { gemv } from '../../../src/main/engine/ops/gemv';
import { linear } from '../../../src/main/engine/ops/linear';
import { fromPairOrder, toPairOrder } from '../../../src/main/engine/weights/rope_pairs';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

interface Case {
  inDim: number;
  outDim: number;
  f16: boolean;
  xOffset?: number;
  bias?: boolean;
  accumulate?: boolean;
  /** Compile the row length into the pipeline (the hardware default; lavapipe runs it only here). */
  constantRows?: boolean;
}

async function run(c: Case): Promise<void> {
  const seed = c.inDim * 7 + c.outDim + (c.f16 ? 1 : 2) + (c.xOffset ?? 0);
  const off = c.xOffset ?? 0;
  const stride = off + c.inDim + 4;
  const xRow = randomF32(stride, seed, -3, 3); // scale ≠ 1 so the normalisation matters
  const g = randomF32(c.inDim, seed + 1, 0.5, 1.5);
  const wVals = randomF32(c.outDim * c.inDim, seed + 2);
  const bVals = randomF32(c.outDim, seed + 3);
  const prior = randomF32(c.outDim, seed + 4);
  const pack = (v: Float32Array) => (c.f16 ? f32ToF16Array(v) : v);
  const y = c.accumulate ? rt.upload(prior, 'y') : poisonedF32(rt, c.outDim, 'y');
  const eps = 1e-5;
  await checked(rt, () => gemv(rt, {
    x: rt.upload(xRow, 'x'), w: rt.upload(pack(wVals), 'w'), y, rows: 1, inDim: c.inDim, outDim: c.outDim, wF16: c.f16,
    xStride: stride, xOffset: off, bias: c.bias ? rt.upload(pack(bVals), 'b') : undefined, accumulate: c.accumulate,
    norm: { w: rt.upload(pack(g), 'g'), eps },
  }, { constantRows: c.constantRows ?? false }));
  const r = (v: Float32Array) => (c.f16 ? roundToF16(v) : v);
  const xn = cpu.rmsNorm(Float64Array.from(xRow.subarray(off, off + c.inDim)), r(g), 1, c.inDim, eps);
  const want = cpu.linear(xn, r(wVals), 1, c.inDim, c.outDim, c.bias ? r(bVals) : undefined);
  if (c.accumulate) for (let o = 0; o < c.outDim; o++) want[o] += prior[o];
  const got = await rt.readF32(y, c.outDim);
  expect(maxAbsErr(got, want)).toBeLessThan(1e-4 * Math.sqrt(c.inDim));
  expect(relL2(got, want)).toBeLessThan(1e-5 * Math.sqrt(c.inDim));
}

describe('gemv without a norm, row length compiled into the pipeline', () => {
  // Rows of 160 and 448 16-byte words: lanes with a partial last load, several loads per lane.
  for (const [inDim, outDim, tpr] of [[1280, 40, 32], [3584, 19, 64], [2048, 33, 16]]) {
    it(`${inDim}→${outDim}, ${tpr} lanes a row`, async () => {
      const x = randomF32(inDim, inDim + 1);
      const w = randomF32(inDim * outDim, inDim + 2);
      const y = poisonedF32(rt, outDim, 'y');
      await checked(rt, () => gemv(rt, { x: rt.upload(x, 'x'), w: rt.upload(f32ToF16Array(w), 'w'), y, rows: 1, inDim, outDim, wF16: true }, { constantRows: true, threadsPerRow: tpr }));
      const want = cpu.linear(Float64Array.from(x), roundToF16(w), 1, inDim, outDim);
      expect(relL2(await rt.readF32(y, outDim), want)).toBeLessThan(1e-5 * Math.sqrt(inDim));
    });
  }
});

describe('gemv with a fused RMSNorm', () => {
  it('f16 vector path', () => run({ inDim: 256, outDim: 40, f16: true }));
  it('f16 vector path, wide rows (many lanes per row), bias', () => run({ inDim: 2048, outDim: 37, f16: true, bias: true }));
  it('f32 vector path, offset into a wider row, accumulate', () => run({ inDim: 132, outDim: 65, f16: false, xOffset: 8, accumulate: true }));
  it('f16, row length compiled into the pipeline (the hardware path)', () => run({ inDim: 1280, outDim: 24, f16: true, bias: true, constantRows: true }));
  it('scalar path (odd width), f16, bias and accumulate', () => run({ inDim: 37, outDim: 19, f16: true, bias: true, accumulate: true }));
  it('refuses more than one row and a norm with an activation', () => {
    const x = rt.buffer(4 * 64 * 4, 'x');
    const w = rt.buffer(64 * 64 * 2, 'w');
    const y = rt.buffer(4 * 64 * 4, 'y');
    const norm = { w: rt.buffer(64 * 2, 'g'), eps: 1e-6 };
    expect(() => linear(rt, { x, w, y, rows: 2, inDim: 64, outDim: 64, wF16: true, norm })).toThrow(/one row/);
    expect(() => linear(rt, { x, w, y, rows: 1, inDim: 32, outDim: 64, wF16: true, norm, act: 'relu2' })).toThrow(/cannot be combined/);
  });
});

describe('gemv with the RoPE + cache-store epilogue (pair-ordered q/k rows)', () => {
  // A Llama-like fused projection: 3 query heads and 1 key head of 8 dims, then 8 value rows and 6
  // more plain rows; its weights in checkpoint order, uploaded in pair order as the loader does.
  const [nq, nk, d, nv, extra, inDim] = [3, 1, 8, 8, 6, 96];
  const W = (nq + nk) * d + nv + extra;
  for (const kv of ['f16', 'f32'] as const) {
    it(`rotates q and k, stores k ‖ v at the position's cache row (${kv} cache)`, async () => {
      const pos = 37;
      const theta = 10000;
      const x = randomF32(inDim, 5);
      const w = randomF32(W * inDim, 6);
      const bias = randomF32(W, 7);
      const paired = Float32Array.from(w);
      const pairedBias = Float32Array.from(bias);
      paired.set(toPairOrder(w.subarray(0, nq * d * inDim), nq, d, inDim), 0);
      paired.set(toPairOrder(w.subarray(nq * d * inDim, (nq + nk) * d * inDim), nk, d, inDim), nq * d * inDim);
      pairedBias.set(toPairOrder(bias.subarray(0, nq * d), nq, d, 1), 0);
      pairedBias.set(toPairOrder(bias.subarray(nq * d, (nq + nk) * d), nk, d, 1), nq * d);
      const storeWidth = nk * d + nv;
      const cacheRow = storeWidth + 4; // wider rows: the store must land at cacheBase
      const cacheWords = ((pos + 2) * cacheRow) / (kv === 'f16' ? 2 : 1);
      const cache = rt.upload(new Uint32Array(cacheWords).fill(kv === 'f16' ? 0x7e007e00 : 0x7fc00000), 'cache');
      const y = poisonedF32(rt, W, 'y');
      await checked(rt, () => gemv(rt, {
        x: rt.upload(x, 'x'), w: rt.upload(f32ToF16Array(paired), 'w'), bias: rt.upload(f32ToF16Array(pairedBias), 'b'), y, rows: 1, inDim, outDim: W, wF16: true,
        rope: { rotRows: (nq + nk) * d, rotDim: d, pos, theta, cache, kv, cacheBase: pos * cacheRow + 2, storeRow0: nq * d, storeRow1: nq * d + storeWidth },
      }, { threadsPerRow: 32 }));
      // Reference in checkpoint order: linear, rotate-half RoPE on q and k heads, then into pair order.
      const ref = cpu.linear(Float64Array.from(x), roundToF16(w), 1, inDim, W, roundToF16(bias));
      cpu.ropeRotateHalf(ref, 1, nq + nk, d, 0, d, [pos], theta);
      const want = Float64Array.from(ref);
      const qPairs = toPairOrder(Float32Array.from(ref.subarray(0, nq * d)), nq, d, 1);
      const kPairs = toPairOrder(Float32Array.from(ref.subarray(nq * d, (nq + nk) * d)), nk, d, 1);
      want.set(qPairs, 0);
      want.set(kPairs, nq * d);
      const got = await rt.readF32(y, W);
      expect(relL2(got, want)).toBeLessThan(1e-5);
      const raw = new Uint32Array(await rt.read(cache, cacheWords * 4));
      const vals = kv === 'f16' ? f16ToF32Array(new Uint16Array(raw.buffer)) : new Float32Array(raw.buffer);
      const row = vals.subarray(pos * cacheRow + 2, pos * cacheRow + 2 + storeWidth);
      expect(relL2(row, want.subarray(nq * d, nq * d + storeWidth))).toBeLessThan(kv === 'f16' ? 1e-3 : 1e-5);
      expect(Number.isNaN(vals[pos * cacheRow]) && Number.isNaN(vals[pos * cacheRow + 2 + storeWidth])).toBe(true);
    });
  }
  it('pair order round-trips and is what a rotate-half pair needs', () => {
    const v = Float32Array.from({ length: 2 * 8 }, (_, i) => i);
    const p = toPairOrder(v, 2, 8, 1);
    expect([...p.subarray(0, 8)]).toEqual([0, 4, 1, 5, 2, 6, 3, 7]);
    expect([...fromPairOrder(p, 1, 2, 8)]).toEqual([...v]);
  });
});

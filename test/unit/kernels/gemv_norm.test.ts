// GEMV with the block's RMSNorm fused into its reads of x (decode: no separate norm pass): the result
// must match RMSNorm first, then the plain linear layer, on the CPU reference. Covers the f16 and f32
// vector paths (widths % 8 / % 4), the scalar path (odd width), an offset into a wider row, bias and
// accumulation (the residual add of an output projection), and rows of TPR lanes crossing workgroups.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { f32ToF16Array } from '../../../src/main/engine/ops/convert';
import { gemv } from '../../../src/main/engine/ops/gemv';
import { linear } from '../../../src/main/engine/ops/linear';
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

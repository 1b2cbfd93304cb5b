// GEMV (decode, batched up to 8 rows) and the tiled matmul (prefill) against the CPU reference, for
// f16 and f32 weights, aligned (vector loads) and unaligned (scalar path) widths, bias, accumulate
// and strided operands. Sizes are odd or cross the 64-wide tiles and the 256-thread workgroups.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { f32ToF16Array } from '../../../src/main/engine/ops/convert';
import { gemv } from '../../../src/main/engine/ops/gemv';
import { linear } from '../../../src/main/engine/ops/linear';
import type { LinearArgs } from '../../../src/main/engine/ops/linear_common';
import { matmulF32 } from '../../../src/main/engine/ops/matmul';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

// Reference weights are the f16-rounded values, so both dtypes only see f32 accumulation error:
// relative L2 ~1e-7·√in; max-abs bounded by in·ulp of the partial sums.
const TOL = { f32: { abs: 2e-5, rel: 2e-6 }, f16: { abs: 2e-5, rel: 2e-6 } };

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

interface Case {
  rows: number;
  inDim: number;
  outDim: number;
  f16: boolean;
  bias?: boolean;
  accumulate?: boolean;
  xStride?: number;
  xOffset?: number;
}

async function run(kernel: (rt: GpuRuntime, a: LinearArgs) => void, c: Case): Promise<void> {
  const seed = c.rows * 7919 + c.inDim * 31 + c.outDim;
  const xStride = c.xStride ?? c.inDim;
  const xOffset = c.xOffset ?? 0;
  const xFull = randomF32(c.rows * xStride, seed);
  const wVals = randomF32(c.outDim * c.inDim, seed + 1);
  const bVals = randomF32(c.outDim, seed + 2);
  const wRef = c.f16 ? roundToF16(wVals) : wVals;
  const bRef = c.f16 ? roundToF16(bVals) : bVals;
  const up = (v: Float32Array, l: string) => (c.f16 ? rt.upload(f32ToF16Array(v), l) : rt.upload(v, l));
  const yInit = randomF32(c.rows * c.outDim, seed + 3);
  const y = c.accumulate ? rt.upload(yInit, 'y') : poisonedF32(rt, c.rows * c.outDim, 'y');
  await checked(rt, () => kernel(rt, {
    x: rt.upload(xFull, 'x'), w: up(wVals, 'w'), y, rows: c.rows, inDim: c.inDim, outDim: c.outDim, wF16: c.f16,
    bias: c.bias ? up(bVals, 'bias') : undefined, accumulate: c.accumulate, xStride, xOffset,
  }));
  const x = new Float64Array(c.rows * c.inDim);
  for (let r = 0; r < c.rows; r++) for (let i = 0; i < c.inDim; i++) x[r * c.inDim + i] = xFull[r * xStride + xOffset + i];
  let want = cpu.linear(x, wRef, c.rows, c.inDim, c.outDim, c.bias ? bRef : undefined);
  if (c.accumulate) want = cpu.add(want, Float64Array.from(yInit));
  const got = await rt.readF32(y, c.rows * c.outDim);
  const tol = TOL[c.f16 ? 'f16' : 'f32'];
  expect(maxAbsErr(got, want)).toBeLessThan(tol.abs * Math.sqrt(c.inDim));
  expect(relL2(got, want)).toBeLessThan(tol.rel * Math.sqrt(c.inDim));
}

const name = (c: Case) => `${c.rows}×${c.inDim}→${c.outDim} ${c.f16 ? 'f16' : 'f32'}${c.bias ? ' +bias' : ''}${c.accumulate ? ' +=' : ''}${c.xStride ? ` x[stride ${c.xStride}, off ${c.xOffset}]` : ''}`;

describe('gemv', () => {
  const cases: Case[] = [];
  for (const f16 of [true, false]) {
    cases.push(
      { rows: 1, inDim: 512, outDim: 67, f16 }, // vector path, rows per workgroup > 1
      { rows: 1, inDim: 2048, outDim: 33, f16, bias: true }, // 256 lanes per row
      { rows: 1, inDim: 301, outDim: 45, f16 }, // odd width: scalar path, f16 pairs straddle rows
      { rows: 3, inDim: 96, outDim: 130, f16, accumulate: true },
      { rows: 8, inDim: 40, outDim: 9, f16, bias: true },
      { rows: 2, inDim: 64, outDim: 50, f16, xStride: 100, xOffset: 12 }, // slice of wider rows, aligned
      { rows: 2, inDim: 64, outDim: 50, f16, xStride: 99, xOffset: 3 }, // unaligned slice: scalar path
    );
  }
  for (const c of cases) it(name(c), () => run(gemv, c));

  it('more than 8 rows splits into batches of 8', () => run(gemv, { rows: 11, inDim: 24, outDim: 70, f16: true }));

  it('every threads-per-row choice gives the same result', async () => {
    const inDim = 256;
    const outDim = 20;
    const x = rt.upload(randomF32(inDim, 5), 'x');
    const w = rt.upload(f32ToF16Array(randomF32(inDim * outDim, 6)), 'w');
    const results: Float32Array[] = [];
    for (const tpr of [1, 2, 8, 32, 256]) {
      const y = poisonedF32(rt, outDim, 'y');
      await checked(rt, () => gemv(rt, { x, w, y, rows: 1, inDim, outDim, wF16: true }, { threadsPerRow: tpr }));
      results.push(await rt.readF32(y, outDim));
    }
    for (const r of results.slice(1)) expect(maxAbsErr(r, results[0])).toBeLessThan(1e-4);
  });
});

describe('matmul', () => {
  const cases: Case[] = [];
  for (const f16 of [true, false]) {
    cases.push(
      { rows: 9, inDim: 17, outDim: 5, f16 }, // smaller than one tile
      { rows: 70, inDim: 33, outDim: 131, f16, bias: true }, // crosses tiles in both directions, k tail
      { rows: 65, inDim: 64, outDim: 64, f16, accumulate: true },
      { rows: 12, inDim: 48, outDim: 20, f16, xStride: 61, xOffset: 7 },
    );
  }
  // The f32 tiled kernel by name: on adapters with subgroup matrices matmul() takes the tensor-core
  // path for f16 weights from 32 rows (f16-rounded activations; its own test: matmul_mma.test.ts).
  for (const c of cases) it(name(c), () => run(matmulF32, c));

  it('linear() picks gemv for few rows and matmul for many, with the same numbers', async () => {
    await run(linear, { rows: 4, inDim: 80, outDim: 30, f16: true, bias: true });
    await run(linear, { rows: 20, inDim: 80, outDim: 30, f16: true, bias: true });
  });
});

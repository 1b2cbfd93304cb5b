// The subgroup-matrix prefill matmul (kernels/matmul_mma.wgsl) against the CPU reference, for every
// tile config the host can pick: odd n / in / out crossing the 128-wide tiles and the 32-deep K tiles,
// bias, accumulate, strided x and y (columns outside y's window must stay untouched), outputs poisoned
// with NaN. Runs only where the adapter has subgroup matrices with 32-lane subgroups (NVIDIA through
// Dawn); lavapipe (CI) has none, so there it is skipped, and tools/bench/matmul-kbench.ts runs the same
// checks on the GPU machine.
//
// Tolerances. The kernel rounds X to f16 (W is f16 already) and accumulates in f32, so:
// - against the f64 product of the f16-rounded X and W: f32 accumulation error only, the linear tests'
//   bound (relative L2 < 2e-6·√in, max abs < 2e-5·√in);
// - against the f64 product of the unrounded X: the f16 rounding of X, relative 2^-12 RMS per element,
//   gives a relative L2 of about 1.8e-4 on these inputs; bound 1e-3.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { f32ToF16Array } from '../../../src/main/engine/ops/convert';
import { linear } from '../../../src/main/engine/ops/linear';
import type { LinearArgs } from '../../../src/main/engine/ops/linear_common';
import { MMA_DEFAULT, MMA_MIN_ROWS, type MmaConfig, matmulMma, mmaAvailable, usesMma } from '../../../src/main/engine/ops/matmul';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

const SKIP_REASON = 'the adapter has no subgroup matrices with 32-lane subgroups (lavapipe); tools/bench/matmul-kbench.ts checks this kernel on the GPU machine';

let rt: GpuRuntime;
let available = false;
beforeAll(async () => {
  rt = await gpuRuntime();
  available = mmaAvailable(rt);
});

interface Case {
  rows: number;
  inDim: number;
  outDim: number;
  bias?: boolean;
  accumulate?: boolean;
  xStride?: number;
  xOffset?: number;
  yStride?: number;
  yOffset?: number;
  /** X drawn from ±xMag (default 1): past f16's 65504 the kernel's 2^-4 staging scale keeps it finite. */
  xMag?: number;
}

const CASES: Case[] = [
  { rows: 333, inDim: 200, outDim: 250, bias: true }, // partial tiles both ways, K tail (200 % 32 = 8)
  { rows: 77, inDim: 61, outDim: 45, accumulate: true, xStride: 67, xOffset: 5 }, // odd in: scalar loads
  { rows: 256, inDim: 256, outDim: 256, accumulate: true }, // whole tiles: fragments start from y
  { rows: 300, inDim: 96, outDim: 384 }, // interior tiles with unchecked loads, edge rows
  { rows: 130, inDim: 64, outDim: 100, accumulate: true, yStride: 150, yOffset: 20 }, // y window
  { rows: 129, inDim: 1040, outDim: 257 }, // long K, one row and one column past a tile
  { rows: 64, inDim: 96, outDim: 128, accumulate: true, xMag: 3e5 }, // activations past f16's range
  { rows: 40, inDim: 62, outDim: 70, xStride: 64 }, // 16-byte X loads with a partial last group of 4
];

const CONFIGS: MmaConfig[] = [MMA_DEFAULT, { sgm: 2, sgn: 4, block: '4x2' }, { sgm: 2, sgn: 4, block: '4x4' }, { sgm: 2, sgn: 2, block: '4x4', buffers: 2 }];

async function run(c: Case, record: (a: LinearArgs) => void): Promise<void> {
  const xStride = c.xStride ?? c.inDim;
  const xOffset = c.xOffset ?? 0;
  const yStride = c.yStride ?? c.outDim;
  const yOffset = c.yOffset ?? 0;
  const seed = c.rows * 7919 + c.inDim * 31 + c.outDim;
  const xFull = randomF32(c.rows * xStride, seed, -(c.xMag ?? 1), c.xMag ?? 1);
  const w = roundToF16(randomF32(c.outDim * c.inDim, seed + 1));
  const b = roundToF16(randomF32(c.outDim, seed + 2));
  const yInit = c.accumulate ? randomF32(c.rows * yStride, seed + 3) : new Float32Array(c.rows * yStride).fill(NaN);
  const y = c.accumulate ? rt.upload(yInit, 'y') : poisonedF32(rt, c.rows * yStride, 'y');
  await checked(rt, () => record({
    x: rt.upload(xFull, 'x'), w: rt.upload(f32ToF16Array(w), 'w'), y, rows: c.rows, inDim: c.inDim, outDim: c.outDim, wF16: true,
    bias: c.bias ? rt.upload(f32ToF16Array(b), 'bias') : undefined, accumulate: c.accumulate, xStride, xOffset, yStride, yOffset,
  }));
  const got = await rt.readF32(y, c.rows * yStride);
  const x32 = new Float64Array(c.rows * c.inDim);
  for (let r = 0; r < c.rows; r++) for (let i = 0; i < c.inDim; i++) x32[r * c.inDim + i] = xFull[r * xStride + xOffset + i];
  // The kernel rounds X·2^-4 to f16 (and scales the sums back by 2^4).
  const x16 = Float64Array.from(roundToF16(Float32Array.from(x32, (v) => v / 16)), (v) => v * 16);
  const want16 = cpu.linear(x16, w, c.rows, c.inDim, c.outDim, c.bias ? b : undefined);
  const want32 = cpu.linear(x32, w, c.rows, c.inDim, c.outDim, c.bias ? b : undefined);
  const inside = new Float64Array(c.rows * c.outDim);
  const outside: number[] = [];
  const outsideWant: number[] = [];
  for (let r = 0; r < c.rows; r++) {
    for (let j = 0; j < yStride; j++) {
      const o = j - yOffset;
      const v = got[r * yStride + j];
      if (o < 0 || o >= c.outDim) {
        outside.push(v);
        outsideWant.push(yInit[r * yStride + j]);
      } else {
        inside[r * c.outDim + o] = v - (c.accumulate ? yInit[r * yStride + j] : 0);
      }
    }
  }
  expect(maxAbsErr(inside, want16)).toBeLessThan(2e-5 * Math.sqrt(c.inDim));
  expect(relL2(inside, want16)).toBeLessThan(2e-6 * Math.sqrt(c.inDim));
  expect(relL2(inside, want32)).toBeLessThan(1e-3);
  expect(outside).toEqual(outsideWant); // untouched: the same values (NaN poison compares equal here)
}

const name = (c: Case) => `${c.rows}×${c.inDim}→${c.outDim}${c.xMag ? ` |x| < ${c.xMag}` : ''}${c.bias ? ' +bias' : ''}${c.accumulate ? ' +=' : ''}${c.xStride ? ` x[stride ${c.xStride}, off ${c.xOffset}]` : ''}${c.yStride ? ` y[stride ${c.yStride}, off ${c.yOffset}]` : ''}`;
const cfgName = (c: MmaConfig) => `${c.sgm}×${c.sgn} subgroups of ${c.block}${c.buffers === 2 ? ', 2 buffers' : ''}`;

describe('matmul_mma (subgroup matrices)', () => {
  for (const cfg of CONFIGS) {
    for (const c of CASES) {
      it(`${cfgName(cfg)}: ${name(c)}`, async (ctx) => {
        if (!available) return ctx.skip(SKIP_REASON);
        await run(c, (a) => matmulMma(rt, a, cfg));
      });
    }
  }

  it('linear() takes it for f16 weights from MMA_MIN_ROWS rows on, with the same numbers', async (ctx) => {
    if (!available) return ctx.skip(SKIP_REASON);
    expect(usesMma(rt, { rows: MMA_MIN_ROWS, wF16: true })).toBe(true);
    expect(usesMma(rt, { rows: MMA_MIN_ROWS - 1, wF16: true })).toBe(false);
    expect(usesMma(rt, { rows: 4096, wF16: false })).toBe(false);
    await run({ rows: MMA_MIN_ROWS + 3, inDim: 72, outDim: 140, bias: true }, (a) => linear(rt, a));
  });
});

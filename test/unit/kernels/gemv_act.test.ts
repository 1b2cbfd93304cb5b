// GEMV with the MLP activation fused into its reads of x (the decode down projection): the result must
// match the activation applied first, then the plain linear layer, on the CPU reference. Covers the
// vector path (widths % 8) and the scalar path, SwiGLU (gate ‖ up in one row) and ReLU², 1 and 3 rows.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { f32ToF16Array } from '../../../src/main/engine/ops/convert';
import { linear } from '../../../src/main/engine/ops/linear';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

const silu = (v: number) => v / (1 + Math.exp(-v));

async function run(act: 'swiglu' | 'relu2', rows: number, inDim: number, outDim: number): Promise<void> {
  const seed = rows * 131 + inDim * 7 + outDim + (act === 'swiglu' ? 1 : 2);
  const width = act === 'swiglu' ? 2 * inDim : inDim; // a row of x: [gate ‖ up] or [up]
  const xFull = randomF32(rows * width, seed);
  const wVals = randomF32(outDim * inDim, seed + 1);
  const y = poisonedF32(rt, rows * outDim, 'y');
  await checked(rt, () => linear(rt, {
    x: rt.upload(xFull, 'x'), w: rt.upload(f32ToF16Array(wVals), 'w'), y, rows, inDim, outDim, wF16: true, xStride: width, act,
  }));
  const x = new Float64Array(rows * inDim);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inDim; i++) {
      const a = xFull[r * width + i];
      x[r * inDim + i] = act === 'swiglu' ? silu(a) * xFull[r * width + inDim + i] : Math.max(a, 0) ** 2;
    }
  }
  const want = cpu.linear(x, roundToF16(wVals), rows, inDim, outDim);
  const got = await rt.readF32(y, rows * outDim);
  expect(maxAbsErr(got, want)).toBeLessThan(1e-4 * Math.sqrt(inDim));
  expect(relL2(got, want)).toBeLessThan(1e-5 * Math.sqrt(inDim));
}

describe('gemv with a fused activation', () => {
  for (const act of ['swiglu', 'relu2'] as const) {
    it(`${act}, vector path, 1 row`, () => run(act, 1, 256, 40));
    it(`${act}, vector path, 3 rows`, () => run(act, 3, 128, 33));
    it(`${act}, scalar path`, () => run(act, 2, 37, 19));
  }
  it('refuses a fused activation beyond GEMV rows', () => {
    const b = rt.buffer(4 * 16 * 64, 'x');
    expect(() => linear(rt, { x: b, w: rt.buffer(64 * 64 * 2, 'w'), y: rt.buffer(16 * 64 * 4, 'y'), rows: 16, inDim: 32, outDim: 64, wF16: true, xStride: 64, act: 'swiglu' })).toThrow(/at most 8 rows/);
  });
});

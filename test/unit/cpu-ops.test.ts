// Hand-computed checks of the CPU reference: it is the oracle for every kernel, so it is checked
// against values worked out independently (small cases, closed forms).
import { describe, expect, it } from 'vitest';
import * as ops from '../../src/main/engine/cpu/ops';

const v = (...xs: number[]) => Float64Array.from(xs);

describe('cpu reference ops', () => {
  it('embedding gathers rows and rejects ids outside the vocabulary', () => {
    const table = Float32Array.from([0, 1, 10, 11, 20, 21]);
    expect([...ops.embedding([2, 0], table, 2)]).toEqual([20, 21, 0, 1]);
    expect(() => ops.embedding([3], table, 2)).toThrow(/outside the vocabulary/);
  });

  it('rmsNorm matches the closed form', () => {
    const out = ops.rmsNorm(v(3, 4), Float32Array.from([1, 2]), 1, 2, 0);
    const rms = Math.sqrt((9 + 16) / 2);
    expect(out[0]).toBeCloseTo(3 / rms, 12);
    expect(out[1]).toBeCloseTo((4 / rms) * 2, 12);
  });

  it('linear is x·Wᵀ + b', () => {
    // W = [[1,2,3],[4,5,6]], x = [[1,0,-1],[2,1,0]]
    const y = ops.linear(v(1, 0, -1, 2, 1, 0), Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3, 2, Float32Array.from([0.5, -1]));
    expect([...y]).toEqual([1 - 3 + 0.5, 4 - 6 - 1, 2 + 2 + 0.5, 8 + 5 - 1]);
  });

  it('rotate-half RoPE rotates pairs (j, j+d/2) of the slice only', () => {
    // stride 6, offset 2, rotDim 4: pairs (2,4) with freq 1 and (3,5) with freq theta^-0.5
    const x = v(9, 9, 1, 0, 0, 1);
    ops.ropeRotateHalf(x, 1, 1, 6, 2, 4, [1], 10000);
    expect(x[0]).toBe(9);
    expect(x[1]).toBe(9);
    expect(x[2]).toBeCloseTo(Math.cos(1), 12);
    expect(x[4]).toBeCloseTo(Math.sin(1), 12);
    const a = 1 / 100;
    expect(x[3]).toBeCloseTo(-Math.sin(a), 12);
    expect(x[5]).toBeCloseTo(Math.cos(a), 12);
  });

  it('interleaved RoPE rotates adjacent pairs and preserves norms', () => {
    const x = v(1, 0, 0, 1);
    ops.ropeInterleaved(x, 1, 1, 4, 0, 4, [2], 100);
    expect(x[0]).toBeCloseTo(Math.cos(2), 12);
    expect(x[1]).toBeCloseTo(Math.sin(2), 12);
    expect(x[2]).toBeCloseTo(-Math.sin(0.2), 12);
    expect(x[3]).toBeCloseTo(Math.cos(0.2), 12);
    const y = v(0.3, -2, 5, 1.5);
    ops.ropeInterleaved(y, 1, 1, 4, 0, 4, [0], 100);
    expect([...y]).toEqual([0.3, -2, 5, 1.5]);
  });

  it('activations and elementwise ops', () => {
    expect(ops.silu(v(0))[0]).toBe(0);
    expect(ops.silu(v(2))[0]).toBeCloseTo(2 / (1 + Math.exp(-2)), 12);
    expect([...ops.relu2(v(-3, 3))]).toEqual([0, 9]);
    expect(ops.sigmoid(v(0))[0]).toBe(0.5);
    expect([...ops.mul(v(2, 3), v(4, 5))]).toEqual([8, 15]);
    expect([...ops.add(v(2, 3), v(4, 5))]).toEqual([6, 8]);
    expect(() => ops.add(v(1), v(1, 2))).toThrow(/operands/);
  });

  it('softmaxRow normalises a slice in place and is stable for large inputs', () => {
    const x = v(7, 1000, 1000 + Math.log(3), 7);
    ops.softmaxRow(x, 1, 2);
    expect(x[0]).toBe(7);
    expect(x[3]).toBe(7);
    expect(x[1]).toBeCloseTo(0.25, 12);
    expect(x[2]).toBeCloseTo(0.75, 12);
  });
});

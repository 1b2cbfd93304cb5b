// The Gram kernel (analysis_gram: XᵀX for KV compressibility) vs its float64 twin (gramRef): seeded
// random X, odd row counts and widths that cross the 32×32 output tiles and the 32-row steps, X read
// in place as a slice of wider rows, the output poisoned with NaN, and chunks accumulated in turn.
//
// Tolerance: each entry is an f32 sum of n products of values in [−1, 1), summed in 32-row steps that
// then join the running sum (two-level). Its rounding error is ≲ (32 + n/32)·2^-24·Σ|x_a·x_b|; relative
// to max(|G_ab|, Σ_r |x_ra·x_rb|) it stays below 2e-6 for n ≤ 1000, so 1e-5 relative to that scale.
import { describe, expect, it } from 'vitest';
import { gramRef } from '../../../src/main/engine/analysis/reference';
import { recordAnalysisGram } from '../../../src/main/engine/ops/analysis_gram';
import { checked, gpuRuntime, poisonedF32, randomF32 } from '../../helpers/gpu';

const REL = 1e-5;

/** Σ_r |x_ra·x_rb|: the scale of entry (a, b)'s rounding error. */
function absGram(x: Float32Array, n: number, dim: number, stride: number, offset: number): Float64Array {
  const ax = Float64Array.from(x, Math.abs);
  return gramRef(ax, n, dim, stride, offset);
}

function expectGram(got: Float32Array, want: Float64Array, scale: Float64Array, dim: number): void {
  expect(got.length).toBe(dim * dim);
  for (let i = 0; i < dim * dim; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= REL * Math.max(scale[i], 1e-30))) throw new Error(`g[${Math.floor(i / dim)}, ${i % dim}] = ${got[i]}, want ${want[i]} (scale ${scale[i]})`);
  }
  // Symmetric bit for bit: both triangles sum the same products in the same order.
  for (let a = 0; a < dim; a++) for (let b = a + 1; b < dim; b++) if (got[a * dim + b] !== got[b * dim + a]) throw new Error(`g not symmetric at (${a}, ${b})`);
}

const CASES = [
  { name: 'one row, dim 1', n: 1, dim: 1, stride: 1, offset: 0 },
  { name: '33 rows × 31 columns (one tile, a partial row step)', n: 33, dim: 31, stride: 31, offset: 0 },
  { name: '97 rows × 65 columns (3×3 tiles, 6 on the upper triangle)', n: 97, dim: 65, stride: 65, offset: 0 },
  { name: '301 rows × 129 columns, a slice at column 7 of 151-wide rows', n: 301, dim: 129, stride: 151, offset: 7 },
  { name: '1001 rows × 45 columns (many row steps)', n: 1001, dim: 45, stride: 45, offset: 0 },
];

describe.each(CASES)('analysis_gram: $name', (c) => {
  it('equals the float64 XᵀX (output poisoned with NaN first)', async () => {
    const rt = await gpuRuntime();
    const x = randomF32(c.n * c.stride, c.n * 31 + c.dim);
    const xb = rt.upload(x, 'x');
    const out = poisonedF32(rt, c.dim * c.dim, 'gram');
    await checked(rt, () => recordAnalysisGram(rt, { x: xb, out }, { n: c.n, dim: c.dim, stride: c.stride, offset: c.offset }));
    const got = await rt.readF32(out, c.dim * c.dim);
    expectGram(got, gramRef(x, c.n, c.dim, c.stride, c.offset), absGram(x, c.n, c.dim, c.stride, c.offset), c.dim);
    xb.destroy();
    out.destroy();
  });
});

describe('analysis_gram: chunks accumulated', () => {
  it('g = X₀ᵀX₀, then g += X₁ᵀX₁, … equals XᵀX of all rows (uneven chunks)', async () => {
    const rt = await gpuRuntime();
    const dim = 77;
    const stride = 80;
    const offset = 3;
    const sizes = [40, 33, 1, 57];
    const n = sizes.reduce((a, b) => a + b, 0);
    const x = randomF32(n * stride, 5);
    const out = poisonedF32(rt, dim * dim, 'gram');
    const bufs: GPUBuffer[] = [];
    let r0 = 0;
    await checked(rt, () => {
      sizes.forEach((m, k) => {
        const b = rt.upload(x.slice(r0 * stride, (r0 + m) * stride), `x${k}`);
        bufs.push(b);
        recordAnalysisGram(rt, { x: b, out }, { n: m, dim, stride, offset, accumulate: k > 0 });
        r0 += m;
      });
    });
    const got = await rt.readF32(out, dim * dim);
    expectGram(got, gramRef(x, n, dim, stride, offset), absGram(x, n, dim, stride, offset), dim);
    for (const b of [...bufs, out]) b.destroy();
  });

  it('rejects shapes that do not fit the buffers', async () => {
    const rt = await gpuRuntime();
    const x = rt.buffer(10 * 4 * 4, 'x');
    const out = rt.buffer(4 * 4 * 4, 'g');
    expect(() => recordAnalysisGram(rt, { x, out }, { n: 11, dim: 4 })).toThrow(/x holds/);
    expect(() => recordAnalysisGram(rt, { x, out }, { n: 10, dim: 5 })).toThrow(/out holds|x holds/);
    expect(() => recordAnalysisGram(rt, { x, out }, { n: 2, dim: 4, stride: 6, offset: 3 })).toThrow(/exceed the row stride/);
    x.destroy();
    out.destroy();
  });
});

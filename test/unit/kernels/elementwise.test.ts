// Embedding, RMSNorm (plain and fused residual), activations, add and RoPE against the CPU reference.
// Inputs are seeded random (never zero), outputs are poisoned with NaN first, and sizes are odd or
// cross the 256-thread workgroup so edge guards are exercised.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { activation, type ActivationKind } from '../../../src/main/engine/ops/activation';
import { add } from '../../../src/main/engine/ops/add';
import { f32ToF16Array } from '../../../src/main/engine/ops/convert';
import { embedding } from '../../../src/main/engine/ops/embedding';
import { rmsNorm } from '../../../src/main/engine/ops/rms_norm';
import { rope } from '../../../src/main/engine/ops/rope';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2, roundToF16 } from '../../helpers/gpu';

// f32 paths: f32 arithmetic against float64, a few ulps of the largest values.
const F32_ABS = 1e-5;
const F32_REL = 1e-6;

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

/** Weights as the GPU sees them: f16-rounded values for the reference, packed bits for the upload. */
function weights(values: Float32Array, f16: boolean, label: string): { ref: Float32Array; buf: GPUBuffer } {
  return f16 ? { ref: roundToF16(values), buf: rt.upload(f32ToF16Array(values), label) } : { ref: values, buf: rt.upload(values, label) };
}

describe('embedding', () => {
  for (const f16 of [false, true]) {
    it(`gathers rows (${f16 ? 'f16' : 'f32'} table), NaN for an id outside the vocabulary`, async () => {
      const vocab = 37;
      const dim = 301; // crosses a workgroup, odd (f16 pairs straddle rows)
      const table = weights(randomF32(vocab * dim, 1), f16, 'table');
      const ids = [5, 0, 36, 5, 17, 40];
      const out = poisonedF32(rt, ids.length * dim, 'out');
      await checked(rt, () => embedding(rt, { ids: rt.upload(Uint32Array.from(ids), 'ids'), table: table.buf, out, nTokens: ids.length, dim, vocab, wF16: f16 }));
      const got = await rt.readF32(out, ids.length * dim);
      const want = cpu.embedding(ids.slice(0, 5), table.ref, dim);
      expect(maxAbsErr(got.subarray(0, 5 * dim), want)).toBe(0); // a gather is exact
      expect(got.subarray(5 * dim).every(Number.isNaN)).toBe(true);
    });
  }
});

describe('rmsNorm', () => {
  for (const f16 of [false, true]) {
    for (const dim of [7, 257, 1000]) {
      it(`rows of ${dim}, ${f16 ? 'f16' : 'f32'} weight`, async () => {
        const rows = 3;
        const x = randomF32(rows * dim, dim, -2, 2);
        const w = weights(randomF32(dim, dim + 1, 0.5, 1.5), f16, 'w');
        const out = poisonedF32(rt, rows * dim, 'out');
        await checked(rt, () => rmsNorm(rt, { x: rt.upload(x, 'x'), w: w.buf, out, rows, dim, eps: 1e-5, wF16: f16 }));
        const want = cpu.rmsNorm(Float64Array.from(x), w.ref, rows, dim, 1e-5);
        const got = await rt.readF32(out, rows * dim);
        expect(maxAbsErr(got, want)).toBeLessThan(F32_ABS * 4);
        expect(relL2(got, want)).toBeLessThan(F32_REL * 4);
      });
    }
  }

  it('fused residual: h += delta is written back and the sum is normalised; strided slice of a wider row', async () => {
    // MLA-like: normalise the first 300 of each 340-wide row, write into a 310-wide output at offset 5.
    const rows = 4;
    const dim = 300;
    const stride = 340;
    const h = randomF32(rows * stride, 11, -3, 3);
    const delta = randomF32(rows * stride, 12);
    const w = weights(randomF32(dim, 13, 0.5, 1.5), true, 'w');
    const hBuf = rt.upload(h, 'h');
    const out = poisonedF32(rt, rows * 310, 'out');
    await checked(rt, () => rmsNorm(rt, { x: hBuf, delta: rt.upload(delta, 'delta'), w: w.buf, out, rows, dim, eps: 1e-6, wF16: true, xStride: stride, outStride: 310, outOffset: 5 }));
    const sum = new Float64Array(rows * dim);
    const hWant = Float64Array.from(h);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < dim; j++) {
        hWant[r * stride + j] = Math.fround(h[r * stride + j] + delta[r * stride + j]);
        sum[r * dim + j] = hWant[r * stride + j];
      }
    }
    const want = cpu.rmsNorm(sum, w.ref, rows, dim, 1e-6);
    const got = await rt.readF32(out, rows * 310);
    const gotRows = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      gotRows.set(got.subarray(r * 310 + 5, r * 310 + 5 + dim), r * dim);
      expect(Number.isNaN(got[r * 310])).toBe(true); // untouched outside the slice
    }
    expect(maxAbsErr(gotRows, want)).toBeLessThan(F32_ABS * 4);
    expect(maxAbsErr(await rt.readF32(hBuf, rows * stride), hWant)).toBe(0);
  });
});

describe('activations', () => {
  const ref: Record<ActivationKind, (a: Float64Array, b: Float64Array) => Float64Array> = {
    swiglu: (a, b) => cpu.mul(cpu.silu(a), b),
    relu2: (a) => cpu.relu2(a),
    sigmoid_mul: (a, b) => cpu.mul(cpu.sigmoid(a), b),
  };
  for (const kind of Object.keys(ref) as ActivationKind[]) {
    it(`${kind} on halves of a fused [rows, 2·cols] buffer`, async () => {
      const rows = 3;
      const cols = 259;
      const fused = randomF32(rows * 2 * cols, 21, -6, 6);
      const out = poisonedF32(rt, rows * cols, 'out');
      const buf = rt.upload(fused, 'gate_up');
      await checked(rt, () => activation(rt, { kind, rows, cols, a: { buf, stride: 2 * cols }, b: { buf, stride: 2 * cols, offset: cols }, out: { buf: out } }));
      const a = new Float64Array(rows * cols);
      const b = new Float64Array(rows * cols);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < cols; j++) {
          a[r * cols + j] = fused[r * 2 * cols + j];
          b[r * cols + j] = fused[r * 2 * cols + cols + j];
        }
      }
      const want = ref[kind](a, b);
      const got = await rt.readF32(out, rows * cols);
      expect(maxAbsErr(got, want)).toBeLessThan(1e-5 * 36);
      expect(relL2(got, want)).toBeLessThan(1e-6);
    });
  }

  it('add', async () => {
    const n = 1031;
    const a = randomF32(n, 31);
    const b = randomF32(n, 32);
    const out = poisonedF32(rt, n, 'out');
    await checked(rt, () => add(rt, { a: rt.upload(a, 'a'), b: rt.upload(b, 'b'), out, n }));
    const want = cpu.add(Float64Array.from(a), Float64Array.from(b));
    expect(maxAbsErr(await rt.readF32(out, n), want)).toBeLessThan(1e-7);
  });
});

describe('rope', () => {
  const cases = [
    // Llama: whole 64-dim heads, 3 heads.
    { name: 'rotate-half, full heads', interleaved: false, heads: 3, stride: 64, offset: 0, rotDim: 64, pos0: 0 },
    // PLM query: the last 64 dims of each 192-dim head, at a later position.
    { name: 'rotate-half, q_rope slice of 192-dim heads', interleaved: false, heads: 2, stride: 192, offset: 128, rotDim: 64, pos0: 1000 },
    // MLA k_rope: 64 dims at offset 512 of a 576-wide row, one head; GPT-J pairs.
    { name: 'interleaved, k_rope at 512 of 576', interleaved: true, heads: 1, stride: 576, offset: 512, rotDim: 64, pos0: 7 },
    { name: 'interleaved, odd head count, small dim', interleaved: true, heads: 5, stride: 10, offset: 2, rotDim: 6, pos0: 3 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const nTokens = 5;
      const n = nTokens * c.heads * c.stride;
      const x = randomF32(n, c.stride + c.heads);
      const buf = rt.upload(x, 'x');
      await checked(rt, () => rope(rt, { x: buf, nTokens, nHeads: c.heads, headStride: c.stride, offset: c.offset, rotDim: c.rotDim, pos0: c.pos0, theta: 10000, interleaved: c.interleaved }));
      const want = Float64Array.from(x);
      const positions = Array.from({ length: nTokens }, (_, t) => c.pos0 + t);
      (c.interleaved ? cpu.ropeInterleaved : cpu.ropeRotateHalf)(want, nTokens, c.heads, c.stride, c.offset, c.rotDim, positions, 10000);
      const got = await rt.readF32(buf, n);
      // f32 angles: pos·inv_freq rounds to ~pos·6e-8 rad, as in HF's f32 RoPE.
      const tol = 2e-6 + (c.pos0 + nTokens) * 2e-7;
      expect(maxAbsErr(got, want)).toBeLessThan(tol);
    });
  }
  // MLA's fused first projection row [q (2 heads × 192) ‖ latent (16) ‖ k_rope (64)]: q's rope slices
  // and k_rope turn in one dispatch (a second run of heads); the latent must stay untouched.
  it('interleaved, q_rope slices and k_rope of one fused row in one dispatch', async () => {
    const nTokens = 3;
    const W = 2 * 192 + 16 + 64;
    const pos0 = 40;
    const x = randomF32(nTokens * W, 77);
    const buf = rt.upload(x, 'x');
    await checked(rt, () => rope(rt, {
      x: buf, nTokens, nHeads: 2, headStride: 192, offset: 128, rotDim: 64, tokenStride: W, pos0, theta: 10000, interleaved: true,
      second: { nHeads: 1, base: 2 * 192 + 16, offset: 0 },
    }));
    const want = Float64Array.from(x);
    for (let t = 0; t < nTokens; t++) {
      const q = want.subarray(t * W, t * W + 2 * 192);
      cpu.ropeInterleaved(q, 1, 2, 192, 128, 64, [pos0 + t], 10000);
      const k = want.subarray(t * W + 2 * 192 + 16, (t + 1) * W);
      cpu.ropeInterleaved(k, 1, 1, 64, 0, 64, [pos0 + t], 10000);
    }
    expect(maxAbsErr(await rt.readF32(buf, nTokens * W), want)).toBeLessThan(2e-6 + (pos0 + nTokens) * 2e-7);
  });
});

// GPU argmax and sampler. Exact checks: greedy and top-k = 1 equal the CPU argmax, a seed reproduces
// its token, the repetition penalty moves the argmax, and the GPU draws match the CPU mirror of the
// kernel (generate/sampling.ts) seed by seed. Statistical check: over many seeds the draws follow
// softmax(logits / T) (chi-square with a loose bound), restricted correctly by top-k and top-p.
import { beforeAll, describe, expect, it } from 'vitest';
import * as cpu from '../../../src/main/engine/cpu/ops';
import { samplingParams, sampleCpu } from '../../../src/main/engine/generate/sampling';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { argmax } from '../../../src/main/engine/ops/argmax';
import { sample, type SampleArgs } from '../../../src/main/engine/ops/sample';
import { checked, gpuRuntime, randomF32 } from '../../helpers/gpu';

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

function cpuArgmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

type Opts = Omit<SampleArgs, 'logits' | 'out' | 'vocab' | 'seed' | 'outOffsetBytes'>;

/** One dispatch per seed, all in one batch, each writing its id 256 bytes apart; one read back. */
async function drawMany(logits: Float32Array, opts: Opts, seeds: number[]): Promise<number[]> {
  const buf = rt.upload(logits, 'logits');
  const out = rt.buffer(seeds.length * 256, 'ids');
  await checked(rt, () => {
    seeds.forEach((seed, k) => sample(rt, { logits: buf, out, vocab: logits.length, seed, outOffsetBytes: k * 256, ...opts }));
  });
  const ids = new Uint32Array(await rt.read(out));
  return seeds.map((_, k) => ids[k * 64]);
}

const base: Opts = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 };
const seedsUpTo = (n: number) => Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 0);

describe('argmax', () => {
  it('matches the CPU argmax on a vocabulary crossing the workgroup, on a row at an offset', async () => {
    const vocab = 2503; // three workgroup chunks
    const logits = randomF32(3 * vocab, 41, -5, 5);
    const out = rt.buffer(4, 'id');
    for (const row of [0, 2]) {
      await checked(rt, () => argmax(rt, { logits: rt.upload(logits, 'logits'), out, vocab, offset: row * vocab }));
      expect(new Uint32Array(await rt.read(out, 4))[0]).toBe(cpuArgmax(logits.subarray(row * vocab, (row + 1) * vocab)));
    }
  });

  it('takes the lowest index among ties (also across workgroup chunks) and ignores NaN', async () => {
    const logits = randomF32(3001, 42, -1, 1); // 3 chunks of 1024
    logits[10] = NaN;
    logits[2900] = 3;
    logits[1500] = 3;
    logits[2048] = 3;
    const out = rt.buffer(4, 'id');
    await checked(rt, () => argmax(rt, { logits: rt.upload(logits, 'logits'), out, vocab: 3001 }));
    expect(new Uint32Array(await rt.read(out, 4))[0]).toBe(1500);
    logits[5] = 3;
    logits[1023] = 3.5;
    await checked(rt, () => argmax(rt, { logits: rt.upload(logits, 'logits'), out, vocab: 3001 }));
    expect(new Uint32Array(await rt.read(out, 4))[0]).toBe(1023);
  });
});

describe('sample', () => {
  const vocab = 777;
  const logits = randomF32(vocab, 51, -4, 4);
  const best = cpuArgmax(logits);

  it('greedy (temperature 0) and top-k = 1 both give the argmax', async () => {
    expect(await drawMany(logits, { ...base, temperature: 0 }, [1, 2])).toEqual([best, best]);
    expect(await drawMany(logits, { ...base, topK: 1, temperature: 1.5 }, seedsUpTo(8))).toEqual(new Array(8).fill(best));
  });

  it('a seed reproduces its token; different seeds differ', async () => {
    const flat = randomF32(vocab, 52, -0.1, 0.1);
    const a = await drawMany(flat, base, seedsUpTo(16));
    const b = await drawMany(flat, base, seedsUpTo(16));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(8);
  });

  it('the repetition penalty divides positive and multiplies negative logits of the listed ids', async () => {
    const l = Float32Array.from([0.5, 2.0, 1.5, -0.2, -3]);
    const pen = rt.upload(Uint32Array.from([1, 1, 3]), 'penalised');
    // 2.0 / 2 = 1.0 < 1.5: the argmax moves from 1 to 2.
    expect(await drawMany(l, { ...base, temperature: 0, repetitionPenalty: 2, penalised: pen, nPenalised: 3 }, [0])).toEqual([2]);
    // With every token below zero, penalising the best one (×2) moves it behind the next.
    const neg = Float32Array.from([-1, -0.5, -0.7]);
    const pen2 = rt.upload(Uint32Array.from([1]), 'penalised');
    expect(await drawMany(neg, { ...base, temperature: 0, repetitionPenalty: 2, penalised: pen2, nPenalised: 1 }, [0])).toEqual([2]);
    expect(await drawMany(neg, { ...base, temperature: 0 }, [0])).toEqual([1]);
  });

  it('matches the CPU mirror of the kernel seed by seed (temperature, top-k, top-p, penalty)', async () => {
    const seeds = seedsUpTo(64);
    const seen = [best, 5, 9, 9];
    const pen = rt.upload(Uint32Array.from(seen), 'penalised');
    const configs = [
      { temperature: 0.8, topK: 0, topP: 1 },
      { temperature: 1.3, topK: 20, topP: 1 },
      { temperature: 1, topK: 0, topP: 0.6 },
      { temperature: 0.7, topK: 50, topP: 0.9 },
    ];
    for (const c of configs) {
      const got = await drawMany(logits, { ...c, repetitionPenalty: 1.3, penalised: pen, nPenalised: seen.length }, seeds);
      const params = samplingParams({ ...c, repetitionPenalty: 1.3 });
      const want = seeds.map((s) => sampleCpu(logits, params, s, seen));
      // f32 on the GPU against f64 on the CPU: a draw may only differ where two noisy scores nearly tie.
      const agree = got.filter((g, i) => g === want[i]).length;
      expect(agree, JSON.stringify(c)).toBeGreaterThanOrEqual(seeds.length - 1);
    }
  });

  it('top-k beyond the in-workgroup candidate buffer (2048) still matches the CPU mirror', async () => {
    const big = randomF32(3001, 53, -3, 3);
    const seeds = seedsUpTo(16);
    for (const c of [{ temperature: 1, topK: 2500, topP: 1 }, { temperature: 0.9, topK: 2600, topP: 0.8 }, { temperature: 0.9, topK: 100, topP: 0.8 }]) {
      const got = await drawMany(big, { ...c, repetitionPenalty: 1 }, seeds);
      const params = samplingParams({ ...c, repetitionPenalty: 1 });
      const want = seeds.map((s) => sampleCpu(big, params, s));
      expect(got.filter((g, i) => g === want[i]).length, JSON.stringify(c)).toBeGreaterThanOrEqual(seeds.length - 1);
    }
  });

  it('draws follow softmax(logits / T) and respect top-k and top-p', async () => {
    const l = Float32Array.from([1, 0.5, 0, -0.5, 2, -1]);
    const T = 0.7;
    const n = 3000;
    const seeds = seedsUpTo(n);
    const probs = Float64Array.from(l, (v) => v / T);
    cpu.softmaxRow(probs, 0, probs.length);

    const counts = (ids: number[]) => ids.reduce((c, id) => (c[id]++, c), new Array(l.length).fill(0) as number[]);
    const chi2 = (c: number[], p: ArrayLike<number>, keep: number[]) => {
      const mass = keep.reduce((s, i) => s + p[i], 0);
      return keep.reduce((s, i) => s + (c[i] - (n * p[i]) / mass) ** 2 / ((n * p[i]) / mass), 0);
    };

    const all = counts(await drawMany(l, { ...base, temperature: T }, seeds));
    // 5 degrees of freedom: P(χ² > 30) ≈ 1.5e-5 for a correct sampler; a wrong temperature gives hundreds.
    expect(chi2(all, probs, [0, 1, 2, 3, 4, 5])).toBeLessThan(30);

    // top-k = 2 keeps ids 4 and 0 only, in the ratio of their probabilities.
    const k2 = counts(await drawMany(l, { ...base, temperature: T, topK: 2 }, seeds));
    expect(k2[1] + k2[2] + k2[3] + k2[5]).toBe(0);
    expect(chi2(k2, probs, [4, 0])).toBeLessThan(20);

    // top-p: the smallest top set whose mass reaches p; p just below p(4) + p(0) keeps those two.
    const p = probs[4] + probs[0] - 0.01;
    const tp = counts(await drawMany(l, { ...base, temperature: T, topP: p }, seeds));
    expect(tp[1] + tp[2] + tp[3] + tp[5]).toBe(0);
    expect(chi2(tp, probs, [4, 0])).toBeLessThan(20);
    // Just above it, the third token (id 1) joins.
    const tp3 = counts(await drawMany(l, { ...base, temperature: T, topP: probs[4] + probs[0] + 0.01 }, seeds));
    expect(tp3[1]).toBeGreaterThan(0);
    expect(tp3[2] + tp3[3] + tp3[5]).toBe(0);
  });
});

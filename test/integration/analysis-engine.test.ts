// The analysis engine (src/main/engine/analysis) end to end on tiny seeded checkpoints of every family:
// reduceAttention's stats, thumbnails, JS/cosine matrices, f16 full maps and cross-layer matrices equal
// the float64 reference (shared/analysis/divergence.ts) computed from forward({attentionProbs}) maps;
// a forced small chunk gives the same result; attentionOfLayer is one layer of those maps; the CPU
// backend agrees; sharedMapNll with singleton groups is the baseline bit for bit, and with real groups
// the GPU equals the float64 CPU reference's shared-map NLL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { similarityMatrices, mapStats } from '../../src/shared/analysis/divergence';
import { attentionOfLayer, cacheGrams, reduceAttention, sharedMapNll, type AttentionReduction, type MapShare, type PartGram } from '../../src/main/engine/analysis';
import { gramRef, thumbsRef } from '../../src/main/engine/analysis/reference';
import { GpuBackend } from '../../src/main/engine/arch/gpu';
import type { AttentionMap, InferenceBackend } from '../../src/main/engine/arch/types';
import { openBackend } from '../../src/main/engine/backend';
import { crossRows } from '../../src/main/engine/ops/analysis_rows';
import { f16ToF32 } from '../../src/main/engine/ops/convert';
import { uploadCheckpoint } from '../../src/main/engine/weights/upload';
import { CancelledError, InvalidRequestError } from '../../src/shared/errors';
import { TINY_DSV2, TINY_GTA, TINY_LLAMA, TINY_PLM, TINY_QWEN2, writeTinyCheckpoint, rng } from '../helpers/checkpoint';
import { gpuRuntime, maxAbsErr } from '../helpers/gpu';

const T = 41; // odd; crosses the forced 16-row chunks unevenly (16 + 16 + 9)
const TINY_MHA = { ...TINY_LLAMA, num_key_value_heads: 4 };

// Tolerances. GPU f32 vs the float64 reference over the same f32 probabilities: sums of ≤ 41 terms,
// 1e-5 relative (stats), 1e-6 absolute (JS in bits, cosine, mean thumbnails). GPU vs the CPU backend
// (float64 forward): probabilities differ by f32 rounding of the whole forward, 1e-4.
const REL = 1e-5;
const ABS = 1e-6;

function expectStats(got: AttentionReduction['layers'][number]['stats'], want: ReturnType<typeof mapStats>[], tol = REL): void {
  expect(got.length).toBe(want.length);
  got.forEach((s, h) => {
    for (const k of ['entropy', 'distance', 'sink', 'local', 'self'] as const) {
      const w = want[h][k];
      if (!(Math.abs(s[k] - w) <= tol * Math.max(1, Math.abs(w)))) throw new Error(`map ${h} ${k}: ${s[k]} vs ${w}`);
    }
  });
}

describe.each([
  ['llama MHA', TINY_MHA],
  ['llama GQA', TINY_LLAMA],
  ['qwen2 GQA (biases, tied head)', TINY_QWEN2],
  ['PLM MLA', TINY_PLM],
  ['DeepSeek-V2 MLA (q_lora_rank)', TINY_DSV2],
  ['GTA (query groups)', TINY_GTA],
])('analysis engine: %s', (_name, raw) => {
  let gpu: InferenceBackend;
  let chunked: GpuBackend;
  let cpu: InferenceBackend;
  let maps: AttentionMap[];
  let ids: number[];

  beforeAll(async () => {
    const dir = writeTinyCheckpoint(raw, { seed: 21 });
    const rt = await gpuRuntime();
    gpu = (await openBackend(dir, { backend: 'gpu', dtype: 'f32', runtime: rt })).backend;
    const { info, weights } = await uploadCheckpoint(rt, dir, { dtype: 'f32' });
    chunked = new GpuBackend(rt, info.config, weights, { nCtx: info.config.maxPositions, device: 'test', maxChunk: 16 });
    cpu = (await openBackend(dir, { backend: 'cpu', dtype: 'f32' })).backend;
    const r = rng(7);
    ids = Array.from({ length: T }, () => Math.floor(r() * gpu.config.vocabSize));
    maps = (await gpu.forward({ ids, logits: 'none', attentionProbs: true })).attention;
    gpu.reset();
  });

  afterAll(() => {
    for (const b of [gpu, chunked, cpu]) b?.dispose();
  });

  it('reduceAttention equals the float64 reference of the full maps, in one chunk and in 16-row chunks', async () => {
    const S = 7;
    const R = 6;
    const opts = { thumbSide: S, thumbReduce: 'mean' as const, keepFull: true, crossLayerRows: R };
    const one = await reduceAttention(gpu, ids, opts);
    expect(gpu.position).toBe(0); // the cache is left reset
    const many = await reduceAttention(chunked, ids, opts);
    const L = gpu.config.numLayers;
    const heads = maps[0].heads;
    expect([one.tokens, one.maps, one.thumbSide, one.layers.length]).toEqual([T, heads, S, L]);
    for (const red of [one, many]) {
      for (const m of maps) {
        const lr = red.layers[m.layer];
        expectStats(lr.stats, Array.from({ length: heads }, (_, h) => mapStats(m.probs.subarray(h * T * T, (h + 1) * T * T), T, T)));
        const want = similarityMatrices(m.probs, heads, T, T);
        expect(maxAbsErr(lr.js, want.js)).toBeLessThan(ABS);
        expect(maxAbsErr(lr.cosine, want.cosine)).toBeLessThan(ABS);
        expect(maxAbsErr(lr.thumbs, thumbsRef(m.probs, heads, T, S, 'mean'))).toBeLessThan(ABS);
        // Full maps: the nearest f16 of each probability (relative 2^-11).
        expect(lr.full!.length).toBe(heads * T * T);
        for (let i = 0; i < m.probs.length; i++) {
          if (!(Math.abs(f16ToF32(lr.full![i]) - m.probs[i]) <= m.probs[i] * 2 ** -11 + 6e-8)) throw new Error(`full[${i}]`);
        }
      }
      // Cross-layer: every map of every layer on R evenly spaced rows.
      const rows = crossRows(T, R);
      expect(red.global!.rows).toEqual(rows);
      expect(red.global!.n).toBe(L * heads);
      const x = new Float32Array(L * heads * R * T);
      for (const m of maps) for (let h = 0; h < heads; h++) rows.forEach((i, k) => x.set(m.probs.subarray((h * T + i) * T, (h * T + i + 1) * T), ((m.layer * heads + h) * R + k) * T));
      const g = similarityMatrices(x, L * heads, R, T);
      expect(maxAbsErr(red.global!.js, g.js)).toBeLessThan(ABS);
      expect(maxAbsErr(red.global!.cosine, g.cosine)).toBeLessThan(ABS);
    }
    // 'max' thumbnails, chunked, S clamped to T, no cross-layer matrices.
    const mx = await reduceAttention(chunked, ids, { thumbSide: 1000, thumbReduce: 'max', keepFull: false, crossLayerRows: 0 });
    expect(mx.thumbSide).toBe(T);
    expect(mx.global).toBeNull();
    expect(mx.layers[0].full).toBeUndefined();
    // S = T: each cell is one entry (the chunked forward's probabilities differ by f32 rounding only).
    for (const m of maps) expect(maxAbsErr(mx.layers[m.layer].thumbs, m.probs)).toBeLessThan(1e-5);
  });

  it('attentionOfLayer is exactly one layer of the full maps (also chunked)', async () => {
    for (const b of [gpu, chunked]) {
      const a = await attentionOfLayer(b, ids, 1);
      expect([a.layer, a.heads, a.n, a.t, a.pos0]).toEqual([1, maps[1].heads, T, T, 0]);
      expect(maxAbsErr(a.probs, maps[1].probs)).toBeLessThan(1e-6);
      expect(b.position).toBe(0);
    }
    const c = await attentionOfLayer(cpu, ids, 1);
    expect(maxAbsErr(c.probs, maps[1].probs)).toBeLessThan(1e-4);
  });

  it('the CPU backend reduces alike (float64 reference forward)', async () => {
    const opts = { thumbSide: 5, thumbReduce: 'mean' as const, keepFull: false, crossLayerRows: 4 };
    const [g, c] = [await reduceAttention(gpu, ids, opts), await reduceAttention(cpu, ids, opts)];
    expect(cpu.position).toBe(0);
    for (let l = 0; l < g.layers.length; l++) {
      expectStats(c.layers[l].stats, g.layers[l].stats, 1e-4);
      expect(maxAbsErr(c.layers[l].js, g.layers[l].js)).toBeLessThan(1e-4);
      expect(maxAbsErr(c.layers[l].cosine, g.layers[l].cosine)).toBeLessThan(1e-4);
      expect(maxAbsErr(c.layers[l].thumbs, g.layers[l].thumbs)).toBeLessThan(1e-4);
    }
    expect(maxAbsErr(c.global!.js, g.global!.js)).toBeLessThan(1e-4);
  });

  it('sharedMapNll: singletons are the baseline bit for bit; real groups match the CPU reference', async () => {
    const heads = maps[0].heads;
    const all = [...Array(heads).keys()];
    const L = gpu.config.numLayers;
    const singles: MapShare[] = Array.from({ length: L }, (_, layer) => ({ layer, groups: all.map((h) => [h]), medoids: all, mode: 'medoid' }));
    const base = await sharedMapNll(gpu, ids, []);
    expect(base.tokens).toBe(T - 1);
    expect((await sharedMapNll(gpu, ids, singles)).nll).toBe(base.nll);
    expect((await sharedMapNll(chunked, ids, singles)).nll).toBe((await sharedMapNll(chunked, ids, [])).nll);
    const cpuBase = await sharedMapNll(cpu, ids, []);
    expect((await sharedMapNll(cpu, ids, singles)).nll).toBe(cpuBase.nll);
    // The baseline is the plain model's NLL (the CPU reference's own logits, float64 log-softmax).
    cpu.reset();
    const logits = (await cpu.forward({ ids, logits: 'all' })).logits;
    cpu.reset();
    let sum = 0;
    for (let i = 0; i + 1 < T; i++) {
      const row = logits[i];
      const mxv = Math.max(...row);
      sum += Math.log(row.reduce((a, v) => a + Math.exp(v - mxv), 0)) + mxv - row[ids[i + 1]];
    }
    expect(Math.abs(cpuBase.nll - sum / (T - 1))).toBeLessThan(1e-6); // f32 logits read back
    expect(Math.abs(base.nll - cpuBase.nll)).toBeLessThan(1e-4);
    // Real groups: layer 0 shares maps 0 and 1 (medoid 1) and, in 'mean' mode, layer L−1 all maps.
    const shares: MapShare[] = [
      { layer: 0, groups: [[0, 1], ...all.slice(2).map((h) => [h])], medoids: [1, ...all.slice(2)], mode: 'medoid' },
      { layer: L - 1, groups: [all], medoids: [0], mode: 'mean' },
    ];
    const g = await sharedMapNll(gpu, ids, shares);
    const gc = await sharedMapNll(chunked, ids, shares);
    const c = await sharedMapNll(cpu, ids, shares);
    expect(g.nll).not.toBe(base.nll);
    // GPU f32 forward vs float64: 1e-4 nats on a mean NLL near ln(vocab) ≈ 4.
    expect(Math.abs(g.nll - c.nll)).toBeLessThan(1e-4);
    expect(Math.abs(gc.nll - g.nll)).toBeLessThan(1e-5);
    expect(gpu.position).toBe(0);
  });

  it('MLA: a probe keeps the expanded prefill (first chunk) on tapped and untapped layers alike', async () => {
    if (gpu.config.family !== 'mla') return;
    const L = gpu.config.numLayers;
    const calls = (b: InferenceBackend, op: string): number => b.counters().byOp[op]?.calls ?? 0;
    const run = async (b: InferenceBackend, f: () => Promise<unknown>): Promise<[number, number]> => {
      const [up, ab] = [calls(b, 'kv_up'), calls(b, 'q_absorb')];
      await f();
      return [calls(b, 'kv_up') - up, calls(b, 'q_absorb') - ab];
    };
    // One chunk: every layer expanded, with the probability tap on all of them or on none.
    expect(await run(gpu, () => reduceAttention(gpu, ids, { thumbSide: 4, thumbReduce: 'mean', keepFull: false, crossLayerRows: 0 }))).toEqual([L, 0]);
    expect(await run(gpu, () => sharedMapNll(gpu, ids, [{ layer: 0, groups: [[0, 1]], medoids: [0], mode: 'medoid' }]))).toEqual([L, 0]);
    expect(await run(gpu, () => sharedMapNll(gpu, ids, []))).toEqual([L, 0]);
    // 16-row chunks (16 + 16 + 9): the first expanded, the later two absorbed over the latent cache.
    expect(await run(chunked, () => sharedMapNll(chunked, ids, [{ layer: 0, groups: [[0, 1]], medoids: [0], mode: 'medoid' }]))).toEqual([L, 2 * L]);
  });

  it('cacheGrams: XᵀX of the taps read back (one chunk, 16-row chunks); the CPU backend in float64', async () => {
    const fam = gpu.config.family;
    const names = fam === 'llama' ? ['k', 'v'] : fam === 'mla' ? ['latent'] : ['k', 'latent', 'v_decode'];
    const L = gpu.config.numLayers;
    const layers = [...Array(L).keys()];
    const keys = names.flatMap((n) => layers.map((l) => `${n}.${l}`));
    gpu.reset();
    const { taps } = await gpu.forward({ ids, logits: 'none', taps: keys });
    gpu.reset();
    const req = names.map((tap) => ({ tap, layers }));
    // Tolerance relative to Σ_r |x_ra·x_rb| (the scale of an entry's rounding): the GPU Gram's f32 sums
    // (≤ 2e-6, test/unit/kernels/analysis_gram.test.ts) plus the f32 forward's own differences between
    // runs that take other paths (taps: MLA absorbed; chunks) or the float64 CPU forward (1e-4).
    const expectGrams = (got: PartGram[], want: (g: PartGram) => ArrayLike<number>, rel: number): void => {
      expect(got.map((g) => `${g.tap}.${g.layer}`)).toEqual(got === cpuGrams ? keys.filter((k) => !k.startsWith('v_decode')) : keys);
      for (const g of got) {
        const x = taps[`${g.tap}.${g.layer}`];
        expect([g.rows, g.dim, g.gram.length]).toEqual([T, x.length / T, (x.length / T) ** 2]);
        const w = want(g);
        const scale = gramRef(Float64Array.from(x, Math.abs), T, g.dim);
        for (let i = 0; i < g.gram.length; i++) {
          if (!(Math.abs(g.gram[i] - w[i]) <= rel * scale[i] + 1e-12)) throw new Error(`${g.tap}.${g.layer}[${i}]: ${g.gram[i]} vs ${w[i]}`);
        }
        for (let a = 0; a < g.dim; a++) for (let b = a + 1; b < g.dim; b++) expect(g.gram[a * g.dim + b]).toBe(g.gram[b * g.dim + a]);
      }
    };
    const fromTaps = (g: PartGram): Float64Array => gramRef(taps[`${g.tap}.${g.layer}`], T, g.dim);
    let cpuGrams: PartGram[] | null = null;
    const one = await cacheGrams(gpu, ids, req);
    expect(gpu.position).toBe(0);
    expectGrams(one, fromTaps, 1e-5);
    expectGrams(await cacheGrams(chunked, ids, req), fromTaps, 1e-5);
    cpuGrams = await cacheGrams(cpu, ids, req.filter((r) => r.tap !== 'v_decode'));
    expect(cpu.position).toBe(0);
    const byKey = new Map(one.map((g) => [`${g.tap}.${g.layer}`, g.gram]));
    expectGrams(cpuGrams, (g) => byKey.get(`${g.tap}.${g.layer}`)!, 1e-4);
    if (names.includes('v_decode')) await expect(cacheGrams(cpu, ids, [{ tap: 'v_decode', layers: [0] }])).rejects.toThrow(/needs the GPU backend/);
    // A subset in another order comes back in the order asked.
    const sub = await cacheGrams(gpu, ids, [{ tap: names[names.length - 1], layers: [L - 1, 0] }]);
    expect(sub.map((g) => g.layer)).toEqual([L - 1, 0]);
    await expect(cacheGrams(gpu, ids, [{ tap: 'gate', layers: [0] }])).rejects.toThrow(InvalidRequestError);
    await expect(cacheGrams(gpu, ids, [{ tap: names[0], layers: [L] }])).rejects.toThrow(/not a layer/);
    await expect(cacheGrams(gpu, ids, [{ tap: names[0], layers: [0, 0] }])).rejects.toThrow(/twice/);
  });

  it('errors a user can act on: bad layers, groups, lengths; cancel', async () => {
    await expect(sharedMapNll(gpu, ids, [{ layer: 99, groups: [], medoids: [], mode: 'medoid' }])).rejects.toThrow(InvalidRequestError);
    await expect(sharedMapNll(gpu, ids, [{ layer: 0, groups: [[0, 1], [1]], medoids: [0, 1], mode: 'medoid' }])).rejects.toThrow(/map 1 is in two groups/);
    await expect(sharedMapNll(gpu, [3], [])).rejects.toThrow(/at least 2 tokens/);
    await expect(reduceAttention(gpu, Array(200).fill(1), { thumbSide: 4, thumbReduce: 'mean', keepFull: false, crossLayerRows: 0 })).rejects.toThrow(/shorten the text/);
    await expect(attentionOfLayer(gpu, ids, -1)).rejects.toThrow(InvalidRequestError);
    const ac = new AbortController();
    ac.abort();
    await expect(reduceAttention(gpu, ids, { thumbSide: 4, thumbReduce: 'mean', keepFull: false, crossLayerRows: 0, signal: ac.signal })).rejects.toThrow(CancelledError);
    expect(gpu.position).toBe(0);
  });
});

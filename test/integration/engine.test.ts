// The GPU forward passes against the CPU reference on tiny seeded-random checkpoints of every family:
// prefill logits (f32 and f16 weights), step-by-step decode with the cache, taps and attention maps.
import { afterAll, describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/main/engine/arch/gpu';
import { openBackend } from '../../src/main/engine/backend';
import { uploadCheckpoint } from '../../src/main/engine/weights/upload';
import type { InferenceBackend, WeightDtype } from '../../src/main/engine/arch/types';
import { gpuRuntime, relL2 } from '../helpers/gpu';
import { TINY_DSV2, TINY_GTA, TINY_LLAMA, TINY_PLM, TINY_QWEN2, writeTinyCheckpoint } from '../helpers/checkpoint';

const IDS = [3, 17, 0, 42, 8, 8, 25, 11, 39, 5];
const CASES: [string, Record<string, unknown>][] = [
  ['llama GQA', TINY_LLAMA],
  ['qwen2 biases, tied head', TINY_QWEN2],
  ['plm MLA', TINY_PLM],
  ['deepseek-v2 MLA with q_lora_rank', TINY_DSV2],
  ['gta (n_q 3, n_k 1, n_c 1, e 2)', TINY_GTA],
  ['gta grouped (n_q 6, n_k 2, n_c 3, e 1)', { ...TINY_GTA, num_query_heads: 6, num_key_heads: 2, num_value_heads: 3 }],
];
const TOL: Record<WeightDtype, number> = { f32: 1e-4, f16: 1e-2 };
const opened: InferenceBackend[] = [];
afterAll(() => opened.forEach((b) => b.dispose()));

async function open(dir: string, backend: 'gpu' | 'cpu', dtype: WeightDtype): Promise<InferenceBackend> {
  const { backend: b } = await openBackend(dir, { backend, dtype, runtime: backend === 'gpu' ? await gpuRuntime() : undefined });
  opened.push(b);
  return b;
}

describe.each(CASES)('GPU engine vs CPU reference: %s', (_name, raw) => {
  const dir = writeTinyCheckpoint(raw, { seed: 11 });

  it.each(['f32', 'f16'] as WeightDtype[])('prefill logits and cached decode match (%s weights)', async (dtype) => {
    const cpu = await open(dir, 'cpu', dtype);
    const gpu = await open(dir, 'gpu', dtype);
    const want = (await cpu.forward({ ids: IDS, logits: 'all' })).logits;
    const got = (await gpu.forward({ ids: IDS, logits: 'all' })).logits;
    expect(got.length).toBe(IDS.length);
    for (let i = 0; i < IDS.length; i++) expect(relL2(got[i], want[i]), `row ${i}`).toBeLessThan(TOL[dtype]);

    gpu.reset();
    const k = 4;
    const pre = await gpu.forward({ ids: IDS.slice(0, k), logits: 'last' });
    expect(relL2(pre.logits[0], want[k - 1])).toBeLessThan(TOL[dtype]);
    for (let i = k; i < IDS.length; i++) {
      const step = await gpu.forward({ ids: [IDS[i]], logits: 'last' });
      expect(relL2(step.logits[0], want[i]), `step ${i}`).toBeLessThan(TOL[dtype]);
    }
    expect(gpu.position).toBe(IDS.length);
  });
});

describe('chunked prefill', () => {
  it('a prompt recorded in chunks of 4 rows gives the logits, taps and cache of one chunk', async () => {
    const rt = await gpuRuntime();
    const dir = writeTinyCheckpoint(TINY_PLM, { seed: 13 });
    const whole = await open(dir, 'gpu', 'f32');
    const { info, weights } = await uploadCheckpoint(rt, dir, { dtype: 'f32' });
    const chunked = new GpuBackend(rt, info.config, weights, { nCtx: 64, device: 'test', maxChunk: 4 });
    opened.push(chunked);
    expect(chunked.chunk).toBe(4);
    const want = await whole.forward({ ids: IDS, logits: 'all', taps: ['attn_out.1'] });
    const got = await chunked.forward({ ids: IDS, logits: 'all', taps: ['attn_out.1'] });
    for (let i = 0; i < IDS.length; i++) expect(relL2(got.logits[i], want.logits[i]), `row ${i}`).toBeLessThan(1e-5);
    expect(relL2(got.taps['attn_out.1'], want.taps['attn_out.1'])).toBeLessThan(1e-5);
    const nextWhole = await whole.forward({ ids: [9], logits: 'last' });
    const nextChunked = await chunked.forward({ ids: [9], logits: 'last' });
    expect(relL2(nextChunked.logits[0], nextWhole.logits[0])).toBeLessThan(1e-5);
    chunked.reset();
    const last = await chunked.forward({ ids: IDS, logits: 'last' });
    expect(relL2(last.logits[0], want.logits[IDS.length - 1])).toBeLessThan(1e-5);
  });
});

describe('MLA prefill with per-head expanded K/V', () => {
  // A prompt at position 0 without taps attends with K_nope/V expanded from the latent rows; a tap
  // forces the absorbed form over the latent cache. Both are exact rewrites of the same attention.
  it.each(['f32', 'f16'] as WeightDtype[])('matches the absorbed path, then decodes from the latent cache (%s)', async (dtype) => {
    const dir = writeTinyCheckpoint(TINY_PLM, { seed: 17 });
    const ids = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % 50);
    const gpu = await open(dir, 'gpu', dtype);
    const cpu = await open(dir, 'cpu', dtype);
    const absorbed = await gpu.forward({ ids, logits: 'all', taps: ['attn_out.0'] });
    gpu.reset();
    const expanded = await gpu.forward({ ids, logits: 'all' });
    const tol = dtype === 'f32' ? 1e-5 : 2e-3;
    for (let i = 0; i < ids.length; i++) expect(relL2(expanded.logits[i], absorbed.logits[i]), `row ${i}`).toBeLessThan(tol);
    const want = await cpu.forward({ ids: [...ids, 9], logits: 'last' });
    const step = await gpu.forward({ ids: [9], logits: 'last' });
    expect(relL2(step.logits[0], want.logits[0])).toBeLessThan(TOL[dtype]);
  });
});

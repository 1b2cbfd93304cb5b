// Decode replay (src/main/engine/arch/replay.ts): replayed steps (greedy, and sampled with a new seed
// per token) must equal recorded ones. A
// verifying backend records every step as well and throws at the first word or command that differs;
// a plain backend on the same weights must then produce the same ids and the same counted work.
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/shared/arch/config';
import { GpuBackend } from '../../src/main/engine/arch/gpu';
import { GREEDY, Rng, type SamplingParams } from '../../src/main/engine/generate/sampling';
import { randomWeights } from '../../src/main/engine/weights/random';
import { TINY_GTA, TINY_LLAMA, TINY_PLM } from '../helpers/checkpoint';
import { gpuRuntime } from '../helpers/gpu';

const SAMPLED: SamplingParams = { greedy: false, temperature: 0.8, topK: 20, topP: 0.9, repetitionPenalty: 1, seed: 5 };
const N_CTX = 200;

// Absorbed MLA with a 256-wide latent takes the wide MQA decode kernel (attn_decode_mqa_wide).
const WIDE_PLM = { ...TINY_PLM, kv_lora_rank: 256, max_position_embeddings: N_CTX };

/** `steps` chained decode steps after `start` cache rows; per-token seeds from the params' seed, as generate draws them. */
async function chain(b: GpuBackend, params: SamplingParams, start: number, steps: number): Promise<{ ids: number[]; bytes: number; flops: number; calls: number }> {
  const rng = new Rng(params.seed);
  const sample = () => ({ params, seed: rng.nextU32(), seen: [] as number[] });
  b.fastFill(start);
  const ids = [(await b.forward({ ids: [3], logits: 'none', sample: sample() })).token!];
  const c0 = b.counters().total;
  const pending: Promise<number>[] = [];
  for (let i = 0; i < steps; i++) pending.push(b.decodeChained(sample()).token);
  ids.push(...(await Promise.all(pending)));
  const c1 = b.counters().total;
  return { ids, bytes: c1.bytes - c0.bytes, flops: c1.flops - c0.flops, calls: c1.calls - c0.calls };
}

describe('decode replay', () => {
  for (const [name, raw] of [['gta', TINY_GTA], ['llama', TINY_LLAMA], ['plm', TINY_PLM], ['plm-wide', WIDE_PLM]] as const) {
    it(`replays ${name} greedy and sampled steps exactly across buckets`, async () => {
      const rt = await gpuRuntime();
      const c = normalizeConfig({ ...raw, max_position_embeddings: N_CTX });
      const w = await randomWeights(rt, c, 'f32', 7);
      const checked = new GpuBackend(rt, c, w, { nCtx: N_CTX, device: 'test', verifyReplay: true, sharedWeights: true });
      const plain = new GpuBackend(rt, c, w, { nCtx: N_CTX, device: 'test' });
      try {
        for (const [params, start, steps] of [[GREEDY, 0, 70], [GREEDY, 121, 40], [SAMPLED, 30, 40]] as const) {
          const a = await chain(checked, params, start, steps);
          const before = plain.replayedSteps;
          const b = await chain(plain, params, start, steps);
          expect(plain.replayedSteps - before).toBeGreaterThan(steps / 2);
          expect(b.ids).toEqual(a.ids);
          expect({ bytes: b.bytes, flops: b.flops, calls: b.calls }).toEqual({ bytes: a.bytes, flops: a.flops, calls: a.calls });
        }
        expect(checked.replayedSteps).toBeGreaterThan(0);
      } finally {
        checked.dispose();
        plain.dispose();
      }
    }, 120_000);
  }
});

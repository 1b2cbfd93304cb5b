// The generation loop on a tiny GTA checkpoint: context check up front, stop via AbortSignal, stop
// tokens, streamed per-token timing, seed reproducibility of sampling (GPU and CPU backends).
import { afterAll, describe, expect, it } from 'vitest';
import { ContextLengthError } from '../../src/shared/errors';
import type { InferenceBackend } from '../../src/main/engine/arch/types';
import { openBackend } from '../../src/main/engine/backend';
import { checkContext, generate, generateStream } from '../../src/main/engine/generate/generate';
import { GREEDY, Rng, samplingParams } from '../../src/main/engine/generate/sampling';
import { gpuRuntime } from '../helpers/gpu';
import { TINY_GTA, writeTinyCheckpoint } from '../helpers/checkpoint';

const dir = writeTinyCheckpoint(TINY_GTA, { seed: 9 });
const PROMPT = [4, 12, 33, 7, 50];
const opened: InferenceBackend[] = [];
afterAll(() => opened.forEach((b) => b.dispose()));

async function gpu(nCtx = 48): Promise<InferenceBackend> {
  const { backend } = await openBackend(dir, { backend: 'gpu', dtype: 'f32', nCtx, runtime: await gpuRuntime() });
  opened.push(backend);
  return backend;
}

describe('generate', () => {
  it('refuses a prompt plus max tokens beyond the context, before running anything', async () => {
    expect(() => checkContext(3900, 200, 4096)).toThrow('prompt is 3,900 tokens + 200 requested > context 4,096: shorten the prompt or lower max tokens');
    const b = await gpu(32);
    const prompt = Array.from({ length: 30 }, (_, i) => (i * 7) % 59);
    await expect(generate(b, prompt, { maxTokens: 5, sampling: GREEDY })).rejects.toThrow(ContextLengthError);
    await expect(generate(b, prompt, { maxTokens: 5, sampling: GREEDY })).rejects.toThrow('prompt is 30 tokens + 5 requested > context 32');
    expect(b.position).toBe(0);
    const ok = await generate(b, prompt, { maxTokens: 2, sampling: GREEDY, stopTokens: [] });
    expect(ok.ids.length).toBe(2);
  });

  it('streams tokens with their latency and stops on an AbortSignal', async () => {
    const b = await gpu();
    const ctl = new AbortController();
    const seen: number[] = [];
    const r = await generate(b, PROMPT, { maxTokens: 20, sampling: GREEDY, stopTokens: [], signal: ctl.signal }, (t) => {
      expect(t.index).toBe(seen.length);
      expect(t.ms).toBeGreaterThan(0);
      seen.push(t.id);
      if (seen.length === 3) ctl.abort();
    });
    expect(r.ids).toEqual(seen);
    expect(r.ids.length).toBe(3);
    expect(r.stats.stopReason).toBe('aborted');
    expect(r.stats.tokenMs.length).toBe(3);
    expect(r.stats.promptTokens).toBe(PROMPT.length);
    expect(r.stats.kv.tokens).toBe(PROMPT.length + 2); // the last token is sampled, never fed back
    expect(r.stats.decodeWorkPerToken.total.bytes).toBeGreaterThan(0);
    expect(r.stats.prefillWork.byOp.attn.flops).toBeGreaterThan(0);
  });

  it('ends on a stop token without emitting it', async () => {
    const b = await gpu();
    const all = await generate(b, PROMPT, { maxTokens: 8, sampling: GREEDY, stopTokens: [] });
    const stop = all.ids[2];
    const r = await generate(b, PROMPT, { maxTokens: 8, sampling: GREEDY, stopTokens: [stop] });
    expect(r.ids).toEqual(all.ids.slice(0, all.ids.indexOf(stop)));
    expect(r.stats.stopReason).toBe('stop_token');
    expect(r.stats.stopToken).toBe(stop);
    // The step queued past the stop token was undone: the cache holds the prompt and the fed tokens.
    expect(b.position).toBe(PROMPT.length + r.ids.length);
  });

  it('the chained (pipelined) decode yields what step-by-step forward calls yield', async () => {
    const b = await gpu();
    const sampling = samplingParams({ temperature: 0.8, topK: 30, topP: 0.9, seed: 77 });
    const chained = await generate(b, PROMPT, { maxTokens: 10, sampling, stopTokens: [] });
    const rng = new Rng(sampling.seed);
    b.reset();
    let tok = (await b.forward({ ids: PROMPT, logits: 'none', sample: { params: sampling, seed: rng.nextU32(), seen: [] } })).token!;
    const manual = [tok];
    while (manual.length < 10) {
      tok = (await b.forward({ ids: [tok], logits: 'none', sample: { params: sampling, seed: rng.nextU32(), seen: [] } })).token!;
      manual.push(tok);
    }
    expect(chained.ids).toEqual(manual);
    expect(chained.stats.kv.tokens).toBe(PROMPT.length + 9);
  });

  it.each(['gpu', 'cpu'] as const)('sampling with a seed is reproducible (%s)', async (kind) => {
    const b = kind === 'gpu' ? await gpu() : (await openBackend(dir, { backend: 'cpu', dtype: 'f32', nCtx: 48 })).backend;
    // With a repetition penalty each step waits for the last id; without, steps are chained.
    const opts = (seed: number, repetitionPenalty = 1.1) => ({ maxTokens: 12, stopTokens: [], sampling: samplingParams({ temperature: 1.5, topK: 40, topP: 0.95, repetitionPenalty, seed }) });
    const a = await generate(b, PROMPT, opts(1234));
    const again = await generate(b, PROMPT, opts(1234));
    expect(again.ids).toEqual(a.ids);
    const plain = await generate(b, PROMPT, opts(99, 1));
    expect((await generate(b, PROMPT, opts(99, 1))).ids).toEqual(plain.ids);
    const others = await Promise.all([1, 2, 3].map(async (s) => (await generate(b, PROMPT, opts(s))).ids.join(',')));
    expect(new Set([a.ids.join(','), ...others]).size).toBeGreaterThan(1);
    const greedy = await generate(b, PROMPT, { maxTokens: 12, sampling: GREEDY, stopTokens: [] });
    expect(a.ids).not.toEqual(greedy.ids);
  });

  it('the async iterator yields the same tokens as the callback form and returns the stats', async () => {
    const b = await gpu();
    const it = generateStream(b, PROMPT, { maxTokens: 4, sampling: GREEDY, stopTokens: [] });
    const ids: number[] = [];
    let r = await it.next();
    while (!r.done) {
      ids.push(r.value.id);
      r = await it.next();
    }
    expect(r.value.ids).toEqual(ids);
    expect(ids).toEqual((await generate(b, PROMPT, { maxTokens: 4, sampling: GREEDY, stopTokens: [] })).ids);
    // Leaving the loop early undoes the step queued ahead: the cache holds the prompt and the fed tokens.
    for await (const t of generateStream(b, PROMPT, { maxTokens: 10, sampling: GREEDY, stopTokens: [] })) if (t.index === 2) break;
    expect(b.position).toBe(PROMPT.length + 2);
  });
});

// Issue 15, item 3: a reply whose first sampled token is a stop token (an empty reply) used to throw in
// the tokenizer's decode([]) and leave the message 'generating' and its run 'running' until restart.
// Through the real services on the bundled GTA model (CPU reference): the exact repro, a next turn after
// it, and a reply whose streaming fails for any other reason never staying 'generating'.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/main/services';
import { tempDir } from '../helpers/tmp';

let s: Services;
const REPRO = { temperature: 2, topK: 0, seed: 96 };

beforeAll(async () => {
  s = createServices({ dataDir: join(tempDir('wb-hardening-chat-'), 'data'), host: 'browser' });
  await s.handlers.loadModel({ modelId: 'zoo-gta-2.8m', backend: 'cpu' });
}, 120_000);
afterAll(async () => {
  await s?.shutdown();
});

describe('empty and stop-first replies', () => {
  it('completes an empty reply (first sampled token a stop token) and the next turn still works', async () => {
    const conv = await s.handlers.createConversation({});
    const r = await s.handlers.sendMessage({ conversationId: conv.id, text: 'The end.', sampling: REPRO });
    expect(r.reply).toMatchObject({ status: 'complete', text: '', tokenIds: [] });
    expect(r.reply.stats).toMatchObject({ generatedTokens: 0, stopReason: 'stop_token', tokenMs: [] });
    const run = await s.handlers.getRun({ id: r.runId });
    expect(run.status).toBe('completed');
    expect(run.metrics.find((m) => m.name === 'generated_tokens')?.value).toBe(0);
    const { messages } = await s.handlers.getConversation({ id: conv.id });
    expect(messages.map((m) => [m.role, m.status])).toEqual([['user', 'complete'], ['assistant', 'complete']]);
    // the conversation goes on: context usage and a next reply over the empty one
    expect((await s.handlers.contextUsage({ conversationId: conv.id })).usedTokens).toBeGreaterThan(0);
    const next = await s.handlers.sendMessage({ conversationId: conv.id, text: 'Go on.', sampling: { temperature: 0, repetitionPenalty: 1, maxTokens: 4 } });
    expect(next.reply.status).toBe('complete');
    expect(next.reply.tokenIds!.length).toBeGreaterThan(0);
  }, 60_000);

  it('never leaves a reply generating or its run running when streaming fails', async () => {
    const conv = await s.handlers.createConversation({});
    const tok = s.models.current()!.engine.tokenizer!;
    const decode = tok.decode.bind(tok);
    // every decode fails, the final text() of the failure path included
    tok.decode = () => {
      throw new TypeError('decoder exploded');
    };
    try {
      const e = await Promise.resolve(s.handlers.sendMessage({ conversationId: conv.id, text: 'Hello', sampling: { temperature: 0, repetitionPenalty: 1, maxTokens: 3 } })).catch((x: unknown) => x as Error);
      expect(e).toBeInstanceOf(Error);
    } finally {
      tok.decode = decode;
    }
    const { messages } = await s.handlers.getConversation({ id: conv.id });
    const reply = messages.find((m) => m.role === 'assistant')!;
    expect(reply.status).toBe('error');
    expect(reply.error).toContain('decoder exploded');
    const run = await s.handlers.getRun({ id: reply.runId! });
    expect(run.status).toBe('failed');
    // and the chat is free for the next message
    const ok = await s.handlers.sendMessage({ conversationId: conv.id, text: 'Hello', sampling: { temperature: 0, repetitionPenalty: 1, maxTokens: 3 } });
    expect(ok.reply.status).toBe('complete');
  }, 60_000);
});

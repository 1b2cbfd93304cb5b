// Chat through the real services on a tiny golden checkpoint (GPU engine on whatever adapter Dawn finds,
// lavapipe in CI; real SQLite): two completion-mode turns in token ids checked against the engine's own
// greedy generation, stop midway (partial reply kept as 'stopped'), regenerate, edit-and-resend, the
// context limit, and everything still there after the services restart on the same data directory.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyResult } from '../../src/shared/api';
import { ContextLengthError, InvalidRequestError } from '../../src/shared/errors';
import { GREEDY } from '../../src/main/engine';
import type { Services } from '../../src/main/services';
import { EventLog, makeZoo, openServices } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-chat-');
const dataDir = join(root, 'data');
const modelsDir = makeZoo(root, [{ id: 'tiny-gqa', golden: 'llama-gqa', generationConfig: { temperature: 0.7, top_k: 20, top_p: 0.9, max_new_tokens: 50 } }]);
let s: Services;
let log: EventLog;
let conversationId: string;
const greedy = { temperature: 0, repetitionPenalty: 1 };
// The first reply compiles the prefill and decode pipelines: about a minute or two on lavapipe with a
// cold shader cache.
const COLD_COMPILE_MS = 300_000;

beforeAll(async () => {
  s = openServices(dataDir, modelsDir);
  log = new EventLog(s);
  await s.handlers.loadModel({ modelId: 'tiny-gqa' });
});
afterAll(async () => {
  await s?.shutdown();
});

/** What the engine itself generates greedily from `prompt`, for comparison with the service's reply. */
async function engineGreedy(prompt: number[], maxTokens: number): Promise<number[]> {
  const { engine } = s.models.current()!;
  return (await engine.generate(prompt, { maxTokens, sampling: GREEDY, stopTokens: engine.stopTokens })).ids;
}

describe('chat service', () => {
  let first: ReplyResult;

  it('takes the default sampling from generation_config.json', async () => {
    const { loaded } = await s.handlers.modelStatus({});
    expect(loaded?.defaultSampling).toEqual({ temperature: 0.7, topK: 20, topP: 0.9, repetitionPenalty: 1.1, maxTokens: 50 });
  });

  it('answers two completion-mode turns in token ids, streaming token events', async () => {
    const conv = await s.handlers.createConversation({});
    conversationId = conv.id;
    expect(await s.handlers.contextUsage({ conversationId, draft: { tokenIds: [3, 17, 42] } })).toEqual({ usedTokens: 0, draftTokens: 3, limit: 256, remaining: 253 });

    first = await s.handlers.sendMessage({ conversationId, tokenIds: [3, 17, 42], mode: 'completion', sampling: { ...greedy, maxTokens: 5 } });
    const ids1 = first.reply.tokenIds!;
    expect(first.reply.status).toBe('complete');
    expect(ids1).toEqual(await engineGreedy([3, 17, 42], 5));
    expect(first.reply.text).toBe(ids1.join(' '));
    const tokens = log.of('token').filter((e) => e.messageId === first.reply.id);
    expect(tokens.map((t) => t.tokenId)).toEqual(ids1);
    expect(tokens.every((t) => t.taskId === first.taskId && t.ms > 0)).toBe(true);

    const st = first.reply.stats!;
    expect(st).toMatchObject({ mode: 'completion', promptTokens: 3, generatedTokens: ids1.length, context: { used: 3 + ids1.length, limit: 256 } });
    expect(st.tokenMs).toHaveLength(ids1.length);
    expect(st.prefillTokPerS).toBeGreaterThan(0);
    expect(st.kv.byPart.map((p) => `${p.layer}.${p.part}`)).toEqual(['0.keys', '0.values', '1.keys', '1.values']);
    // The last token is fed back only when generation ended on a stop token.
    const cached = st.context.used - (st.stopReason === 'max_tokens' ? 1 : 0);
    expect(st.kv.usedBytes).toBe(cached * 2 * 2 * 32 * 2);

    const second = await s.handlers.sendMessage({ conversationId, tokenIds: [5, 6], sampling: { ...greedy, maxTokens: 4 } });
    const prompt2 = [3, 17, 42, ...ids1, 5, 6];
    expect(second.reply.stats!.promptTokens).toBe(prompt2.length);
    expect(second.reply.tokenIds).toEqual(await engineGreedy(prompt2, 4));

    const run = await s.handlers.getRun({ id: second.runId });
    expect(run).toMatchObject({ kind: 'chat', status: 'completed', model: 'Tiny llama-gqa' });
    expect(run.metrics.filter((m) => m.name === 'token_ms')).toHaveLength(second.reply.tokenIds!.length);
    expect(run.metrics.map((m) => m.name)).toEqual(expect.arrayContaining(['prefill_tok_s', 'decode_tok_s', 'ttft_ms', 'kv_used_bytes', 'kv_used_bytes.keys', 'context_used']));
  }, COLD_COMPILE_MS);

  it('keeps a stopped reply as partial text marked stopped', async () => {
    const taskId = '31111111-2222-4333-8444-555555555555';
    const off = s.events.subscribe((e) => {
      if (e.type === 'token' && e.taskId === taskId && e.index === 2) void s.handlers.stopGeneration({ conversationId });
    });
    const r = await s.handlers.sendMessage({ conversationId, tokenIds: [9], taskId, sampling: { temperature: 0.9, seed: 7, maxTokens: 40 } });
    off();
    expect(r.reply.status).toBe('stopped');
    expect(r.reply.tokenIds).toHaveLength(3);
    expect(r.reply.stats?.stopReason).toBe('aborted');
    expect((await s.handlers.getRun({ id: r.runId })).status).toBe('stopped');
    expect(log.of('task-finished').find((e) => e.taskId === taskId)?.outcome).toBe('cancelled');
    expect(await s.handlers.stopGeneration({ conversationId })).toEqual({ stopped: false });
  });

  it('regenerates the last reply and edits an earlier message, dropping what followed', async () => {
    const before = (await s.handlers.getConversation({ id: conversationId })).messages;
    expect(before.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    const regen = await s.handlers.regenerate({ conversationId, sampling: { ...greedy, maxTokens: 3 } });
    expect(regen.userMessage).toBeNull();
    const after = (await s.handlers.getConversation({ id: conversationId })).messages;
    expect(after).toHaveLength(6);
    expect(after[5].id).toBe(regen.reply.id);
    expect(log.of('messages-removed').at(-1)).toEqual({ type: 'messages-removed', conversationId, ids: [before[5].id] });

    const edited = await s.handlers.editAndResend({ messageId: before[2].id, tokenIds: [11, 12, 13], sampling: { ...greedy, maxTokens: 2 } });
    const msgs = (await s.handlers.getConversation({ id: conversationId })).messages;
    expect(msgs.map((m) => m.id)).toEqual([before[0].id, before[1].id, before[2].id, edited.reply.id]);
    expect(msgs[2].tokenIds).toEqual([11, 12, 13]);
    expect(edited.reply.tokenIds).toEqual(await engineGreedy([3, 17, 42, ...first.reply.tokenIds!, 11, 12, 13], 2));
  });

  it('refuses what cannot work before storing anything', async () => {
    const count = (await s.handlers.getConversation({ id: conversationId })).messages.length;
    const long = Array.from({ length: 250 }, (_, i) => i % 200);
    await expect(s.handlers.sendMessage({ conversationId, tokenIds: long })).rejects.toThrow(ContextLengthError);
    await expect(s.handlers.sendMessage({ conversationId, tokenIds: long })).rejects.toThrow(/start a new conversation/i);
    await expect(s.handlers.sendMessage({ conversationId, text: 'hello' })).rejects.toThrow(/token ids/);
    await expect(s.handlers.sendMessage({ conversationId, tokenIds: [1], mode: 'chat' })).rejects.toThrow(InvalidRequestError);
    await expect(s.handlers.sendMessage({ conversationId, tokenIds: [300] })).rejects.toThrow(/outside this model's vocabulary/);
    expect((await s.handlers.getConversation({ id: conversationId })).messages).toHaveLength(count);
  });

  it('keeps conversations, messages and runs across a restart on the same data directory', async () => {
    const detail = await s.handlers.getConversation({ id: conversationId });
    const runs = await s.handlers.listRuns({ kind: 'chat' });
    await s.shutdown();
    s = openServices(dataDir, modelsDir);
    expect(await s.handlers.getConversation({ id: conversationId })).toEqual(detail);
    expect((await s.handlers.listConversations({})).conversations.map((c) => c.id)).toEqual([conversationId]);
    expect(await s.handlers.listRuns({ kind: 'chat' })).toEqual(runs);
    await expect(s.handlers.sendMessage({ conversationId, tokenIds: [1] })).rejects.toThrow(/No model is loaded/);
  });
});

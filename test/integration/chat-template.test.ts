// Chat mode through the real services: a tiny golden GTA checkpoint given a byte-level tokenizer with a
// ChatML template (test/helpers/services.ts). The prompt of each turn must be the template's rendering
// of the system prompt and the history, the reply the engine's greedy continuation of it, streamed as
// text pieces; completion mode on the same model sends plain text.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREEDY } from '../../src/main/engine';
import { loadTokenizer } from '../../src/main/engine/tokenizer';
import { TextStream } from '../../src/main/services/prompt';
import type { Services } from '../../src/main/services';
import { EventLog, GOLDEN, openServices, writeByteTokenizer } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-chatml-');
let s: Services;
let log: EventLog;
const greedy = { temperature: 0, repetitionPenalty: 1 };

beforeAll(async () => {
  const dir = join(root, 'gta-chatml');
  cpSync(join(GOLDEN, 'gta-mqa'), dir, { recursive: true });
  writeByteTokenizer(dir);
  s = openServices(join(root, 'data'), join(root, 'models'));
  log = new EventLog(s);
  const added = await s.handlers.addModelFolder({ path: dir, name: 'GTA ChatML' });
  expect(added.hasTokenizer).toBe(true);
  // The CPU reference: this file tests templates and prompts; chat.test.ts covers the GPU path.
  const loaded = await s.handlers.loadModel({ modelId: added.id, backend: 'cpu' });
  expect(loaded).toMatchObject({ hasTokenizer: true, hasChatTemplate: true, defaultMode: 'chat', tokenizerNote: null });
});
afterAll(async () => {
  await s?.shutdown();
});

const engine = () => s.models.current()!.engine;
const render = (messages: { role: string; content: string }[]) => engine().tokenizer!.encodeChat(messages, { addGenerationPrompt: true });
async function engineGreedy(prompt: number[], maxTokens: number): Promise<number[]> {
  return (await engine().generate(prompt, { maxTokens, sampling: GREEDY, stopTokens: engine().stopTokens })).ids;
}

describe('chat mode with a chat template', () => {
  it('renders system prompt and history with the template, turn after turn', async () => {
    const conv = await s.handlers.createConversation({ systemPrompt: 'Be brief.' });
    const system = { role: 'system', content: 'Be brief.' };
    const p1 = await render([system, { role: 'user', content: 'Hi' }]);
    expect(await s.handlers.contextUsage({ conversationId: conv.id, draft: { text: 'Hi' } })).toMatchObject({ usedTokens: 0, draftTokens: p1.length, limit: 256 });

    const r1 = await s.handlers.sendMessage({ conversationId: conv.id, text: 'Hi', sampling: { ...greedy, maxTokens: 6 } });
    expect(r1.reply.stats).toMatchObject({ mode: 'chat', promptTokens: p1.length });
    expect(r1.reply.tokenIds).toEqual(await engineGreedy(p1, 6));
    expect(r1.reply.tokenIds!.length).toBeGreaterThan(0);
    expect(r1.reply.text).toBe(engine().tokenizer!.decode(r1.reply.tokenIds!, { skipSpecialTokens: true }));
    const pieces = log.of('token').filter((e) => e.messageId === r1.reply.id).map((e) => e.text).join('');
    expect(r1.reply.text.startsWith(pieces)).toBe(true);
    expect(r1.userMessage?.tokenIds).toEqual([72, 105]); // "Hi" as bytes
    expect((await s.handlers.getConversation({ id: conv.id })).conversation.title).toBe('Hi');

    const r2 = await s.handlers.sendMessage({ conversationId: conv.id, text: 'More?', sampling: { ...greedy, maxTokens: 4 } });
    const p2 = await render([system, { role: 'user', content: 'Hi' }, { role: 'assistant', content: r1.reply.text }, { role: 'user', content: 'More?' }]);
    expect(r2.reply.stats!.promptTokens).toBe(p2.length);
    expect(r2.reply.tokenIds).toEqual(await engineGreedy(p2, 4));
  });

  it('sends plain text in completion mode', async () => {
    const conv = await s.handlers.createConversation({ title: 'doc' });
    const r = await s.handlers.sendMessage({ conversationId: conv.id, text: 'abc', mode: 'completion', sampling: { ...greedy, maxTokens: 3 } });
    expect(r.reply.stats).toMatchObject({ mode: 'completion', promptTokens: 3 });
    expect(r.reply.tokenIds).toEqual(await engineGreedy([97, 98, 99], 3));
  });
});

describe('TextStream', () => {
  it('holds back half a character and restarts its window after a line break', async () => {
    const dir = tempDir('wb-tok-');
    writeByteTokenizer(dir);
    const tok = (await loadTokenizer(dir)).tokenizer!;
    const t = new TextStream(tok);
    const ids = [...Buffer.from('aé\nb€', 'utf8')];
    const pieces = ids.map((id) => t.push(id));
    expect(pieces).toEqual(['a', '', 'é', '\n', 'b', '', '', '€']);
    expect(t.text()).toBe('aé\nb€');
    const bare = new TextStream(null);
    expect([5, 7, 9].map((id) => bare.push(id)).join('')).toBe('5 7 9');
    expect(bare.text()).toBe('5 7 9');
  });
});

describe('a conversation that changes model', () => {
  it('re-encodes earlier turns from their text, and says so when the new model cannot', async () => {
    const chatml = s.models.current()!.info.modelId;
    const bare = await s.handlers.addModelFolder({ path: join(GOLDEN, 'llama-gqa') });
    await s.handlers.loadModel({ modelId: bare.id, backend: 'cpu' });
    const conv = await s.handlers.createConversation({});
    const r1 = await s.handlers.sendMessage({ conversationId: conv.id, tokenIds: [3, 17, 42], sampling: { ...greedy, maxTokens: 2 } });

    await s.handlers.loadModel({ modelId: chatml, backend: 'cpu' });
    const r2 = await s.handlers.sendMessage({ conversationId: conv.id, text: 'x', mode: 'completion', sampling: { ...greedy, maxTokens: 2 } });
    // The byte tokenizer spends one id per byte of each earlier turn's text, then one for "x".
    expect(r2.reply.stats!.promptTokens).toBe('3 17 42'.length + Buffer.byteLength(r1.reply.text) + 1);

    await s.handlers.loadModel({ modelId: bare.id, backend: 'cpu' });
    await expect(s.handlers.sendMessage({ conversationId: conv.id, tokenIds: [5] })).rejects.toThrow(/written with another model/);
  });
});

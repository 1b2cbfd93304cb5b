// Issue 15, item 1: a chat template could crash or freeze the host. Templates ran on the main thread, so
// `range(1000000000)` stopped the server answering and killed it after 7 s (V8 "invalid size" at 2.2 GB)
// and three nested `range(10000)` loops spun forever. Templates now render in a worker with a time,
// memory and output budget: through the real services (CPU reference, the tiny GTA golden checkpoint
// with a byte-level tokenizer), a runaway template is a clear error on that model within ~3 s while
// other requests are answered meanwhile, validation reports it as a tokenizer problem, and a normal
// template renders exactly as before.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/shared/errors';
import { loadTokenizer } from '../../src/main/engine/tokenizer';
import type { Services } from '../../src/main/services';
import { GOLDEN, openServices, TINY_CHAT_TEMPLATE, writeByteTokenizer } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const HUGE_RANGE = "{% for i in range(1000000000) %}{% endfor %}{{ messages[0]['content'] }}";
const NESTED = "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}{% endfor %}{{ messages[0]['content'] }}";
const HUGE_OUTPUT = `{% for i in range(500) %}${'x'.repeat(10_000)}{% endfor %}`;
/**
 * Validation renders a template once on a small conversation and refuses a runaway one, so the model
 * could not be loaded with it: these run away only when the last message is "Hi", as a template that
 * is slow on some conversations only would, and get through validation.
 */
const onHi = (runaway: string) => `{% if messages[-1]['content'] == 'Hi' %}${runaway}{% else %}${TINY_CHAT_TEMPLATE}{% endif %}`;

const root = tempDir('wb-hardening-template-');
let s: Services;
let modelId: string;
const dir = join(root, 'gta-template');

const usageOf = (p: Parameters<Services['handlers']['contextUsage']>[0]) => Promise.resolve(s.handlers.contextUsage(p));

function setTemplate(template: string): void {
  const path = join(dir, 'tokenizer_config.json');
  const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, JSON.stringify({ ...config, chat_template: template }));
}

/** Load the model after its template was replaced on disk (added while it was still a normal one). */
async function loadWith(template: string): Promise<void> {
  setTemplate(onHi(template));
  await s.handlers.loadModel({ modelId, backend: 'cpu' });
}

/**
 * contextUsage with `template` loaded: the clear error within ~3 s, and listModels answered while the
 * template runs (within 500 ms of being asked, long before the render's budget ends).
 */
async function expectRunaway(template: string, what: RegExp): Promise<void> {
  await loadWith(template);
  const conv = await s.handlers.createConversation({});
  const t0 = Date.now();
  const usage = usageOf({ conversationId: conv.id, mode: 'chat', draft: { text: 'Hi' } }).then(
    () => null,
    (e: unknown) => e,
  );
  const other = await s.handlers.listModels({});
  expect(Date.now() - t0).toBeLessThan(500);
  expect(other.models.some((m) => m.id === modelId)).toBe(true);
  const err = await usage;
  expect(Date.now() - t0).toBeLessThan(3500);
  expect(err).toBeInstanceOf(InvalidRequestError);
  expect((err as Error).message).toMatch(what);
  expect((err as Error).message).toMatch(/GTA Template/);
  expect((err as Error).message).toMatch(/chat_template or use completion mode/);
  // the model still serves completion mode, and a send in chat mode gives the same error, nothing stored
  const sent = await Promise.resolve(s.handlers.sendMessage({ conversationId: conv.id, text: 'Hi', mode: 'chat', sampling: { maxTokens: 2 } })).catch((e: unknown) => e);
  expect(sent).toBeInstanceOf(InvalidRequestError);
  expect((await s.handlers.getConversation({ id: conv.id })).messages).toEqual([]);
  const done = await s.handlers.sendMessage({ conversationId: conv.id, text: 'Hi', mode: 'completion', sampling: { temperature: 0, maxTokens: 2 } });
  expect(done.reply.status).toBe('complete');
}

beforeAll(async () => {
  cpSync(join(GOLDEN, 'gta-mqa'), dir, { recursive: true });
  writeByteTokenizer(dir);
  s = openServices(join(root, 'data'), join(root, 'models'));
  const added = await s.handlers.addModelFolder({ path: dir, name: 'GTA Template' });
  modelId = added.id;
}, 120_000);
afterAll(async () => {
  await s?.shutdown();
});

describe('runaway chat templates', () => {
  it('the exact repro (range(1000000000)): validation reports it within ~3 s, other requests answered meanwhile', async () => {
    setTemplate(HUGE_RANGE);
    const t0 = Date.now();
    const check = Promise.resolve(s.handlers.validateModelFolder({ path: dir }));
    const other = await s.handlers.listModels({});
    expect(Date.now() - t0).toBeLessThan(500);
    expect(other.models.some((m) => m.id === modelId)).toBe(true);
    const v = await check;
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(v.ok).toBe(false);
    expect(v.problems.some((p) => p.kind === 'tokenizer' && /chat template of this folder (ran past 2 s|used more than \d+ MB of memory)/.test(p.message))).toBe(true);
    // and the tokenizer itself: the render is refused, not the process
    const { tokenizer } = await loadTokenizer(dir);
    await expect(tokenizer!.encodeChat([{ role: 'user', content: 'Hi' }], { model: 'Repro' })).rejects.toThrow(/the chat template of Repro (ran past 2 s|used more than \d+ MB of memory)/);
  }, 30_000);

  it('three nested range(10000): validation reports it within ~3 s', async () => {
    setTemplate(NESTED);
    const t0 = Date.now();
    const v = await s.handlers.validateModelFolder({ path: dir });
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(v.problems.some((p) => p.kind === 'tokenizer' && /ran past 2 s/.test(p.message))).toBe(true);
  }, 30_000);

  it('range(1000000000) on a loaded model: contextUsage and sendMessage give the clear error, other requests answered', async () => {
    await expectRunaway(HUGE_RANGE, /ran past 2 s|more than \d+ MB of memory/);
  }, 30_000);

  it('three nested range(10000) on a loaded model: the clear error within ~3 s, other requests answered', async () => {
    await expectRunaway(NESTED, /ran past 2 s/);
  }, 30_000);

  it('a template whose output passes 4 MB: a clear error', async () => {
    await loadWith(HUGE_OUTPUT);
    const conv = await s.handlers.createConversation({});
    const err = await usageOf({ conversationId: conv.id, mode: 'chat', draft: { text: 'Hi' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as Error).message).toMatch(/more than 4 MB/);
  }, 30_000);

  it('two conversations: a second contextUsage is answered while the runaway one renders', async () => {
    await loadWith(NESTED);
    const a = await s.handlers.createConversation({});
    const b = await s.handlers.createConversation({});
    const first = usageOf({ conversationId: a.id, mode: 'chat', draft: { text: 'Hi' } }).catch((e: unknown) => e);
    const t0 = Date.now();
    const second = await usageOf({ conversationId: b.id, mode: 'completion', draft: { text: 'Hi' } });
    expect(Date.now() - t0).toBeLessThan(500);
    expect(second.draftTokens).toBe(2); // completion mode needs no template: answered at once
    expect(await first).toBeInstanceOf(InvalidRequestError);
    // after the worker was stopped, a fresh one renders the next conversation
    const fine = await usageOf({ conversationId: b.id, mode: 'chat', draft: { text: 'Hello' } });
    expect(fine.draftTokens).toBeGreaterThan(5);
  }, 30_000);
});

describe('normal templates', () => {
  it('render identically to before, in the worker', async () => {
    setTemplate(TINY_CHAT_TEMPLATE);
    const v = await s.handlers.validateModelFolder({ path: dir });
    expect(v.problems).toEqual([]);
    const { tokenizer } = await loadTokenizer(dir);
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    const text = '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n';
    expect(await tokenizer!.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(text);
    expect(await tokenizer!.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(new Template(TINY_CHAT_TEMPLATE).render({ messages, add_generation_prompt: true, bos_token: '', eos_token: '<|im_end|>' }));
    const ids = await tokenizer!.encodeChat(messages, { addGenerationPrompt: true });
    expect(ids).toEqual(tokenizer!.encode(text, { addSpecialTokens: false }));
    await s.handlers.loadModel({ modelId, backend: 'cpu' });
    const conv = await s.handlers.createConversation({ systemPrompt: 'Be brief.' });
    expect((await usageOf({ conversationId: conv.id, mode: 'chat', draft: { text: 'Hi' } })).draftTokens).toBe(ids.length);
  }, 60_000);
});

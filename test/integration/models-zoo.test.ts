// The bundled zoo as the app sees it (models/catalog.json beside package.json): four checkpoints with
// cards, the GTA one the default, each folder valid; the default model chats in chat mode through its
// ChatML template, its reply the engine's own greedy continuation of the rendered prompt.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GREEDY } from '../../src/main/engine';
import { createServices } from '../../src/main/services';
import { tempDir } from '../helpers/tmp';

const s = createServices({ dataDir: join(tempDir('wb-zoo-'), 'data'), host: 'browser' });
afterAll(() => s.shutdown());

describe('bundled model zoo', () => {
  it('lists the four variants with cards, GTA as default, every folder valid', async () => {
    const { models, catalogProblem } = await s.handlers.listModels({});
    expect(catalogProblem).toBeUndefined();
    const bundled = models.filter((m) => m.source === 'bundled');
    expect(bundled.map((m) => m.variant).sort()).toEqual(['GQA', 'GTA', 'MHA', 'MLA']);
    expect(bundled.filter((m) => m.isDefault).map((m) => m.variant)).toEqual(['GTA']);
    for (const m of bundled) {
      expect(m.problem).toBeNull();
      expect(m.hasTokenizer).toBe(true);
      expect(m.card?.length).toBeGreaterThan(100);
      const check = await s.handlers.validateModelFolder({ path: m.path });
      expect(check.problems, m.id).toEqual([]);
      expect(check.hasChatTemplate).toBe(true);
    }
  });

  it('chats with the default model through its chat template', async () => {
    const def = (await s.handlers.listModels({})).models.find((m) => m.isDefault)!;
    // The CPU reference keeps this file fast; chat.test.ts runs replies on the GPU.
    const loaded = await s.handlers.loadModel({ modelId: def.id, backend: 'cpu' });
    expect(loaded).toMatchObject({ defaultMode: 'chat', hasChatTemplate: true, nCtx: def.maxContext });
    const conv = await s.handlers.createConversation({});
    const r = await s.handlers.sendMessage({ conversationId: conv.id, text: 'Tell me about the sea.', sampling: { temperature: 0, repetitionPenalty: 1, maxTokens: 8 } });
    const { engine } = s.models.current()!;
    const prompt = await engine.tokenizer!.encodeChat([{ role: 'user', content: 'Tell me about the sea.' }], { addGenerationPrompt: true });
    expect(r.reply.stats).toMatchObject({ mode: 'chat', promptTokens: prompt.length });
    expect(r.reply.tokenIds).toEqual((await engine.generate(prompt, { maxTokens: 8, sampling: GREEDY, stopTokens: engine.stopTokens })).ids);
    expect(r.reply.text.trim().length).toBeGreaterThan(0);
  });
});

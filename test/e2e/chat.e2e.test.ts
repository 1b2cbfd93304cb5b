// A person's path through Models and Chat on the real browser host and GPU adapter: pick the default
// bundled model (or, without a zoo, a tiny checkpoint added by path), chat two turns, stop a long reply
// midway, then restart the server and find the conversation, its runs and the stopped reply again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { Harness } from './harness';
import { chatModelFolder, tempDir } from './fixtures';

let h: Harness;
const root = tempDir('gta-e2e-models-');

beforeAll(async () => {
  h = await Harness.start();
});
afterEach(async () => {
  await h.closeContexts();
  expect(h.takeConsoleErrors()).toEqual([]);
});
afterAll(async () => {
  await h?.close();
});

const assistant = (page: Page) => page.locator('[data-testid="message"][data-role="assistant"]');

async function setNumber(page: Page, testId: string, value: number): Promise<void> {
  const input = page.getByTestId(testId).locator('input');
  await input.fill(String(value));
  await input.press('Tab');
}

/** Sends one message and waits for its reply to end (Send is back once the host answered). */
async function turn(page: Page, text: string, replies: number): Promise<void> {
  await page.getByTestId('composer').locator('textarea').fill(text);
  await page.getByTestId('send').click();
  await expect.poll(() => assistant(page).count()).toBe(replies);
  await expect.poll(() => assistant(page).last().getAttribute('data-status'), { timeout: 120_000 }).toBe('complete');
  await page.getByTestId('send').waitFor();
}

describe('chat', () => {
  it('loads a model, chats two turns, stops a reply midway, and keeps it all across a restart', async () => {
    const page = await h.open('#/models');
    await page.getByTestId('model-list').waitFor();
    const bundled = (await h.api('listModels', {})).models.find((m) => m.isDefault && m.hasTokenizer && !m.problem);
    let modelName: string;
    if (bundled) {
      modelName = bundled.name;
    } else {
      // No bundled zoo in this checkout: add a tiny checkpoint by path, as a user of the browser host does.
      modelName = 'GTA tiny chat';
      await page.getByTestId('add-folder-path').locator('input').fill(chatModelFolder(root));
      await page.getByTestId('add-folder-validate').click();
      await expect.poll(() => page.getByTestId('add-folder-result').innerText()).toContain('Ready to add');
      await page.getByTestId('add-folder-name').locator('input').fill(modelName);
      await page.getByTestId('add-folder-add').click();
    }
    const item = page.locator('[data-testid="model-item"]', { has: page.getByTestId('model-name').getByText(modelName, { exact: true }) });
    await item.getByTestId('model-load').click();
    await page.getByTestId('loaded-model').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('loaded-model-name').innerText()).toBe(modelName);
    const memory = await page.getByTestId('loaded-memory').innerText();
    expect(memory).toMatch(/Weights\s+[\d.]+ [KM]iB/);
    expect(memory).toMatch(/KV cache reserved\s+[\d.]+ [KM]iB/);
    await item.getByTestId('model-loaded-tag').waitFor();
    await h.screenshot(page, 'models');

    // Chat: greedy, so the replies (and where the long one stops) do not depend on a random seed.
    await page.getByTestId('nav-chat').click();
    await expect.poll(() => page.getByTestId('chat-loaded-model').innerText()).toContain(modelName);
    await setNumber(page, 'sampling-temperature', 0);
    await setNumber(page, 'sampling-max-tokens', 12);
    await turn(page, 'Hello there', 1);
    await page.waitForURL(/#\/chat\/[0-9a-f-]{36}$/);
    const conversationId = page.url().split('/').pop()!;
    // A system prompt for the conversation, saved by the host when the field is left.
    await page.getByTestId('system-prompt').locator('textarea').fill('Answer briefly.');
    await page.getByTestId('composer').locator('textarea').click();
    await expect.poll(async () => (await h.api('getConversation', { id: conversationId })).conversation.systemPrompt).toBe('Answer briefly.');
    await turn(page, 'Tell me *more*, please', 2);
    expect(await page.locator('[data-role="user"]').last().getByTestId('message-text').innerHTML()).toContain('<em>more</em>');
    for (const stats of await page.getByTestId('message-stats').allInnerTexts()) expect(stats).toMatch(/\d+ tokens · prefill [\d.,]+ tok\/s · decode [\d.,]+ tok\/s/);
    await page.getByTestId('kv-chart').locator('canvas').waitFor();
    const nCtx = (await h.api('modelStatus', {})).loaded!.nCtx;
    expect(await page.getByTestId('context-numbers').innerText()).toMatch(new RegExp(`^\\d+ in the conversation of ${nCtx.toLocaleString('en-US')} tokens$`));

    // Edit the second message and resend it: the later reply is replaced, not added.
    const secondReply = await assistant(page).nth(1).getAttribute('data-message-id');
    const secondUser = page.locator('[data-testid="message"][data-role="user"]').nth(1);
    await secondUser.hover();
    await secondUser.getByTestId('message-edit').click();
    await secondUser.getByTestId('edit-input').locator('textarea').fill('Tell me less');
    await secondUser.getByTestId('edit-resend').click();
    await expect.poll(() => secondUser.getByTestId('message-text').innerText()).toBe('Tell me less');
    await expect.poll(() => assistant(page).nth(1).getAttribute('data-message-id')).not.toBe(secondReply);
    await page.getByTestId('send').waitFor({ timeout: 120_000 });
    expect(await assistant(page).count()).toBe(2);

    // Regenerate the last reply as plain completion (what a base model gets).
    const edited = await assistant(page).nth(1).getAttribute('data-message-id');
    await page.getByTestId('chat-mode').getByText('Plain completion').click();
    await assistant(page).nth(1).hover();
    await assistant(page).nth(1).getByTestId('message-regenerate').click();
    await expect.poll(() => assistant(page).nth(1).getAttribute('data-message-id')).not.toBe(edited);
    await page.getByTestId('send').waitFor({ timeout: 120_000 });
    await expect.poll(() => page.getByTestId('reply-stats').innerText()).toMatch(/completion · T 0/);

    // A long reply, stopped as soon as its first tokens show. Plain completion of prose: a trained chat
    // model may end a chat turn on its own within a few tokens, leaving nothing to stop.
    await setNumber(page, 'sampling-max-tokens', 200);
    await page.getByTestId('composer').locator('textarea').fill('Chapter 1. It was a truth universally acknowledged, and the sea was');
    await page.getByTestId('send').click();
    const third = assistant(page).nth(2);
    await third.getByTestId('message-text').waitFor();
    await page.getByTestId('stop').click();
    await page.getByTestId('send').waitFor({ timeout: 60_000 });
    await expect.poll(() => third.getAttribute('data-status')).toBe('stopped');
    await third.getByTestId('message-stopped').waitFor();
    const stopped = await third.getByTestId('message-stats').innerText();
    const generated = Number(/^(\d+) tokens/.exec(stopped)?.[1]);
    expect(generated).toBeGreaterThan(0);
    expect(generated).toBeLessThan(200);
    expect(stopped).toContain('stopped by you');
    expect(await page.getByTestId('reply-stats').innerText()).toContain('stopped by you');
    await page.waitForTimeout(300); // the KV chart's first frame
    await h.screenshot(page, 'chat');

    const before = await h.api('getConversation', { id: conversationId });
    expect(before.messages.map((m) => `${m.role}:${m.status}`)).toEqual(['user:complete', 'assistant:complete', 'user:complete', 'assistant:complete', 'user:complete', 'assistant:stopped']);
    const runIds = before.messages.filter((m) => m.role === 'assistant').map((m) => m.runId!);

    // The host restarts (new token): the page opened from its new URL finds everything again.
    await h.closeContexts();
    await h.restartServer();
    const again = await h.open(`#/chat/${conversationId}`);
    await expect.poll(() => again.getByTestId('message').count()).toBe(6);
    const last = assistant(again).nth(2);
    expect(await last.getAttribute('data-status')).toBe('stopped');
    await last.getByTestId('message-stopped').waitFor();
    expect((await h.api('getConversation', { id: conversationId })).messages[5].text).toBe(before.messages[5].text);
    expect((await last.getByTestId('message-text').innerText()).length).toBeGreaterThan(0);
    expect(await again.getByTestId('conversation-list').innerText()).toContain('Hello there');
    await h.screenshot(again, 'chat-after-restart');

    const runs = await Promise.all(runIds.map((id) => h.api('getRun', { id })));
    expect(runs.map((r) => `${r.kind}:${r.status}`)).toEqual(['chat:completed', 'chat:completed', 'chat:stopped']);
    expect(runs[2].metrics.some((m) => m.name === 'decode_tok_s')).toBe(true);
    await last.getByTestId('message-stats').click();
    await again.getByTestId('reply-run-link').click();
    await expect.poll(() => again.getByTestId('run-detail-status').innerText()).toBe('stopped');
    await again.getByTestId('metrics-chart').locator('canvas').first().waitFor();
    await again.waitForTimeout(300);
    await h.screenshot(again, 'runs-chat-run');
  });
});

// Adding model folders by path on the browser host: broken folders are refused with the specific
// problem in words, nothing is added or loaded, and the rest of the app keeps working; a good folder
// is added, remembered across a restart, and its card is rendered with its HTML escaped; a folder
// without a tokenizer loads and chats in token ids.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { join, resolve } from 'node:path';
import { Harness } from './harness';
import { chatModelFolder, missingTokenizerFolder, tempDir, truncatedFolder, wrongShapeFolder } from './fixtures';

const GOLDEN_LLAMA = join(resolve(import.meta.dirname, '../fixtures/golden/v1'), 'llama-gqa');

let h: Harness;
const root = tempDir('gta-e2e-broken-');

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

async function check(page: Page, path: string): Promise<void> {
  await page.getByTestId('add-folder-path').locator('input').fill(path);
  await page.getByTestId('add-folder-validate').click();
  await page.getByTestId('add-folder-result').waitFor();
}

async function problems(page: Page): Promise<{ kind: string | null; text: string }[]> {
  const items = page.getByTestId('add-folder-problem');
  const out = [];
  for (let i = 0; i < (await items.count()); i++) out.push({ kind: await items.nth(i).getAttribute('data-kind'), text: await items.nth(i).innerText() });
  return out;
}

describe('model folders', () => {
  it('refuses broken folders with the specific problem, adds nothing and keeps the app working', async () => {
    const page = await h.open('#/models');
    await page.getByTestId('model-list').waitFor();
    const before = (await h.api('listModels', {})).models.length;
    // The browser host cannot open a dialog on the server's disk: a typed path, with a hint saying whose disk.
    expect(await page.getByTestId('add-folder-server-hint').innerText()).toContain('machine running the server');
    expect(await page.getByTestId('add-folder-choose').count()).toBe(0);

    await check(page, truncatedFolder(root));
    const truncated = await problems(page);
    expect(truncated.map((p) => p.kind)).toEqual(['weights']);
    expect(truncated[0].text).toMatch(/^Weights: .*model\.safetensors.*Download or export the weights again/s);
    expect(await page.getByTestId('add-folder-add').count()).toBe(0);
    await h.screenshot(page, 'models-broken-folder');

    await check(page, wrongShapeFolder(root));
    const shape = await problems(page);
    expect(shape.length).toBeGreaterThan(0);
    expect(shape.every((p) => p.kind === 'shape')).toBe(true);
    expect(shape[0].text).toMatch(/^Tensor shapes: .*mlp.*use the config\.json that was exported with these weights/is);

    await check(page, missingTokenizerFolder(root));
    const tokenizer = await problems(page);
    expect(tokenizer.map((p) => p.kind)).toEqual(['tokenizer']);
    expect(tokenizer[0].text).toContain('tokenizer.json is missing');

    await check(page, `${root}/no-such-folder`);
    expect((await problems(page))[0].text).toMatch(/^Folder: .*does not exist/);

    // Nothing was added or loaded, and the other sections still answer.
    expect((await h.api('listModels', {})).models.length).toBe(before);
    expect((await h.api('modelStatus', {})).loaded).toBeNull();
    await page.getByTestId('no-model-loaded').waitFor();
    await page.getByTestId('nav-runs').click();
    await page.getByTestId('runs-table').waitFor();
    await page.getByTestId('nav-chat').click();
    await page.getByTestId('chat-no-model').waitFor();
    await page.getByTestId('nav-models').click();

    // A good folder: its card renders as Markdown, and the HTML in it shows as text.
    await check(page, chatModelFolder(root));
    expect(await page.getByTestId('add-folder-result').innerText()).toContain('tokenizer with chat template');
    await page.getByTestId('add-folder-add').click();
    const item = page.locator('[data-testid="model-item"]', { hasText: 'gta-tiny-chat' });
    await item.waitFor();
    await item.getByText('Show model card').click();
    const card = item.getByTestId('model-card');
    expect(await card.locator('h1').innerText()).toBe('GTA tiny (test fixture)');
    expect(await card.locator('strong').innerText()).toBe('two-layer');
    expect(await card.locator('li').count()).toBe(2);
    expect(await card.locator('img, script').count()).toBe(0);
    expect(await card.innerText()).toContain('<script>document.title = "pwned"</script>');
    expect(await page.title()).not.toBe('pwned');
    await h.screenshot(page, 'models-card');

    // A checkpoint without a tokenizer (a golden test fixture): a warning, not a problem. It loads, and
    // Chat takes token ids and shows the reply as ids, as plain completion (it has no chat template).
    await check(page, GOLDEN_LLAMA);
    expect(await page.getByTestId('add-folder-warnings').innerText()).toContain('no tokenizer.json');
    await page.getByTestId('add-folder-name').locator('input').fill('Llama GQA ids');
    await page.getByTestId('add-folder-add').click();
    const ids = page.locator('[data-testid="model-item"]', { hasText: 'Llama GQA ids' });
    await ids.getByTestId('model-load').click();
    await ids.getByTestId('model-loaded-tag').waitFor({ timeout: 60_000 });
    await page.getByTestId('nav-chat').click();
    expect(await page.getByTestId('chat-mode').locator('.n-radio-button--disabled').innerText()).toBe('Chat template');
    await page.getByTestId('composer').locator('textarea').fill('1, 2, 3');
    await page.getByTestId('send').click();
    const reply = page.locator('[data-testid="message"][data-role="assistant"]');
    await expect.poll(() => reply.getAttribute('data-status'), { timeout: 60_000 }).toMatch(/complete|stopped/);
    expect(await reply.locator('.body').innerText()).toMatch(/^\d+( \d+)*$/);
    expect(await page.getByTestId('reply-stats').innerText()).toMatch(/completion · T/);
    await page.getByTestId('nav-models').click();

    // Loaded with a 64-token context, a long draft fills the meter, and sending it is refused in words.
    await page.getByTestId('load-ctx').locator('input').fill('64');
    await page.getByTestId('load-ctx').locator('input').press('Tab');
    await item.getByTestId('model-load').click();
    await item.getByTestId('model-loaded-tag').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('loaded-model').innerText()).toContain('64-token context');
    await page.getByTestId('nav-chat').click();
    await page.getByTestId('new-conversation').click();
    await page.waitForURL(/#\/chat\/[0-9a-f-]{36}$/);
    await page.getByTestId('composer').locator('textarea').fill('A draft far longer than this model was loaded to hold: '.repeat(2));
    await expect.poll(() => page.getByTestId('context-meter').getAttribute('data-state')).toBe('full');
    expect(await page.getByTestId('context-meter').innerText()).toContain('The context is full');
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('chat-error').innerText()).toMatch(/64-token context, so no reply fits/);
    expect(await page.getByTestId('composer').locator('textarea').inputValue()).toContain('A draft far longer'); // kept to shorten
    await h.screenshot(page, 'chat-context-full');
    await page.getByTestId('nav-models').click();

    // Remembered by the host across a restart.
    await h.closeContexts();
    await h.restartServer();
    const again = await h.open('#/models');
    await again.locator('[data-testid="model-item"]', { hasText: 'gta-tiny-chat' }).waitFor();
  });
});

// The shell end to end: the real browser host, the real store and Dawn's adapter, driven in Chromium
// the way a person uses it. Screenshots land in test-results/screenshots/.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { Harness } from './harness';

const SECTIONS = [
  { key: 'chat', label: 'Chat' },
  { key: 'models', label: 'Models' },
  { key: 'analysis', label: 'Analysis' },
  { key: 'compare', label: 'Compare' },
  { key: 'runs', label: 'Runs' },
  { key: 'reports', label: 'Reports' },
];

let h: Harness;

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

async function expectSection(page: Page, key: string, label: string): Promise<void> {
  await page.waitForURL((url) => url.hash.startsWith(`#/${key}`));
  await expect.poll(() => page.getByTestId('section-title').innerText()).toContain(label);
  expect(await page.getByTestId(`nav-${key}`).getAttribute('aria-current')).toBe('page');
}

function runRow(page: Page, title: string) {
  return page.locator('[data-run-id]', { has: page.getByTestId('run-title').getByText(title, { exact: true }) });
}

describe('shell', () => {
  it('shows the adapter Dawn reports in the status bar, with its features and limits on click', async () => {
    const page = await h.open();
    const bar = page.getByTestId('status-bar');
    await expect.poll(() => page.getByTestId('gpu-vendor').innerText()).toBe('mesa');
    expect(await page.getByTestId('gpu-device').innerText()).toContain('llvmpipe');
    const text = await bar.innerText();
    expect(text).toContain('vulkan');
    expect(text).toContain('software');
    expect(text).toContain('browser host');
    expect(text).toMatch(/app \d+\.\d+\.\d+ · engine \d+\.\d+\.\d+/);
    await expect.poll(() => bar.innerText()).toContain('live'); // the event socket connected
    expect(page.url()).not.toContain('token='); // moved to sessionStorage, out of history and screenshots

    await page.getByTestId('gpu-status').click();
    const details = page.getByTestId('adapter-details');
    await details.waitFor();
    const detailText = await details.innerText();
    expect(detailText).toContain('maxStorageBufferBindingSize');
    expect(detailText).toContain('128 MiB'); // lavapipe's binding limit
    expect(detailText).toContain('shader-f16');
    await h.screenshot(page, 'status-adapter-details');
  });

  it('visits every section by clicking the navigation', async () => {
    const page = await h.open();
    for (const s of SECTIONS) {
      await page.getByTestId(`nav-${s.key}`).click();
      await expectSection(page, s.key, s.label);
      await h.screenshot(page, `section-${s.key}`);
    }
    // Planned sections say so and link to what works; Models shows this adapter's real capabilities.
    await page.getByTestId('nav-models').click();
    expect(await page.getByTestId('gpu-capabilities').innerText()).toMatch(/shader-f16\s+supported/);
    await page.getByTestId('nav-compare').click();
    await page.getByTestId('planned-section').getByRole('link', { name: /Runs/ }).click();
    await expectSection(page, 'runs', 'Runs');
  });

  it('switches sections with Ctrl+1..6, shows focus, and lists the shortcuts', async () => {
    const page = await h.open();
    for (const [i, s] of SECTIONS.entries()) {
      await page.keyboard.press(`Control+${i + 1}`);
      await expectSection(page, s.key, s.label);
    }
    await page.keyboard.press('Control+5');
    await expectSection(page, 'runs', 'Runs');

    // From a fresh load, Tab lands on the first section link, outlined; Tab+Enter opens the next one.
    await page.reload();
    await page.getByTestId('status-bar').waitFor();
    await page.keyboard.press('Tab');
    const focus = await page.evaluate<{ testId: string; visible: boolean; outline: string }>(`(() => {
      const el = document.activeElement;
      return { testId: el.dataset.testid, visible: el.matches(':focus-visible'), outline: getComputedStyle(el).outlineStyle };
    })()`);
    expect(focus).toEqual({ testId: 'nav-chat', visible: true, outline: 'solid' });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expectSection(page, 'models', 'Models');
    await h.screenshot(page, 'keyboard-focus');

    await page.keyboard.press('?');
    const help = page.getByTestId('shortcuts');
    await help.waitFor();
    expect(await help.innerText()).toContain('Reports');
    await h.screenshot(page, 'keyboard-shortcuts');
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
  });

  it('switches to the dark theme and remembers it across reloads', async () => {
    const page = await h.open('#/runs');
    expect(await theme(page)).toBe('light'); // headless Chromium's OS preference
    await page.getByTestId('theme-toggle').click();
    await page.getByText('Dark', { exact: true }).click();
    await expect.poll(() => theme(page)).toBe('dark');
    const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(28, 29, 33)');
    await page.reload();
    await page.getByTestId('status-bar').waitFor();
    expect(await theme(page)).toBe('dark');
    await h.screenshot(page, 'dark-runs');
    await page.keyboard.press('Control+2');
    await expectSection(page, 'models', 'Models');
    await h.screenshot(page, 'dark-models');
  });
});

describe('runs', () => {
  it('creates a run, finds it after a reload, tags it and deletes it with confirmation', async () => {
    const page = await h.open('#/runs');
    await page.getByTestId('runs-table').waitFor();
    await h.screenshot(page, 'runs-empty');

    const title = `e2e manual run ${Date.now()}`;
    await page.getByTestId('new-run').click();
    await page.getByTestId('new-run-title').locator('input').fill(title);
    await h.screenshot(page, 'runs-new-dialog');
    await page.getByTestId('new-run-create').click();
    await page.getByTestId('new-run-dialog').waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('run-detail-title').innerText()).toBe(title);

    await page.reload();
    await page.getByTestId('status-bar').waitFor();
    await page.keyboard.press('Escape'); // the reload reopens the drawer from the route; close it
    await runRow(page, title).waitFor();
    expect(await runRow(page, title).innerText()).toContain('manual');
    await h.screenshot(page, 'runs-list');

    await runRow(page, title).click();
    const drawer = page.getByTestId('run-drawer');
    await expect.poll(() => page.getByTestId('run-detail-title').innerText()).toBe(title);
    expect(await page.getByTestId('run-detail-status').innerText()).toBe('running');
    await page.getByTestId('run-tags').locator('button').click();
    await page.getByTestId('run-tags').locator('input').fill('baseline');
    await page.getByTestId('run-tags').locator('input').press('Enter');
    await expect.poll(async () => (await h.api('getRun', { id: await runIdOf(page, title) })).tags).toEqual(['baseline']);
    await expect.poll(() => runRow(page, title).innerText()).toContain('baseline');
    await h.screenshot(page, 'run-detail');

    await page.getByTestId('run-finish').click();
    await page.locator('.n-dropdown-option', { hasText: 'Completed' }).click();
    await expect.poll(() => page.getByTestId('run-detail-status').innerText()).toBe('completed');
    await expect.poll(() => runRow(page, title).innerText()).toContain('completed');

    await page.getByTestId('run-delete').click();
    const confirm = page.getByRole('button', { name: 'Delete run' });
    await confirm.waitFor();
    await h.screenshot(page, 'run-delete-confirm');
    await confirm.click();
    await drawer.waitFor({ state: 'hidden' });
    await runRow(page, title).waitFor({ state: 'detached' });
    await page.reload();
    await page.getByTestId('runs-table').waitFor();
    await page.getByTestId('runs-total').waitFor();
    expect(await runRow(page, title).count()).toBe(0);
  });

  it('shows runs made elsewhere live, plots their metrics, and keeps them across a server restart', async () => {
    const page = await h.open('#/runs');
    await page.getByTestId('runs-table').waitFor();
    await expect.poll(() => page.getByTestId('status-bar').innerText()).toContain('live');

    // A tool records a benchmark through the API; the open page learns of it from the event stream.
    const run = await h.api('createRun', { kind: 'bench', title: 'decode throughput sweep', model: 'gta-tiny', params: { ctx: [128, 256, 512], dtype: 'f16' }, tags: ['sweep'] });
    await runRow(page, 'decode throughput sweep').waitFor();
    const steps = [128, 256, 384, 512];
    await h.api('addMetrics', {
      id: run.id,
      samples: steps.flatMap((step, i) => [
        { name: 'decode_tok_s', step, value: 40 - i * 3.5, unit: 'tok/s' },
        { name: 'prefill_tok_s', step, value: 210 - i * 12, unit: 'tok/s' },
        { name: 'kv_bytes', step, value: step * 2304, unit: 'B' },
      ]),
    });
    await h.api('finishRun', { id: run.id, status: 'completed' });
    await expect.poll(() => runRow(page, 'decode throughput sweep').innerText()).toContain('completed');

    await runRow(page, 'decode throughput sweep').click();
    const chart = page.getByTestId('metrics-chart');
    await chart.waitFor();
    expect(await chart.locator('canvas').count()).toBe(2); // tok/s and B get separate axes
    expect(await page.getByTestId('run-drawer').innerText()).toContain('12 samples');
    await chart.scrollIntoViewIfNeeded();
    await page.waitForTimeout(300); // let ECharts finish its first frame
    await h.screenshot(page, 'run-detail-metrics');

    await h.closeContexts();
    await h.restartServer();
    const again = await h.open('#/runs');
    await runRow(again, 'decode throughput sweep').waitFor();
    await h.screenshot(again, 'runs-after-restart');
  });
});

describe('runs table', () => {
  it('filters by kind and status, searches, sorts by title and pages', async () => {
    const tag = `set${Date.now()}`;
    const made = [
      { kind: 'bench', title: `${tag} alpha gqa sweep`, model: 'llama-gqa-tiny' },
      { kind: 'load', title: `${tag} beta load`, model: 'plm-mla-tiny' },
      { kind: 'chat', title: `${tag} gamma chat`, model: 'gta-tiny' },
    ] as const;
    for (const m of made) await h.api('createRun', { ...m, tags: [tag] });
    const gamma = (await h.api('listRuns', { search: `${tag} gamma` })).runs[0];
    await h.api('finishRun', { id: gamma.id, status: 'failed', error: 'context length exceeded' });

    const page = await h.open('#/runs');
    const titles = () => page.getByTestId('run-title').allInnerTexts();
    await page.getByTestId('runs-search').locator('input').fill(tag);
    await expect.poll(titles).toHaveLength(3);

    await pick(page, 'filter-kind', 'load');
    await expect.poll(titles).toEqual([`${tag} beta load`]);
    await page.getByText('Clear filters').first().click();
    // Clearing drops the search too: all three are back, among whatever else the store holds.
    expect(await page.getByTestId('runs-search').locator('input').inputValue()).toBe('');
    await expect.poll(async () => (await titles()).filter((t) => t.startsWith(tag)).length).toBe(3);
    await page.getByTestId('runs-search').locator('input').fill(tag);
    await pick(page, 'filter-status', 'failed');
    await expect.poll(titles).toEqual([`${tag} gamma chat`]);
    await page.getByTestId('filter-status').locator('.n-base-clear').click();

    // Search matches the model as well as the title.
    await page.getByTestId('runs-search').locator('input').fill('plm-mla');
    await expect.poll(titles).toEqual([`${tag} beta load`]);

    // Clicking a tag in a row filters by it; the Title header sorts ascending, then descending.
    await page.getByTestId('runs-search').locator('input').fill('');
    await page.locator('[data-run-id]').filter({ hasText: `${tag} beta load` }).getByText(tag, { exact: true }).click();
    await expect.poll(() => page.getByTestId('filter-tag').innerText()).toContain(tag);
    await expect.poll(titles).toHaveLength(3);
    await page.locator('th', { hasText: 'Title' }).click();
    await expect.poll(titles).toEqual([`${tag} alpha gqa sweep`, `${tag} beta load`, `${tag} gamma chat`]);
    await page.locator('th', { hasText: 'Title' }).click();
    await expect.poll(titles).toEqual([`${tag} gamma chat`, `${tag} beta load`, `${tag} alpha gqa sweep`]);
    await h.screenshot(page, 'runs-filtered-sorted');

    // A focused row opens with Enter, and Escape closes the drawer again.
    await runRow(page, `${tag} beta load`).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('run-detail-title').innerText()).toBe(`${tag} beta load`);
    await page.keyboard.press('Escape');
    await page.getByTestId('run-drawer').waitFor({ state: 'hidden' });

    // 27 more runs: the first page holds 25, the second the rest.
    for (let i = 0; i < 27; i++) await h.api('createRun', { kind: 'manual', title: `${tag} page ${String(i).padStart(2, '0')}`, tags: [tag] });
    await page.getByTestId('filter-tag').locator('.n-tag__close').click();
    await page.getByTestId('runs-search').locator('input').fill(`${tag} page`);
    await expect.poll(() => page.getByTestId('runs-total').innerText()).toBe('27');
    await expect.poll(titles).toHaveLength(25);
    await page.locator('.n-pagination-item', { hasText: /^2$/ }).click();
    await expect.poll(titles).toHaveLength(2);
  });
});

describe('access token', () => {
  it('refuses a page opened without the token and tells the user which URL to open', async () => {
    const context = await h.newContext();
    const page = await context.newPage();
    h.allowConsoleError(/status of 401/);
    const response = await page.goto(`${h.server.origin}/`);
    expect(response?.status()).toBe(401);
    expect(await page.locator('body').innerText()).toContain('npm run serve');

    // Same browser, a new tab typed without the token: the page loads (cookie) but the app has no token.
    const withToken = await context.newPage();
    await withToken.goto(h.server.url);
    await withToken.getByTestId('status-bar').waitFor();
    const bare = await context.newPage();
    await bare.goto(`${h.server.origin}/#/runs`);
    const guidance = bare.getByTestId('unauthorized');
    await guidance.waitFor();
    expect(await guidance.innerText()).toContain('npm run serve');
    await h.screenshot(bare, 'unauthorized-missing-token');
  });

  it('shows the guidance when the host restarts with a new token under an open page', async () => {
    const page = await h.open('#/runs');
    await page.getByTestId('runs-table').waitFor();
    // While the host is down and after it restarts, the page's requests fail or are refused: expected here.
    h.allowConsoleError(/401|WebSocket|ERR_CONNECTION_REFUSED/);
    await h.restartServer({ samePort: true });
    // Nothing to click: the event socket drops, its reconnect is refused, and the client's probe call
    // gets 401 with the old token, which replaces the shell with the guidance.
    const guidance = page.getByTestId('unauthorized');
    await guidance.waitFor();
    expect(await guidance.innerText()).toContain('not accepted');
    await h.screenshot(page, 'unauthorized-rejected-token');
  });
});

// Page-side expressions are strings: this file is type-checked for Node, without the DOM library.
function theme(page: Page): Promise<string> {
  return page.evaluate<string>('document.documentElement.dataset.theme');
}

async function pick(page: Page, testId: string, option: string): Promise<void> {
  await page.getByTestId(testId).click();
  await page.locator('.n-base-select-option', { hasText: new RegExp(`^${option}$`) }).click();
}

async function runIdOf(page: Page, title: string): Promise<string> {
  const id = await runRow(page, title).getAttribute('data-run-id');
  if (!id) throw new Error(`no row for "${title}"`);
  return id;
}

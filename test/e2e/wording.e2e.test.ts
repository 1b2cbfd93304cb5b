// Wording that has to stay true (issue 17, items 4 and 5): model-folder messages say their prefix once;
// a folder already listed says so and cannot be added again; a new model scrolls into view with the open
// cards above it folded; the empty Runs page, the kind filter, the 401 page and the Compare / Reports
// placeholders say what is true today.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Harness } from './harness';
import { chatModelFolder, tempDir } from './fixtures';
import { GOLDEN } from '../helpers/services';

let h: Harness;
const root = tempDir('gta-e2e-wording-');

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

describe('models wording', () => {
  it('says a config.json problem once, refuses a folder already listed, and shows the new model', async () => {
    const page = await h.open('#/models');
    await page.getByTestId('model-list').waitFor();
    const check = async (path: string) => {
      await page.getByTestId('add-folder-path').locator('input').fill(path);
      await page.getByTestId('add-folder-validate').click();
      await page.getByTestId('add-folder-result').waitFor();
    };

    // config.json with a field missing: "config.json:" once, not "config.json: config.json: …"
    const bad = join(root, 'no-layers');
    cpSync(join(GOLDEN, 'gta-mqa'), bad, { recursive: true });
    const config = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8'));
    delete config.num_hidden_layers;
    writeFileSync(join(bad, 'config.json'), JSON.stringify(config));
    await check(bad);
    const problem = await page.getByTestId('add-folder-problem').first().innerText();
    expect(problem).toMatch(/^config\.json: num_hidden_layers is missing/);
    expect(problem.match(/config\.json:/g)).toHaveLength(1);

    // A new folder: added, the open model cards fold, and it scrolls into view.
    const folder = chatModelFolder(root, 'wording-tiny');
    await check(folder);
    await page.getByTestId('add-folder-add').click();
    const item = page.locator('[data-testid="model-item"]', { hasText: 'wording-tiny' });
    await item.waitFor();
    expect(await page.getByTestId('add-folder-result').count()).toBe(0);
    expect(await page.getByTestId('model-card').count()).toBe(0);
    await expect
      .poll(() => item.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= el.ownerDocument.documentElement.clientHeight;
      }))
      .toBe(true);
    await h.screenshot(page, 'models-just-added');

    // The same folder again: the check says it is listed, there is no Add, and the host refuses it unchanged.
    await check(folder);
    expect(await page.getByTestId('add-folder-warnings').innerText()).toContain('is already in the model list as “wording-tiny”: adding it again changes nothing.');
    expect(await page.getByTestId('add-folder-result').innerText()).toContain('Already in the list as “wording-tiny”');
    expect(await page.getByTestId('add-folder-result').innerText()).not.toContain('Ready to add');
    expect(await page.getByTestId('add-folder-add').count()).toBe(0);
    await h.screenshot(page, 'models-already-listed');
    await expect(h.api('addModelFolder', { path: folder, name: 'Renamed' })).rejects.toThrow(/already in the model list as “wording-tiny”; nothing was changed/);
    const listed = (await h.api('listModels', {})).models.filter((m) => m.path === folder);
    expect(listed.map((m) => m.name)).toEqual(['wording-tiny']);
  });
});

describe('pages that say what is true today', () => {
  it('the empty Runs page, the kind filter, and the Compare and Reports placeholders', async () => {
    const page = await h.open('#/runs');
    await page.getByTestId('runs-empty').waitFor();
    const empty = await page.getByTestId('runs-empty').innerText();
    expect(empty).toContain('records itself here as you use it');
    expect(empty).not.toMatch(/once those sections land|notes/);

    await page.getByTestId('filter-kind').click();
    const options = page.locator('.n-base-select-option');
    await options.first().waitFor();
    expect(await options.allInnerTexts()).toEqual(['chat', 'bench', 'load', 'analysis', 'manual']);
    await page.keyboard.press('Escape');

    for (const key of ['compare', 'reports']) {
      await page.getByTestId(`nav-${key}`).click();
      const planned = page.getByTestId('planned-section');
      await planned.waitFor();
      const text = await planned.innerText();
      expect(text).toContain('Not built yet');
      expect(text).not.toMatch(/arrives with the engine work|will later compare|planned/i);
      await h.screenshot(page, `wording-${key}`);
    }
    expect(await page.getByTestId('planned-section').getByRole('link', { name: /Analysis/ }).count()).toBe(1);
  });

  it('the 401 page names both start commands', async () => {
    const context = await h.newContext();
    const withToken = await context.newPage();
    await withToken.goto(h.server.url);
    await withToken.getByTestId('status-bar').waitFor();
    const bare = await context.newPage();
    await bare.goto(`${h.server.origin}/#/runs`);
    const guidance = bare.getByTestId('unauthorized');
    await guidance.waitFor();
    const text = await guidance.innerText();
    expect(text).toContain('npm start');
    expect(text).toContain('npm run serve');
    expect(text).toContain('start it again');
    await h.screenshot(bare, 'wording-unauthorized');
  });
});

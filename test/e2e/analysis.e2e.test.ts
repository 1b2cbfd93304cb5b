// The Analysis section on a bundled zoo model (or, without a zoo, the tiny GTA checkpoint): analyse a
// short text with progress, see the model view's thumbnails, hover the head view and see the query's
// row, select several queries, see the similarity heatmap with its dendrogram, a grouping suggestion
// that follows τ, the shared-map test, compressibility and KV/FLOPs; export figures as SVG (parsed in
// the browser) and PNG; then restart the host and reopen the analysis from its run.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { Harness } from './harness';
import { chatModelFolder, tempDir } from './fixtures';

let h: Harness;
let modelName: string;
const root = tempDir('gta-e2e-analysis-');

// About 100 tokens of plain prose: enough for real maps, small enough for lavapipe in CI.
const TEXT =
  'It was a bright cold day in April, and the clocks were striking thirteen. The old man walked slowly down the hill to the harbour, ' +
  'where the boats rocked in the grey water. He had lived in the town all his life, and he knew every house and every face. ' +
  'That morning the sea was calm, the gulls were loud, and the baker had opened his shop early for the fishermen.';

beforeAll(async () => {
  h = await Harness.start();
  const zoo = (await h.api('listModels', {})).models.find((m) => m.id === 'zoo-mha-2.8m' && !m.problem);
  if (zoo) {
    modelName = zoo.name;
    await h.api('loadModel', { modelId: zoo.id });
  } else {
    const model = await h.api('addModelFolder', { path: chatModelFolder(root), name: 'GTA tiny analysis' });
    modelName = model.name;
    await h.api('loadModel', { modelId: model.id });
  }
});
afterEach(async () => {
  await h.closeContexts();
  expect(h.takeConsoleErrors()).toEqual([]);
});
afterAll(async () => {
  await h?.close();
});

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; path: string }> {
  const [download] = (await Promise.all([page.waitForEvent('download'), click()])) as [Download, void];
  return { name: download.suggestedFilename(), path: await download.path() };
}

/** Parses the text as SVG in the page (DOMParser): the root element's name, or the parser's error. */
async function parseSvg(page: Page, text: string): Promise<{ root: string; error: string | null; texts: number; shapes: number }> {
  return page.evaluate((t) => {
    // The node-side tsconfig has no DOM library: the page's DOMParser, typed as used here.
    type Doc = { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number }; documentElement: { nodeName: string } };
    const Parser = (globalThis as unknown as { DOMParser: new () => { parseFromString(text: string, type: string): Doc } }).DOMParser;
    const doc = new Parser().parseFromString(t, 'image/svg+xml');
    const err = doc.querySelector('parsererror');
    return { root: doc.documentElement.nodeName, error: err ? err.textContent : null, texts: doc.querySelectorAll('text').length, shapes: doc.querySelectorAll('rect, path, image, line').length };
  }, text);
}

/** Share of a canvas's pixels that are not transparent. */
function painted(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).evaluate((el) => {
    const c = el as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } };
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n / (c.width * c.height);
  });
}

async function openTab(page: Page, label: string): Promise<void> {
  await page.getByTestId('analysis-tabs').locator('.n-tabs-tab', { hasText: label }).click();
}

describe('analysis', () => {
  it('analyses a text, shows maps, similarity, grouping, shared-map test, exports figures, and reopens after a restart', async () => {
    const page = await h.open('#/analysis');
    await expect.poll(() => page.getByTestId('analysis-model').innerText()).toContain(modelName);
    await page.getByTestId('analysis-empty').waitFor();
    await page.getByTestId('analysis-text').locator('textarea').fill(TEXT);
    await page.getByTestId('analysis-start').click();
    await page.getByTestId('analysis-progress').waitFor();
    await h.screenshot(page, 'analysis-running');
    await page.getByTestId('analysis-summary').waitFor({ timeout: 240_000 });
    await page.waitForURL(/#\/analysis\?run=[0-9a-f-]{36}/);
    const runId = /run=([0-9a-f-]{36})/.exec(page.url())![1];
    expect(await page.getByTestId('analysis-status').innerText()).toBe('completed');
    const tokens = Number(/(\d+) tokens/.exec(await page.getByTestId('analysis-tokens').innerText())![1]);
    expect(tokens).toBeGreaterThan(60);
    expect(tokens).toBeLessThan(160);
    const summary = await h.api('getAnalysis', { runId });
    const { numLayers: L, numMaps: M } = summary.model;

    // Model view: a canvas a layer, every one painted, the reduction stated.
    expect(await page.getByTestId('thumb-reduction').innerText()).toMatch(/block mean of|full resolution/);
    for (let l = 0; l < L; l++) await expect.poll(() => painted(page, `thumbs-layer-${l}`), { timeout: 30_000 }).toBeGreaterThan(0.5);
    // Hovering a thumbnail names it; clicking opens it in the head view.
    const lastLayer = page.getByTestId(`thumbs-layer-${L - 1}`);
    const box = (await lastLayer.boundingBox())!;
    const thumbPx = box.height;
    await page.mouse.move(box.x + (M - 1) * (thumbPx + 4) + thumbPx / 2, box.y + thumbPx / 2);
    await expect.poll(() => page.getByTestId('thumb-tip').innerText()).toContain(`Layer ${L - 1}`);
    await page.mouse.click(box.x + (M - 1) * (thumbPx + 4) + thumbPx / 2, box.y + thumbPx / 2);
    await expect.poll(() => page.getByTestId('head-layer').innerText()).toContain(`Layer ${L - 1}`);

    // Head view: full resolution, hover a cell → its query row with the token's text.
    await expect.poll(() => page.getByTestId('head-resolution').innerText()).toContain(`full resolution ${tokens}×${tokens}`);
    const canvas = page.getByTestId('head-canvas');
    await expect.poll(() => painted(page, 'head-canvas')).toBeGreaterThan(0.2);
    const cb = (await canvas.boundingBox())!;
    // The plot starts 96 px in and 12 px down; a cell near the bottom-left is below the diagonal.
    const plot = Math.min(cb.width - 108, cb.height - 96);
    const cellPx = plot / tokens;
    const at = (i: number, j: number) => ({ x: cb.x + 96 + (j + 0.5) * cellPx, y: cb.y + 12 + (i + 0.5) * cellPx });
    const q = tokens - 3;
    await page.mouse.move(at(q, 2).x, at(q, 2).y);
    await expect.poll(() => page.getByTestId('head-hover').innerText()).toMatch(new RegExp(`^query ${q} “.*” → key 2 “.*”: \\d\\.\\d{4}$`));
    expect(await page.getByTestId('query-strip').innerText()).toContain(`Query ${q} “${summary.tokenLabels[q]}”`);
    await page.getByTestId('query-strip').locator('canvas').first().waitFor();
    // Shift-click two queries: their summed attention.
    await page.keyboard.down('Shift');
    await page.mouse.click(at(q, 1).x, at(q, 1).y);
    await page.mouse.click(at(q - 20, 1).x, at(q - 20, 1).y);
    await page.keyboard.up('Shift');
    await expect.poll(() => page.getByTestId('query-strip').innerText()).toContain('Summed attention of 2 selected queries');
    expect(await page.getByTestId('head-selected').innerText()).toContain(`${q - 20} “`);
    // Zoom in with the wheel: token text appears on the axes (the canvas repaints; still painted).
    await page.mouse.move(at(q - 10, 10).x, at(q - 10, 10).y);
    await page.mouse.wheel(0, -900);
    await expect.poll(() => painted(page, 'head-canvas')).toBeGreaterThan(0.2);
    await page.getByTestId('map-stats').waitFor();
    // The statistics show the picked map's layer; the switch shows every layer.
    expect(await page.getByTestId('map-stats').locator('tbody tr').count()).toBe(M);
    await page.getByTestId('map-stats-all').click();
    await expect.poll(() => page.getByTestId('map-stats').locator('tbody tr').count()).toBe(L * M);
    await page.getByTestId('analysis-summary').scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await h.screenshot(page, 'analysis-maps');
    await page.getByTestId('head-view').scrollIntoViewIfNeeded();
    await page.waitForTimeout(300);
    await h.screenshot(page, 'analysis-head-view');

    // The head view exported as SVG: parses, has real text axes and the map as an image.
    const headSvg = await downloaded(page, () => page.getByTestId('head-view-export-svg').click());
    expect(headSvg.name).toMatch(/^attention-.*-L\d+-m\d+\.svg$/);
    const headParsed = await parseSvg(page, readFileSync(headSvg.path, 'utf8'));
    expect(headParsed).toMatchObject({ root: 'svg', error: null });
    expect(headParsed.texts).toBeGreaterThan(10);

    // Similarity: per-layer JS heatmap with its dendrogram, cosine, the all-layers matrix, MDS.
    await openTab(page, 'Similarity');
    const js = page.getByTestId('sim-js');
    await js.locator('svg rect').first().waitFor();
    expect(await js.locator('svg rect title').count()).toBe(M * M);
    expect(await js.locator('svg line').count()).toBeGreaterThanOrEqual(3 * (M - 1));
    expect(await js.innerText()).toContain('mean JS divergence (bits)');
    await page.getByTestId('sim-mds').locator('canvas').first().waitFor();
    await page.waitForTimeout(300);
    await h.screenshot(page, 'analysis-similarity');
    await page.getByTestId('sim-global').scrollIntoViewIfNeeded();
    expect(await page.getByTestId('sim-global').locator('svg rect title').count()).toBe(L * M * L * M);
    await page.waitForTimeout(200);
    await h.screenshot(page, 'analysis-similarity-all-layers');
    const jsSvg = await downloaded(page, () => page.getByTestId('sim-js-export-svg').click());
    expect(jsSvg.name).toMatch(/^js-L0-.*\.svg$/);
    const jsText = readFileSync(jsSvg.path, 'utf8');
    expect(jsText.length).toBeGreaterThan(1000);
    expect(await parseSvg(page, jsText)).toMatchObject({ root: 'svg', error: null });
    // An ECharts chart through its SVG renderer.
    const mdsSvg = await downloaded(page, () => page.getByTestId('sim-mds-export-svg').click());
    const mdsParsed = await parseSvg(page, readFileSync(mdsSvg.path, 'utf8'));
    expect(mdsParsed).toMatchObject({ root: 'svg', error: null });
    expect(mdsParsed.shapes).toBeGreaterThan(L * M);
    const mdsPng = await downloaded(page, () => page.getByTestId('sim-mds-export-png').click());
    expect(readFileSync(mdsPng.path).subarray(1, 4).toString()).toBe('PNG');

    // Grouping: live suggestions per layer; a larger τ never needs more groups.
    await openTab(page, 'Grouping');
    await page.getByTestId('grouping-layer-0').waitFor();
    expect(await page.getByTestId('grouping-layer-0').getByTestId('group-chip').count()).toBeGreaterThan(0);
    const groupsAt = async () => Number(/free grouping (\d+) maps/.exec(await page.getByTestId('grouping-summary').innerText())![1]);
    const before = await groupsAt();
    expect(before).toBeGreaterThanOrEqual(L);
    expect(before).toBeLessThanOrEqual(L * M);
    await page.getByTestId('grouping-costs').waitFor();
    const tau = page.getByTestId('tau-input').locator('input');
    await tau.fill('0.5');
    await tau.press('Tab');
    await expect.poll(() => page.getByTestId('grouping-summary').innerText()).toContain('τ = 0.5');
    expect(await groupsAt()).toBeLessThanOrEqual(before);
    await page.waitForTimeout(200);
    await h.screenshot(page, 'analysis-grouping');

    // Shared-map test: baseline and rows for the whole model and single layers.
    await openTab(page, 'Shared-map test');
    const shared = page.getByTestId('shared-table');
    await shared.waitFor();
    expect(Number(await page.getByTestId('shared-baseline').innerText())).toBeGreaterThan(1);
    expect(await shared.locator('tbody tr').count()).toBe(summary.sharedMap!.results.length);
    expect(await shared.innerText()).toContain('whole model');
    await page.getByTestId('shared-chart').locator('canvas').first().waitFor();
    await page.waitForTimeout(300);
    await h.screenshot(page, 'analysis-shared-map');

    await openTab(page, 'Compressibility');
    await page.getByTestId('latent-needs').waitFor();
    expect(await page.getByTestId('latent-needs').innerText()).toMatch(/would need rank \d+ of \d+/);
    await page.getByTestId('rank-table').waitFor();
    await page.waitForTimeout(300);
    await h.screenshot(page, 'analysis-compressibility');

    await openTab(page, 'KV / FLOPs');
    await page.getByTestId('kv-bytes-chart').locator('canvas').first().waitFor();
    expect(await page.getByTestId('flops-table').innerText()).toMatch(/total\s+[\d.]+ [kMG]?FLOP/);
    await page.waitForTimeout(300);
    await h.screenshot(page, 'analysis-kv-flops');
    const kvSvg = await downloaded(page, () => page.getByTestId('kv-bytes-chart-export-svg').click());
    expect(await parseSvg(page, readFileSync(kvSvg.path, 'utf8'))).toMatchObject({ root: 'svg', error: null });

    // The host restarts (new token, model unloaded): the analysis reopens from its run, maps from storage.
    await h.closeContexts();
    await h.restartServer();
    const again = await h.open('#/runs');
    await again.locator('[data-run-id]', { hasText: 'Analysis of' }).first().click();
    // The run drawer opens an analysis run in the Analysis section.
    await again.getByTestId('run-open-analysis').click();
    await again.waitForURL(new RegExp(`#/analysis\\?run=${runId}`));
    await again.getByTestId('analysis-summary').waitFor();
    const reopened = await h.open(`#/analysis?run=${runId}&tab=maps`);
    await reopened.getByTestId('analysis-summary').waitFor();
    await expect.poll(() => reopened.getByTestId('analysis-past-item').count()).toBe(1);
    await reopened.getByTestId('analysis-no-model').waitFor();
    for (let l = 0; l < L; l++) await expect.poll(() => painted(reopened, `thumbs-layer-${l}`), { timeout: 30_000 }).toBeGreaterThan(0.5);
    await expect.poll(() => reopened.getByTestId('head-resolution').innerText()).toContain('full resolution');
    await reopened.waitForTimeout(300);
    await h.screenshot(reopened, 'analysis-after-restart');
  });

  it('labels GTA maps as query groups with their heads', async () => {
    const gta = (await h.api('listModels', {})).models.find((m) => m.id === 'zoo-gta-2.8m' && !m.problem);
    if (!gta) return; // no bundled zoo in this checkout
    await h.api('loadModel', { modelId: gta.id });
    const started = await h.api('startAnalysis', { modelId: gta.id, text: TEXT, analyses: ['maps', 'similarity', 'grouping'] });
    await expect.poll(async () => (await h.api('getRun', { id: started.runId })).status, { timeout: 120_000 }).toBe('completed');
    const summary = await h.api('getAnalysis', { runId: started.runId });
    const page = await h.open(`#/analysis?run=${started.runId}`);
    await page.getByTestId('analysis-summary').waitFor();
    const hpm = summary.model.headsPerMap;
    const label = hpm > 1 ? `group 0 (heads 0–${hpm - 1})` : 'group 0 (head 0)';
    await expect.poll(() => page.getByTestId('head-map').innerText()).toContain(label);
    await expect.poll(() => painted(page, 'thumbs-layer-0'), { timeout: 30_000 }).toBeGreaterThan(0.5);
    // Tabs of analyses it did not run are disabled.
    expect(await page.getByTestId('analysis-tabs').locator('.n-tabs-tab--disabled').count()).toBe(3);
    await openTab(page, 'Grouping');
    await page.getByTestId('grouping-layer-0').waitFor();
    await page.waitForTimeout(200);
    await openTab(page, 'Maps');
    await page.getByTestId('head-canvas').waitFor();
    await page.waitForTimeout(300);
    await h.screenshot(page, 'analysis-gta');
  });
});

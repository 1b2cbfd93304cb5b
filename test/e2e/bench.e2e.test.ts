// The benchmark panel on a loaded tiny model: a run with a progress bar that completes, its charts
// (prefill and decode tok/s, the bandwidth floor beside decode), its run in Runs, and exports of it:
// CSV from the panel (columns checked in the downloaded file) and JSON of several selected runs.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { Harness } from './harness';
import { chatModelFolder, tempDir } from './fixtures';

let h: Harness;
const root = tempDir('gta-e2e-bench-');

beforeAll(async () => {
  h = await Harness.start();
  const model = await h.api('addModelFolder', { path: chatModelFolder(root), name: 'GTA tiny bench' });
  await h.api('loadModel', { modelId: model.id });
});
afterEach(async () => {
  await h.closeContexts();
  expect(h.takeConsoleErrors()).toEqual([]);
});
afterAll(async () => {
  await h?.close();
});

async function fill(page: Page, testId: string, value: string): Promise<void> {
  await page.getByTestId(testId).locator('input').fill(value);
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = (await Promise.all([page.waitForEvent('download'), click()])) as [Download, void];
  const path = await download.path();
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

function parseCsv(text: string): string[][] {
  // The export quotes fields with commas; none of the fields checked here contain quotes.
  return text
    .trim()
    .split('\r\n')
    .map((line) => line.match(/("[^"]*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '')).slice(0, 11));
}

describe('benchmark panel', () => {
  it('runs a benchmark with progress, charts it, links its run and exports it', async () => {
    const page = await h.open('#/models');
    // Discoverable from the loaded model's entry.
    await page.getByTestId('model-bench').click();
    await page.waitForURL(/#\/models\/bench$/);
    await page.getByTestId('bench-panel').waitFor();
    await expect.poll(() => page.getByTestId('bench-model').innerText()).toContain('GTA tiny bench');
    await fill(page, 'bench-prefill', '8, 32, 96');
    await fill(page, 'bench-contexts', '8, 64, 160');
    await fill(page, 'bench-reps', '2');
    await page.getByTestId('bench-start').click();
    await page.getByTestId('bench-progress').waitFor();
    await expect.poll(() => page.getByTestId('bench-status').innerText(), { timeout: 120_000 }).toBe('completed');
    await page.getByTestId('bench-progress').waitFor({ state: 'detached' });
    const chart = page.getByTestId('bench-chart');
    await expect.poll(() => chart.locator('canvas').count()).toBe(2);
    expect(await chart.innerText()).toMatch(/bandwidth [\d.]+ GB\/s measured/);
    // Both sides of a decode step: GPU time (timestamps) and the CPU time to record it.
    expect(await page.getByTestId('bench-step-sides').innerText()).toMatch(/GPU ([\d.]+ ms|n\/a), CPU [\d.]+ ms/);
    await page.waitForTimeout(300); // ECharts' first frame
    await h.screenshot(page, 'bench');

    const csv = await downloaded(page, () => page.getByTestId('bench-export-csv').click());
    expect(csv.name).toMatch(/^run-bench-gta-tiny-bench-[0-9a-f]{8}\.csv$/);
    const rows = parseCsv(csv.text);
    expect(rows[0]).toEqual(['run_id', 'run_title', 'run_kind', 'model', 'status', 'created_at', 'metric', 'step', 'value', 'unit', 'at']);
    const metric = (name: string) => rows.slice(1).filter((r) => r[6] === name);
    expect(metric('prefill_tok_s').map((r) => Number(r[7]))).toEqual([8, 32, 96]);
    expect(metric('decode_tok_s').map((r) => Number(r[7]))).toEqual([8, 64, 160]);
    expect(metric('floor_tok_s')).toHaveLength(3);
    for (const r of rows.slice(1)) expect(r.slice(2, 5)).toEqual(['bench', 'GTA tiny bench', 'completed']);
    expect(metric('decode_tok_s').every((r) => Number(r[8]) > 0 && r[9] === 'tok/s')).toBe(true);

    // The run it was stored as, in Runs.
    await page.getByTestId('bench-run-link').click();
    await expect.poll(() => page.getByTestId('run-detail-title').innerText()).toBe('Bench GTA tiny bench');
    expect(await page.getByTestId('run-detail-status').innerText()).toBe('completed');
    await page.keyboard.press('Escape');

    // Two runs ticked in the table, exported together as JSON.
    const table = page.getByTestId('runs-table');
    const benchRow = page.locator('[data-run-id]', { hasText: 'Bench GTA tiny bench' });
    const loadRow = page.locator('[data-run-id]', { hasText: 'Load GTA tiny bench' });
    await benchRow.locator('.n-checkbox').click();
    await loadRow.locator('.n-checkbox').click();
    await page.getByTestId('run-drawer').waitFor({ state: 'hidden' }); // ticking does not open a run
    await expect.poll(() => page.getByTestId('runs-export').innerText()).toBe('Export 2 selected');
    await h.screenshot(page, 'runs');
    await page.getByTestId('runs-export').click();
    const json = await downloaded(page, () => page.locator('.n-dropdown-option', { hasText: 'As JSON' }).click());
    expect(json.name).toMatch(/^gta-workbench-runs-2-.*\.json$/);
    const doc = JSON.parse(json.text) as { format: string; runs: { title: string; kind: string; metrics: unknown[] }[] };
    expect(doc.format).toBe('gta-workbench-runs');
    expect(doc.runs.map((r) => `${r.kind}:${r.title}`).sort()).toEqual(['bench:Bench GTA tiny bench', 'load:Load GTA tiny bench']);
    expect(await table.isVisible()).toBe(true);
  });

  it('cancels a running benchmark and marks its run stopped', async () => {
    const page = await h.open('#/models/bench');
    await expect.poll(() => page.getByTestId('bench-model').innerText()).toContain('GTA tiny bench');
    await fill(page, 'bench-prefill', '200');
    await fill(page, 'bench-contexts', '8, 64, 128, 192, 240');
    await fill(page, 'bench-reps', '10');
    await page.getByTestId('bench-start').click();
    await page.getByTestId('bench-progress-cancel').click();
    await expect.poll(() => page.getByTestId('bench-status').innerText(), { timeout: 60_000 }).toBe('stopped');
    await page.getByTestId('bench-progress').waitFor({ state: 'detached' });
  });
});

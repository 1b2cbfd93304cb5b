// The workbench on a machine where Dawn finds no GPU: the host runs (runs and reports still work) and
// the shell says plainly, in red, that there is no adapter and why.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  // Point the Vulkan loader at a driver manifest that does not exist: Dawn then sees no adapter,
  // exactly as on a machine without a Vulkan driver.
  h = await Harness.start({ serverEnv: { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' } });
});

afterEach(async () => {
  await h.closeContexts();
  expect(h.takeConsoleErrors()).toEqual([]);
});

afterAll(async () => {
  await h?.close();
});

it('shows a red "No GPU adapter" state with the reason, and the rest of the app still works', async () => {
  const page = await h.open('#/runs');
  const gpu = page.getByTestId('gpu-status');
  await expect.poll(() => gpu.innerText()).toContain('No GPU adapter');
  // Page-side code as a string: this file is type-checked for Node, without the DOM library.
  expect(await page.evaluate<string>(`getComputedStyle(document.querySelector('[data-testid=gpu-status]')).backgroundColor`)).toBe('rgb(208, 48, 80)');

  await gpu.click();
  const reason = page.getByTestId('gpu-error');
  await reason.waitFor();
  expect(await reason.innerText()).toContain('Install a Vulkan');
  await h.screenshot(page, 'no-gpu-status');

  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+2');
  expect(await page.getByTestId('gpu-capabilities').innerText()).toContain('No GPU adapter');
  await h.screenshot(page, 'no-gpu-models');

  await page.keyboard.press('Control+5');
  await page.getByTestId('runs-empty').waitFor();
});

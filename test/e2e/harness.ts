// End-to-end harness: the real browser host (out/main/serve.js) on a temporary data dir, and Debian's
// Chromium driven through playwright-core. Every page's console errors are collected so a test fails
// on them unless it says which ones it expects.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Envelope, MethodName, Params, Result } from '../../src/shared/api';
import { tempDir } from '../helpers/tmp';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVE_JS = join(ROOT, 'out/main/serve.js');
const RENDERER_INDEX = join(ROOT, 'out/renderer/index.html');
export const SCREENSHOT_DIR = join(ROOT, 'test-results/screenshots');
const READY_LINE = /GTA Workbench is served at (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{32}))/;

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface ServerHandle {
  /** The URL the server printed, token included. */
  url: string;
  origin: string;
  port: number;
  token: string;
  stop(): Promise<void>;
}

/** Starts `node out/main/serve.js` and resolves once it prints its URL line. */
export async function startServer(dataDir: string, port = 0, env: Record<string, string> = {}): Promise<ServerHandle> {
  if (!existsSync(SERVE_JS) || !existsSync(RENDERER_INDEX)) {
    throw new Error(`out/ is not built (${existsSync(SERVE_JS) ? 'out/renderer/index.html' : 'out/main/serve.js'} is missing): run npm run build`);
  }
  const proc = spawn(process.execPath, [SERVE_JS, '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

  const match = await new Promise<RegExpExecArray>((resolveReady, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`serve.js printed no URL within 60 s.\nstdout: ${stdout}\nstderr: ${stderr}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = READY_LINE.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve.js exited (${code ?? signal}) before it was ready.\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });

  const [, url, portText, token] = match;
  return {
    url,
    origin: `http://127.0.0.1:${portText}`,
    port: Number(portText),
    token,
    stop: () => stopProcess(proc),
  };
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    proc.kill('SIGTERM');
  });
}

export class Harness {
  readonly dataDir: string;
  server!: ServerHandle;
  browser!: Browser;
  private consoleErrors: string[] = [];
  private allowed: RegExp[] = [];
  private contexts: BrowserContext[] = [];

  /** Extra environment for every serve.js this harness starts (e.g. to hide the Vulkan driver). */
  private serverEnv: Record<string, string> = {};

  private constructor() {
    // Removed by close(), and in any case when the test file ends (also if close() never runs or fails).
    this.dataDir = tempDir('gta-e2e-');
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
  }

  static async start(opts: { serverEnv?: Record<string, string> } = {}): Promise<Harness> {
    const h = new Harness();
    h.serverEnv = opts.serverEnv ?? {};
    try {
      h.server = await startServer(h.dataDir, 0, h.serverEnv);
      // launch() gives Chromium a fresh temporary profile (user-data dir) and removes it on close.
      h.browser = await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_FLAGS,
      });
    } catch (err) {
      await h.close();
      throw err;
    }
    return h;
  }

  /** Stops the server and starts it again on the same data dir (samePort: same origin, new token). */
  async restartServer(opts: { samePort?: boolean } = {}): Promise<void> {
    const port = opts.samePort ? this.server.port : 0;
    await this.server.stop();
    this.server = await startServer(this.dataDir, port, this.serverEnv);
  }

  /** A new isolated browser context (own cookies and storage) with console-error collection. */
  async newContext(): Promise<BrowserContext> {
    const context = await this.browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    context.on('page', (page) => this.watch(page));
    this.contexts.push(context);
    return context;
  }

  /** Opens the app the way a user does: the URL the server printed, in a fresh context. */
  async open(hash = ''): Promise<Page> {
    const context = await this.newContext();
    const page = await context.newPage();
    await page.goto(this.server.url + hash);
    await page.getByTestId('status-bar').waitFor();
    return page;
  }

  private watch(page: Page): void {
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push(`console: ${msg.text()} (${msg.location().url})`);
    });
    page.on('pageerror', (err) => this.consoleErrors.push(`pageerror: ${err.message}`));
  }

  /** Console errors matching `pattern` are expected until the end of the current test. */
  allowConsoleError(pattern: RegExp): void {
    this.allowed.push(pattern);
  }

  /** Returns and clears the unexpected console errors since the last call. */
  takeConsoleErrors(): string[] {
    const unexpected = this.consoleErrors.filter((e) => !this.allowed.some((p) => p.test(e)));
    this.consoleErrors = [];
    this.allowed = [];
    return unexpected;
  }

  async closeContexts(): Promise<void> {
    await Promise.all(this.contexts.map((c) => c.close()));
    this.contexts = [];
  }

  async screenshot(page: Page, name: string): Promise<string> {
    const path = join(SCREENSHOT_DIR, `${name}.png`);
    await page.screenshot({ path, animations: 'disabled' });
    return path;
  }

  /** Calls the API directly over HTTP, as a tool would, to set up state the UI then has to show. */
  async api<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    const res = await fetch(`${this.server.origin}/api/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.server.token}` },
      body: JSON.stringify(params),
    });
    const envelope = (await res.json()) as Envelope<Result<M>>;
    if (!envelope.ok) throw new Error(`${method}: ${envelope.error.name}: ${envelope.error.message}`);
    return envelope.result;
  }

  async close(): Promise<void> {
    await this.closeContexts().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    await this.server?.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

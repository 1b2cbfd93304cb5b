// Chat templates render on a worker thread with a time, memory and output budget (issue 15, item 1):
// a template is code from a model folder, and `{% for i in range(1000000000) %}` on the main thread
// froze every request and then killed the process. One long-lived worker renders one template at a
// time; the main side waits at most RENDER_TIME_MS for each render (counted from when it is sent, not
// while it waits its turn), terminates the worker on overrun and starts a fresh one for the next render.
// The worker is eval'd from a string, never a file (as eigen-pool.ts): this module is bundled by
// electron-vite (out/main), by esbuild into one file (CLI) and run from source by vitest, and none of
// those would carry a separate worker file along. The worker loads @huggingface/jinja by the absolute
// path this thread resolves (from this module, the working directory or the entry script), so it finds
// the package in node_modules wherever the app, the CLI or the tests run from; a bundle run with no
// node_modules around it gets a clear error for chat templates instead (everything else still works).
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

/** Wall-clock budget of one render, parse included. */
export const RENDER_TIME_MS = 2000;
/** The most characters a rendered prompt may have (4 MB of text, far beyond any model's context). */
export const RENDER_MAX_CHARS = 4 * 1024 * 1024;
/** The worker's heap: a template that allocates past it is stopped (before V8's fatal size limits). */
export const RENDER_HEAP_MB = 256;

/** Why a render failed: the budget it broke, the module not found, or the template's own error. */
export type RenderFailure = 'time' | 'output' | 'memory' | 'unavailable' | 'template';

export class TemplateRenderError extends Error {
  constructor(
    readonly reason: RenderFailure,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateRenderError';
  }
}

const WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
let jinja = null;
let loadError = 'no path to @huggingface/jinja was found';
for (const p of workerData.paths.concat(['@huggingface/jinja'])) {
  try { jinja = require(p); break; } catch (e) { loadError = String(e && e.message || e); }
}
const cache = new Map();
parentPort.on('message', function (m) {
  if (!jinja) { parentPort.postMessage({ id: m.id, error: { reason: 'unavailable', message: loadError } }); return; }
  let text;
  try {
    let t = cache.get(m.template);
    if (!t) {
      t = new jinja.Template(m.template);
      if (cache.size >= 8) cache.delete(cache.keys().next().value);
      cache.set(m.template, t);
    }
    text = t.render(m.context);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { reason: 'template', message: String(e && e.message !== undefined ? e.message : e) } });
    return;
  }
  text = String(text);
  if (text.length > m.maxChars) parentPort.postMessage({ id: m.id, error: { reason: 'output', message: String(text.length) } });
  else parentPort.postMessage({ id: m.id, text: text });
});
`;

let jinjaPaths: string[] | undefined;
/** Absolute paths of @huggingface/jinja's CommonJS build, resolved from every base that may see it. */
function resolveJinja(): string[] {
  if (jinjaPaths) return jinjaPaths;
  const bases: string[] = [];
  try {
    bases.push(import.meta.url);
  } catch {
    /* not an ES module */
  }
  bases.push(join(process.cwd(), 'index.js'));
  if (process.argv[1]) bases.push(resolve(process.argv[1]));
  const found = new Set<string>();
  for (const base of bases) {
    try {
      found.add(createRequire(base).resolve('@huggingface/jinja'));
    } catch {
      /* not from here */
    }
  }
  jinjaPaths = [...found];
  return jinjaPaths;
}

interface Job {
  id: number;
  template: string;
  context: Record<string, unknown>;
  resolve: (text: string) => void;
  reject: (err: Error) => void;
}

interface Reply {
  id: number;
  text?: string;
  error?: { reason: RenderFailure; message: string };
}

let worker: Worker | null = null;
let inFlight: Job | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
const queue: Job[] = [];
let nextId = 1;

function startWorker(): Worker {
  const w = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { paths: resolveJinja() },
    resourceLimits: { maxOldGenerationSizeMb: RENDER_HEAP_MB, maxYoungGenerationSizeMb: 32 },
  });
  w.on('message', (r: Reply) => {
    if (w !== worker || !inFlight || r.id !== inFlight.id) return;
    const job = settle();
    if (r.error) job.reject(new TemplateRenderError(r.error.reason, r.error.message));
    else job.resolve(r.text ?? '');
    pump();
  });
  const died = (err: Error | null) => {
    if (w !== worker) return;
    worker = null;
    if (!inFlight) return;
    const job = settle();
    const oom = err && (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    job.reject(oom ? new TemplateRenderError('memory', `more than ${RENDER_HEAP_MB} MB of memory`) : new TemplateRenderError('template', `the renderer stopped (${err?.message ?? 'exited'})`));
    pump();
  };
  w.on('error', (err) => died(err));
  w.on('exit', () => died(null));
  // After the listeners (adding one refs the worker again): an idle renderer never keeps the process alive.
  w.unref();
  return w;
}

function settle(): Job {
  const job = inFlight!;
  inFlight = null;
  if (timer) clearTimeout(timer);
  timer = null;
  return job;
}

function pump(): void {
  if (inFlight || queue.length === 0) return;
  const job = queue.shift()!;
  inFlight = job;
  try {
    worker ??= startWorker();
  } catch (err) {
    settle();
    job.reject(new TemplateRenderError('unavailable', (err as Error).message));
    pump();
    return;
  }
  const w = worker;
  timer = setTimeout(() => {
    if (inFlight !== job) return;
    worker = null;
    void w.terminate();
    settle();
    job.reject(new TemplateRenderError('time', `ran past ${RENDER_TIME_MS / 1000} s`));
    pump();
  }, RENDER_TIME_MS);
  try {
    w.postMessage({ id: job.id, template: job.template, context: job.context, maxChars: RENDER_MAX_CHARS });
  } catch (err) {
    settle();
    job.reject(new TemplateRenderError('template', `the conversation cannot be sent to the renderer (${(err as Error).message})`));
    pump();
  }
}

/**
 * Render `template` with `context` on the template worker. Rejects with TemplateRenderError: 'time'
 * past RENDER_TIME_MS, 'output' past RENDER_MAX_CHARS, 'memory' past RENDER_HEAP_MB, 'unavailable'
 * where @huggingface/jinja cannot be loaded, 'template' for the template's own errors.
 */
export function renderTemplate(template: string, context: Record<string, unknown>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    queue.push({ id: nextId++, template, context, resolve, reject });
    pump();
  });
}

/** Stop the worker (tests and shutdown); the next render starts a fresh one. */
export async function stopTemplateWorker(): Promise<void> {
  const w = worker;
  worker = null;
  if (inFlight) settle().reject(new TemplateRenderError('time', 'the renderer was stopped'));
  if (w) await w.terminate();
  pump();
}

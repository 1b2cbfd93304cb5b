// Many symmetric eigenvalue problems (the KV-compressibility Gram matrices: 32 × n = 512 for PLM-1.8B,
// 54 × 3 × n = 64 / 128 / 1280 for GTA-1B) in parallel on worker threads, off the main process's event
// loop. One solver: the workers run spectrum.ts's symmetricEigenvaluesSelfContained from its own
// `toString()`, so results are bit for bit those of symmetricEigenvalues on this thread (same V8, same
// code, IEEE-exact ops only). The worker is eval'd from a string, never a file: this module is bundled
// by electron-vite (out/main), by esbuild into one file (CLI, GPU-machine bundles) and run from source
// by vitest, and none of those would carry a separate worker file along.
// Scheduling: largest n first onto whichever worker is free (LPT), one job per worker at a time, the
// matrix copied just before it is sent (transferred, so at most `threads` copies exist at once); a
// worker is terminated as soon as nothing is left for it. Jobs with n < 64 take well under a
// millisecond and run here.
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { symmetricEigenvalues, symmetricEigenvaluesSelfContained } from '../../../shared/analysis/spectrum';
import { CancelledError } from '../../../shared/errors';

export interface EigenJob {
  /** Row-major n×n symmetric matrix. Not modified, unless `transfer` hands it over. */
  matrix: Float64Array;
  n: number;
}

export interface EigenPoolOptions {
  /** Worker threads at most (default: availableParallelism() − 1, at least 1); 0 runs every job on this thread. */
  threads?: number;
  /** Aborting rejects with CancelledError and terminates the workers. */
  signal?: AbortSignal;
  /**
   * Hand the matrices' buffers to the workers instead of copying them (saves one copy per job; the
   * caller's arrays are detached once sent). Only for arrays that own their whole, non-shared buffer;
   * any other is copied anyway. Default false.
   */
  transfer?: boolean;
}

/** Below this n a job runs on the calling thread: the message round trip would cost more than the solve. */
export const INLINE_BELOW_N = 64;

/** The default worker count: one core left for the event loop (and the GPU driver's thread). */
export function defaultEigenThreads(): number {
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  return Math.max(1, cores - 1);
}

let live = 0;
/** Worker threads of this module still alive (diagnostics and tests: 0 once every call has settled). */
export function liveEigenWorkers(): number {
  return live;
}

let source: string | undefined;
/**
 * The worker's whole program. The solver's text is a function expression whatever name a bundler gave
 * it; `__name` is a no-op stand-in for esbuild's keepNames helper, which would otherwise be the one
 * outside reference such a build adds to the inner helper functions.
 */
export function eigenWorkerSource(): string {
  source ??= `'use strict';
var __name = function (f) { return f; };
const { parentPort } = require('node:worker_threads');
const solve = (${symmetricEigenvaluesSelfContained.toString()});
parentPort.on('message', function (m) {
  let d;
  try {
    d = solve(new Float64Array(m.buffer), m.n);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { name: err && err.name ? String(err.name) : 'Error', message: String(err && err.message !== undefined ? err.message : err) } });
    return;
  }
  parentPort.postMessage({ id: m.id, buffer: d.buffer }, [d.buffer]);
});
`;
  return source;
}

interface Reply {
  id: number;
  buffer?: ArrayBuffer;
  error?: { name: string; message: string };
}

function rebuildError(e: { name: string; message: string }): Error {
  const Ctor = e.name === 'RangeError' ? RangeError : e.name === 'TypeError' ? TypeError : Error;
  return new Ctor(e.message);
}

function cancelled(): CancelledError {
  return new CancelledError('The analysis was cancelled.');
}

function checkJobs(jobs: EigenJob[]): void {
  jobs.forEach((j, i) => {
    if (!Number.isInteger(j.n) || j.n < 1) throw new RangeError(`jobs[${i}].n (${j.n}) must be an integer ≥ 1`);
    if (!(j.matrix instanceof Float64Array)) throw new TypeError(`jobs[${i}].matrix must be a Float64Array`);
    if (j.matrix.length !== j.n * j.n) throw new RangeError(`jobs[${i}].matrix has ${j.matrix.length} values; expected n·n = ${j.n * j.n}`);
  });
}

/** The buffer to post for a job: the caller's own when it may be handed over whole, else a fresh copy. */
function bufferFor(m: Float64Array, transfer: boolean): ArrayBuffer {
  const b = m.buffer;
  if (transfer && b instanceof ArrayBuffer && m.byteOffset === 0 && m.byteLength === b.byteLength) return b;
  return m.slice().buffer;
}

async function onThisThread(jobs: EigenJob[], signal?: AbortSignal): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (const j of jobs) {
    if (signal?.aborted) throw cancelled();
    out.push(symmetricEigenvalues(j.matrix, j.n));
    // Let the event loop (IPC, the abort itself) in between jobs.
    await new Promise<void>((r) => setImmediate(r));
  }
  if (signal?.aborted) throw cancelled();
  return out;
}

/**
 * Eigenvalues (descending) of each symmetric matrix, computed on up to `threads` worker threads
 * (default: os.availableParallelism() − 1, at least 1; 0 → on this thread). Results in input order.
 * Rejects with CancelledError (src/shared/errors.ts) when `signal` aborts; terminates its workers when
 * done (resolved, rejected or cancelled: every worker has exited before the promise settles). A job
 * that fails (a non-finite entry) rejects the whole call with the error symmetricEigenvalues throws.
 * Don't modify the matrices before the promise settles (each is copied only when its turn comes).
 */
export async function eigenvaluesParallel(jobs: EigenJob[], opts: EigenPoolOptions = {}): Promise<Float64Array[]> {
  checkJobs(jobs);
  const threads = opts.threads ?? defaultEigenThreads();
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`threads (${threads}) must be an integer ≥ 0`);
  const { signal } = opts;
  if (signal?.aborted) throw cancelled();
  if (threads === 0) return onThisThread(jobs, signal);

  const results: (Float64Array | undefined)[] = new Array(jobs.length);
  // Largest first (stable by index): the longest jobs must not be the last to start.
  const queue = jobs.map((_, i) => i).filter((i) => jobs[i].n >= INLINE_BELOW_N).sort((a, b) => jobs[b].n - jobs[a].n || a - b);
  const small = jobs.map((_, i) => i).filter((i) => jobs[i].n < INLINE_BELOW_N);
  const transfer = opts.transfer === true;

  return new Promise<Float64Array[]>((resolve, reject) => {
    const workers = new Set<Worker>();
    const exiting: Promise<unknown>[] = [];
    let remaining = jobs.length;
    let next = 0;
    let settled = false;

    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      for (const w of workers) exiting.push(w.terminate().catch(() => 0));
      workers.clear();
      void Promise.all(exiting).then(() => (err ? reject(err) : resolve(results as Float64Array[])));
    };
    const onAbort = (): void => finish(cancelled());
    const done = (i: number, r: Float64Array): void => {
      results[i] = r;
      if (--remaining === 0) finish(undefined);
    };

    const feed = (w: Worker): void => {
      if (settled) return;
      if (next >= queue.length) {
        // Nothing left for this one: let its thread go now rather than at the end.
        workers.delete(w);
        exiting.push(w.terminate().catch(() => 0));
        return;
      }
      const i = queue[next++];
      const buffer = bufferFor(jobs[i].matrix, transfer);
      w.postMessage({ id: i, n: jobs[i].n, buffer }, [buffer]);
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    const count = Math.min(threads, queue.length);
    for (let k = 0; k < count; k++) {
      const w = new Worker(eigenWorkerSource(), { eval: true, name: 'eigen-pool' });
      live++;
      workers.add(w);
      w.on('message', (m: Reply) => {
        if (settled) return;
        if (m.error) return finish(rebuildError(m.error));
        done(m.id, new Float64Array(m.buffer as ArrayBuffer));
        feed(w);
      });
      w.on('error', (err: Error) => finish(new Error(`eigen-pool worker failed: ${err.message}`)));
      w.on('exit', (code) => {
        live--;
        if (!settled && workers.has(w)) finish(new Error(`eigen-pool worker exited unexpectedly (code ${code})`));
      });
      feed(w);
    }
    // The small ones here, while the workers start.
    for (const i of small) {
      if (settled) return;
      let r: Float64Array;
      try {
        r = symmetricEigenvaluesSelfContained(jobs[i].matrix, jobs[i].n);
      } catch (err) {
        return finish(err as Error);
      }
      done(i, r);
    }
    if (jobs.length === 0) finish(undefined);
  });
}

/**
 * Singular values (descending; sqrt(max(0, λ)), min(rows, dim) of them) of the matrices behind each
 * dim×dim Gram matrix (XᵀX of a rows×dim X, float64), computed as eigenvaluesParallel does. Element for
 * element what gramSingularValues(gram, dim).slice(0, min(rows, dim)) gives on this thread.
 */
export async function gramSpectraParallel(grams: { gram: Float64Array; dim: number; rows: number }[], opts?: EigenPoolOptions): Promise<number[][]> {
  grams.forEach((g, i) => {
    if (!Number.isInteger(g.rows) || g.rows < 1) throw new RangeError(`grams[${i}].rows (${g.rows}) must be an integer ≥ 1`);
  });
  const lambdas = await eigenvaluesParallel(grams.map((g) => ({ matrix: g.gram, n: g.dim })), opts);
  return lambdas.map((l, i) => Array.from(l.subarray(0, Math.min(grams[i].rows, grams[i].dim)), (x) => Math.sqrt(Math.max(0, x))));
}

// The eigenvalue worker pool (src/main/services/analysis/eigen-pool.ts): results bit for bit those of
// symmetricEigenvalues on this thread, in input order; cancel rejects and leaves no worker behind; the
// threads: 0 path; the solver's source is self-contained, and the pool works from a single bundled file
// (esbuild as tools/bundle.mjs builds the CLI, plus keepNames / minify variants, and vite as electron-vite
// builds out/main) run alone in an empty folder.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultEigenThreads,
  eigenvaluesParallel,
  eigenWorkerSource,
  gramSpectraParallel,
  liveEigenWorkers,
} from '../../src/main/services/analysis/eigen-pool';
import { gramSingularValues, symmetricEigenvalues, symmetricEigenvaluesSelfContained } from '../../src/shared/analysis/spectrum';
import { CancelledError } from '../../src/shared/errors';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded symmetric n×n matrix (a Gram-like one when rows is given: XᵀX of a rows×n X). */
function symmetric(n: number, seed: number, rows?: number): Float64Array {
  const r = mulberry32(seed);
  const g = new Float64Array(n * n);
  if (rows === undefined) {
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) g[i * n + j] = g[j * n + i] = r() - 0.5;
    return g;
  }
  const x = Array.from({ length: rows * n }, () => r() - 0.5);
  for (let k = 0; k < rows; k++) for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) g[a * n + b] += x[k * n + a] * x[k * n + b];
  return g;
}

function bits(a: ArrayLike<number>): string[] {
  return Array.from(a, (v) => {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, v);
    return b.getBigUint64(0).toString(16);
  });
}

// Mixed sizes, out of order, some below the inline threshold (64), one repeated.
const sizes = [3, 130, 64, 1, 97, 63, 200, 70, 130, 2, 80];
const jobs = sizes.map((n, i) => ({ matrix: symmetric(n, 100 + i), n }));
const reference = jobs.map((j) => symmetricEigenvalues(j.matrix, j.n));

describe('symmetricEigenvaluesSelfContained', () => {
  it('runs from its own source text in an empty scope, bit for bit', () => {
    // new Function compiles at global scope: any reference to a module-level name would throw here.
    const solve = new Function(`'use strict'; return (${symmetricEigenvaluesSelfContained.toString()});`)() as typeof symmetricEigenvalues;
    for (const j of jobs) expect(bits(solve(j.matrix, j.n))).toEqual(bits(symmetricEigenvalues(j.matrix, j.n)));
    expect(() => solve(new Float64Array([1, NaN, NaN, 1]), 2)).toThrow(/must be finite/);
    expect(() => solve(new Float64Array(3), 2)).toThrow(RangeError);
  });
});

describe('eigenvaluesParallel', () => {
  it('matches symmetricEigenvalues bit for bit, in input order, and leaves the inputs alone', async () => {
    const copies = jobs.map((j) => j.matrix.slice());
    const got = await eigenvaluesParallel(jobs, { threads: 2 });
    expect(got).toHaveLength(jobs.length);
    got.forEach((g, i) => expect(bits(g)).toEqual(bits(reference[i])));
    jobs.forEach((j, i) => expect(bits(j.matrix)).toEqual(bits(copies[i])));
    expect(liveEigenWorkers()).toBe(0);
  });

  it('threads 0 runs on this thread with the same results', async () => {
    const got = await eigenvaluesParallel(jobs, { threads: 0 });
    got.forEach((g, i) => expect(bits(g)).toEqual(bits(reference[i])));
    expect(liveEigenWorkers()).toBe(0);
    expect(await eigenvaluesParallel([], { threads: 0 })).toEqual([]);
  });

  it('defaults to the cores less one, handles no jobs and more threads than jobs', async () => {
    expect(defaultEigenThreads()).toBeGreaterThanOrEqual(1);
    expect(await eigenvaluesParallel([])).toEqual([]);
    const two = [jobs[1], jobs[0]];
    const got = await eigenvaluesParallel(two, { threads: 8 });
    expect(bits(got[0])).toEqual(bits(reference[1]));
    expect(bits(got[1])).toEqual(bits(reference[0]));
    expect(liveEigenWorkers()).toBe(0);
  });

  it('transfer: true hands whole buffers over (detached) and copies views', async () => {
    const owned = symmetric(90, 7);
    const backing = new Float64Array(1 + 90 * 90);
    backing.set(owned, 1);
    const view = backing.subarray(1);
    const got = await eigenvaluesParallel([{ matrix: owned.slice(), n: 90 }, { matrix: view, n: 90 }], { threads: 2, transfer: true });
    expect(bits(got[0])).toEqual(bits(symmetricEigenvalues(owned, 90)));
    expect(bits(got[1])).toEqual(bits(got[0]));
    expect(view.length).toBe(90 * 90); // a view is copied, never detached
    const whole = owned.slice();
    await eigenvaluesParallel([{ matrix: whole, n: 90 }], { threads: 1, transfer: true });
    expect(whole.length).toBe(0); // detached
  });

  it('rejects bad input up front and a failing job with the solver’s error, leaving no worker', async () => {
    await expect(eigenvaluesParallel([{ matrix: new Float64Array(5), n: 2 }])).rejects.toThrow(RangeError);
    await expect(eigenvaluesParallel(jobs, { threads: -1 })).rejects.toThrow(RangeError);
    const bad = symmetric(100, 3);
    bad[5 * 100 + 7] = Infinity;
    const err = await eigenvaluesParallel([...jobs, { matrix: bad, n: 100 }], { threads: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/a\[5·n \+ 7\] must be finite|a\[7·n \+ 5\] must be finite/);
    expect(liveEigenWorkers()).toBe(0);
  });

  it('cancel rejects with CancelledError promptly and terminates the workers', async () => {
    // Six n = 800 problems (each ≈ 0.5 s here): aborting 150 ms in must interrupt solves under way.
    const big = Array.from({ length: 6 }, (_, i) => ({ matrix: symmetric(800, 40 + i), n: 800 }));
    const ac = new AbortController();
    const p = eigenvaluesParallel(big, { threads: 2, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 150));
    expect(liveEigenWorkers()).toBe(2);
    const t0 = performance.now();
    ac.abort();
    const err = await p.catch((e: unknown) => e);
    const latency = performance.now() - t0;
    expect(err).toBeInstanceOf(CancelledError);
    expect(liveEigenWorkers()).toBe(0);
    expect(latency).toBeLessThan(1000);
    // Already aborted: rejects without starting anything (both paths).
    await expect(eigenvaluesParallel(big, { threads: 2, signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    await expect(eigenvaluesParallel(big, { threads: 0, signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(liveEigenWorkers()).toBe(0);
  });

  it('threads 0 checks the signal between jobs', async () => {
    const ac = new AbortController();
    const p = eigenvaluesParallel(jobs, { threads: 0, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('gramSpectraParallel', () => {
  it('gives gramSingularValues, cut to min(rows, dim), bit for bit', async () => {
    const grams = [
      { gram: symmetric(96, 1, 200), dim: 96, rows: 200 }, // tall: all dim values
      { gram: symmetric(72, 2, 40), dim: 72, rows: 40 }, // wide: rank ≤ rows, rows values
      { gram: symmetric(16, 3, 5), dim: 16, rows: 5 }, // inline
    ];
    const got = await gramSpectraParallel(grams, { threads: 2 });
    grams.forEach((g, i) => {
      const want = gramSingularValues(g.gram, g.dim).slice(0, Math.min(g.rows, g.dim));
      expect(got[i]).toHaveLength(want.length);
      expect(bits(got[i])).toEqual(bits(want));
    });
    await expect(gramSpectraParallel([{ gram: new Float64Array(4), dim: 2, rows: 0 }])).rejects.toThrow(RangeError);
  });
});

describe('from one bundled file', () => {
  const root = resolve(__dirname, '../..');
  const dir = mkdtempSync(join(tmpdir(), 'eigen-pool-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const poolPath = JSON.stringify(resolve(root, 'src/main/services/analysis/eigen-pool.ts'));
  // The entry recomputes the test's matrices (same generator) and prints the pool's results as JSON
  // (shortest round-trip doubles: exact).
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { eigenvaluesParallel, gramSpectraParallel, liveEigenWorkers } from ${poolPath};
${mulberry32.toString()}
${symmetric.toString()}
const sizes = ${JSON.stringify(sizes)};
const jobs = sizes.map((n, i) => ({ matrix: symmetric(n, 100 + i), n }));
const eig = await eigenvaluesParallel(jobs, { threads: 2 });
const sv = await gramSpectraParallel([{ gram: symmetric(72, 2, 40), dim: 72, rows: 40 }], { threads: 1 });
console.log(JSON.stringify({ eig: eig.map((e) => Array.from(e)), sv, live: liveEigenWorkers() }));
`,
  );

  /** Runs the bundle alone in an empty folder and checks what it printed. */
  function runAlone(bundle: string, name: string): void {
    const solo = join(dir, `solo-${name}`);
    mkdirSync(solo);
    copyFileSync(bundle, join(solo, 'bundle.mjs'));
    const r = spawnSync(process.execPath, ['bundle.mjs'], { cwd: solo, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { eig: number[][]; sv: number[][]; live: number };
    out.eig.forEach((e, i) => expect(bits(e)).toEqual(bits(reference[i])));
    expect(bits(out.sv[0])).toEqual(bits(gramSingularValues(symmetric(72, 2, 40), 72).slice(0, 40)));
    expect(out.live).toBe(0);
  }

  // tools/bundle.mjs's options (the CLI and the GPU-machine bundles), then keepNames and minify variants.
  for (const variant of [{ name: 'cli', extra: {} }, { name: 'keepNames', extra: { keepNames: true } }, { name: 'minify', extra: { minify: true } }]) {
    it(`esbuild (${variant.name})`, async () => {
      const outfile = join(dir, `${variant.name}.mjs`);
      await build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: 'inline',
        external: ['webgpu', 'better-sqlite3', 'electron', 'ws'],
        banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
        logLevel: 'silent',
        ...variant.extra,
      });
      runAlone(outfile, variant.name);
    });
  }

  it('vite SSR build (as electron-vite builds out/main)', async () => {
    const { build: viteBuild } = await import('vite');
    const outDir = join(dir, 'vite');
    await viteBuild({
      configFile: false,
      logLevel: 'silent',
      root: dir,
      build: {
        ssr: entry,
        outDir,
        minify: false,
        target: 'node20',
        emptyOutDir: true,
        rollupOptions: { output: { format: 'es', entryFileNames: 'bundle.mjs' } },
      },
    });
    runAlone(join(outDir, 'bundle.mjs'), 'vite');
  });

  it('the worker program is plain script text', () => {
    const src = eigenWorkerSource();
    expect(src).toContain("require('node:worker_threads')");
    expect(src).not.toMatch(/^\s*(import|export)\s/m);
  });
});

// A writer process dies with SIGKILL in the middle of a run: the next open keeps every committed run
// and marks the one that was running `interrupted`; a live writer's running run is left alone.
import { build } from 'esbuild';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/main/store';
import { tempDir } from '../helpers/tmp';

const root = resolve(__dirname, '../..');
// Inside the repo so the bundle's `import 'better-sqlite3'` resolves from node_modules.
const cacheDir = join(root, 'node_modules/.cache/gta-workbench-tests');
const writer = join(cacheDir, `store-writer-${process.pid}.mjs`);
let dir: string;

beforeAll(async () => {
  mkdirSync(cacheDir, { recursive: true });
  await build({
    entryPoints: [join(root, 'test/fixtures/store/writer.ts')],
    outfile: writer,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'],
    logLevel: 'warning',
  });
  dir = tempDir('wb-crash-');
});
afterAll(() => {
  rmSync(writer, { force: true });
});

interface Report {
  pid: number;
  committed: string[];
  running: string;
}

function startWriter(dataDir: string, count: number): Promise<{ child: ChildProcess; report: Report }> {
  const child = spawn(process.execPath, [writer, dataDir, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`writer exited early with code ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => ok({ child, report: JSON.parse(line) as Report }));
  });
}

function killAndReap(child: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((ok) => {
    child.removeAllListeners('exit');
    child.once('exit', (_code, signal) => ok(signal));
    child.kill('SIGKILL');
  });
}

describe('crash recovery', () => {
  it('keeps committed runs and interrupts the run of a killed writer, but not of a live one', async () => {
    const { child, report } = await startWriter(dir, 5);
    expect(report.committed).toHaveLength(5);

    // The writer is alive: a second process opening the same database must not clobber its run.
    const peer = RunStore.open({ dataDir: dir });
    expect(peer.interruptedAtOpen).toEqual([]);
    expect(peer.getRun(report.running).status).toBe('running');
    peer.close();

    expect(await killAndReap(child)).toBe('SIGKILL');

    const store = RunStore.open({ dataDir: dir });
    try {
      expect(store.interruptedAtOpen).toEqual([report.running]);
      const page = store.list({ limit: 500 });
      expect(page.total).toBe(6);
      for (const id of report.committed) {
        const run = store.get(id);
        expect(run.status).toBe('completed');
        expect(run.tags).toEqual(['crash-test']);
        expect(run.metrics).toHaveLength(100);
        expect(run.metrics[99]).toMatchObject({ name: 'tok_s', step: 99, value: 49.5 });
      }
      const lost = store.get(report.running);
      expect(lost.status).toBe('interrupted');
      expect(lost.finishedAt).not.toBeNull();
      expect(lost.error).toMatch(/ended before the run finished/);
      expect(lost.metrics).toHaveLength(1);
    } finally {
      store.close();
    }
    // A second open finds nothing left to interrupt.
    const again = RunStore.open({ dataDir: dir });
    expect(again.interruptedAtOpen).toEqual([]);
    again.close();
  });

  it('within one process, a reopen interrupts only runs whose store is closed', () => {
    const d = mkdtempSync(join(dir, 'same-'));
    const env = { appVersion: 't', engineVersion: 't', os: 't', node: 't' };
    const a = RunStore.open({ dataDir: d });
    const runA = a.create({ kind: 'chat', title: 'owned by a live store' }, env);
    const b = RunStore.open({ dataDir: d });
    expect(b.getRun(runA.id).status).toBe('running');
    const runB = b.create({ kind: 'chat', title: 'owned by b' }, env);
    b.close();
    const c = RunStore.open({ dataDir: d });
    expect(c.interruptedAtOpen).toEqual([runB.id]);
    expect(c.getRun(runA.id).status).toBe('running');
    a.close();
    c.close();
  });
});

// Store integrity (issue 15, item 8): a damaged database is caught at open and kept aside on request,
// a damaged row is isolated instead of breaking every list, read-only and full disks get clear
// messages, and artifact files orphaned by a kill are swept at open (old ones only).
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/shared/errors';
import { RunStore, toStorageError } from '../../src/main/store';
import { tempDir } from '../helpers/tmp';

const env = { app: 'test' } as never;

function fill(store: RunStore, n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = store.create({ kind: 'analysis', title: `run ${i} ${'x'.repeat(200)}`, params: { i, pad: 'p'.repeat(300) }, tags: [`t${i % 7}`] } as never, env);
    store.addMetrics(r.id, Array.from({ length: 20 }, (_, s) => ({ name: 'loss', step: s, value: Math.sin(i + s) })));
    ids.push(r.id);
  }
  return ids;
}

/** Overwrite page `page` (1-based) of the file with deterministic pseudo-random bytes. */
function smashPage(file: string, page: number, pageSize = 4096): void {
  let x = 0x2545f491;
  const buf = Buffer.alloc(pageSize);
  for (let i = 0; i < pageSize; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  const fd = openSync(file, 'r+');
  writeSync(fd, buf, 0, pageSize, (page - 1) * pageSize);
  closeSync(fd);
}

describe('corrupt database at open', () => {
  function corruptDir(): { dir: string; db: string; original: Buffer } {
    const dir = tempDir('wb-integrity-');
    const store = RunStore.open({ dataDir: dir });
    fill(store, 150);
    store.close(); // checkpoints the WAL into the main file
    const db = join(dir, 'workbench.db');
    const pages = statSync(db).size / 4096;
    expect(pages).toBeGreaterThan(20);
    smashPage(db, Math.floor(pages / 2));
    return { dir, db, original: readFileSync(db) };
  }

  it('refuses a database with a damaged middle page, saying what is wrong and how to recover', () => {
    const { dir } = corruptDir();
    let err: unknown;
    try {
      RunStore.open({ dataDir: dir }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/damaged/);
    expect(msg).toMatch(/integrity check/);
    expect(msg).toMatch(/copy/);
    // Nothing moved when the caller did not ask for it.
    expect(readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual([]);
  });

  it("with onCorrupt: 'quarantine' keeps the damaged file set as workbench.corrupt-<timestamp>.db and starts fresh", () => {
    const { dir, original } = corruptDir();
    const store = RunStore.open({ dataDir: dir, onCorrupt: 'quarantine' });
    try {
      expect(store.list().total).toBe(0);
      const q = store.quarantinedAtOpen;
      expect(q).not.toBeNull();
      expect(q!.copy).toMatch(/workbench\.corrupt-[0-9TZ-]+\.db$/);
      expect(readFileSync(q!.copy).equals(original)).toBe(true);
      expect(q!.message).toContain(q!.copy);
      // The fresh store works.
      const r = store.create({ kind: 'analysis', title: 'after', params: {} } as never, env);
      expect(store.getRun(r.id).title).toBe('after');
    } finally {
      store.close();
    }
  });

  it("quarantines a file that is not a database at all", () => {
    const dir = tempDir('wb-integrity-');
    writeFileSync(join(dir, 'workbench.db'), Buffer.alloc(8192, 7));
    expect(() => RunStore.open({ dataDir: dir })).toThrow(StorageError);
    const store = RunStore.open({ dataDir: dir, onCorrupt: 'quarantine' });
    try {
      expect(store.quarantinedAtOpen?.copy).toMatch(/workbench\.corrupt-/);
      expect(store.list().total).toBe(0);
    } finally {
      store.close();
    }
  });

  it('a healthy database opens with quarantinedAtOpen null', () => {
    const dir = tempDir('wb-integrity-');
    RunStore.open({ dataDir: dir }).close();
    const store = RunStore.open({ dataDir: dir, onCorrupt: 'quarantine' });
    expect(store.quarantinedAtOpen).toBeNull();
    store.close();
    expect(readdirSync(dir).filter((f) => f.includes('corrupt'))).toEqual([]);
  });
});

describe('a damaged run row', () => {
  it('is listed as damaged while every other run still lists; getRun returns the same view', () => {
    const dir = tempDir('wb-integrity-');
    const store = RunStore.open({ dataDir: dir });
    try {
      const ids = fill(store, 5);
      const raw = new Database(join(dir, 'workbench.db'));
      raw.prepare("UPDATE runs SET params = '{\"oops\":' WHERE id = ?").run(ids[1]);
      raw.prepare("UPDATE runs SET environment = 'not json' WHERE id = ?").run(ids[3]);
      raw.close();

      const page = store.list();
      expect(page.total).toBe(5);
      expect(page.runs.map((r) => r.id).sort()).toEqual([...ids].sort());
      const bad = page.runs.find((r) => r.id === ids[1])!;
      expect(bad.title).toMatch(/^run 1 /);
      expect(bad.status).toBe('running');
      expect(bad.params).toEqual({});
      expect(bad.error).toMatch(/damaged.*params/);
      expect((bad as { damaged?: string }).damaged).toMatch(/params/);
      const bad2 = page.runs.find((r) => r.id === ids[3])!;
      expect(bad2.error).toMatch(/damaged.*environment/);
      expect(bad2.params).toEqual({ i: 3, pad: 'p'.repeat(300) });
      const good = page.runs.find((r) => r.id === ids[0])!;
      expect(good.error).toBeNull();
      expect((good as { damaged?: string }).damaged).toBeUndefined();

      expect(store.getRun(ids[1])).toEqual(bad);
      const detail = store.get(ids[1]);
      expect(detail.error).toBe(bad.error);
      expect(detail.metrics.length).toBe(20);
      // Searches and filters keep working too.
      expect(store.list({ search: 'run 1 ' }).runs.map((r) => r.id)).toEqual([ids[1]]);
      expect(store.list({ tag: 't1' }).runs.map((r) => r.id)).toEqual([ids[1]]);
    } finally {
      store.close();
    }
  });
});

describe('read-only data directory and full disk', () => {
  it('maps read-only and disk-full codes to clear messages', () => {
    const p = '/data/wb/workbench.db';
    for (const code of ['EACCES', 'EROFS', 'EPERM', 'SQLITE_READONLY', 'SQLITE_READONLY_DIRECTORY']) {
      const e = toStorageError(Object.assign(new Error('x'), { code }), p);
      expect(e).toBeInstanceOf(StorageError);
      expect(e.message).toMatch(/the data directory \/data\/wb is read-only/i);
      expect(e.message).toMatch(/--data-dir/);
      expect(e.message).toMatch(/permissions/);
    }
    for (const code of ['SQLITE_FULL', 'ENOSPC', 'EDQUOT']) {
      const e = toStorageError(Object.assign(new Error('x'), { code }), p);
      expect(e.message).toMatch(/the disk holding \/data\/wb\/workbench\.db is full/i);
      expect(e.message).toMatch(/free some space/i);
      expect(e.message).toMatch(/nothing was written/i);
    }
  });

  describe('a real read-only directory', () => {
    const mounts: string[] = [];
    afterEach(() => {
      for (const m of mounts.splice(0)) execFileSync('umount', [m]);
    });

    /** A read-only folder: a read-only bind mount as root (root ignores permissions), chmod otherwise. */
    function readOnly(dir: string): boolean {
      if (process.getuid?.() !== 0) {
        execFileSync('chmod', ['0555', dir]);
        return true;
      }
      try {
        execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' });
        mounts.push(dir);
        execFileSync('mount', ['-o', 'remount,bind,ro', dir], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    }

    it('an empty read-only data dir says it is read-only, not "check that its folder exists"', (ctx) => {
      const dir = join(tempDir('wb-integrity-'), 'data');
      mkdirSync(dir);
      if (!readOnly(dir)) return ctx.skip('running as root without permission to make a read-only bind mount; the mapping is tested above');
      expect(() => RunStore.open({ dataDir: dir })).toThrow(/the data directory .*data is read-only.*--data-dir/i);
    });

    it('a read-only data dir holding a database says it is read-only', (ctx) => {
      const dir = join(tempDir('wb-integrity-'), 'data');
      mkdirSync(dir);
      const s = RunStore.open({ dataDir: dir });
      fill(s, 2);
      s.close();
      if (!readOnly(dir)) return ctx.skip('running as root without permission to make a read-only bind mount; the mapping is tested above');
      expect(() => {
        const store = RunStore.open({ dataDir: dir });
        try {
          store.create({ kind: 'analysis', title: 'x', params: {} } as never, env);
        } finally {
          store.close();
        }
      }).toThrow(/the data directory .*data is read-only.*--data-dir/i);
    });
  });
});

describe('orphan artifact files swept at open', () => {
  const old = new Date(Date.now() - 10 * 60_000);

  it('removes old files without a row and folders of deleted runs, keeps rows\' files and fresh files', () => {
    const dir = tempDir('wb-integrity-');
    let store = RunStore.open({ dataDir: dir });
    const [a] = fill(store, 1);
    const art = store.addArtifact(a, { name: 'kept.json', mime: 'application/json', data: Buffer.from('{"a":1}') });
    store.close();

    const runDir = join(dir, 'artifacts', a);
    const kept = join(runDir, art.id);
    const orphan = join(runDir, 'killed-before-row');
    const tmp = join(runDir, `${art.id}x.tmp-99999`);
    const fresh = join(runDir, 'in-flight-elsewhere');
    const goneRun = join(dir, 'artifacts', '00000000-0000-4000-8000-000000000000');
    const freshGoneRun = join(dir, 'artifacts', '11111111-0000-4000-8000-000000000000');
    writeFileSync(orphan, 'x');
    writeFileSync(tmp, 'half');
    writeFileSync(fresh, 'y');
    mkdirSync(goneRun);
    writeFileSync(join(goneRun, 'blob'), 'z');
    mkdirSync(freshGoneRun);
    writeFileSync(join(freshGoneRun, 'blob'), 'w');
    for (const f of [kept, orphan, tmp, join(goneRun, 'blob'), goneRun]) utimesSync(f, old, old);

    store = RunStore.open({ dataDir: dir });
    try {
      expect(store.sweptAtOpen).toBe(3);
      expect(existsSync(kept)).toBe(true);
      expect(store.readArtifact(art.id).data.toString()).toBe('{"a":1}');
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(tmp)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      expect(existsSync(goneRun)).toBe(false);
      expect(existsSync(join(freshGoneRun, 'blob'))).toBe(true);
    } finally {
      store.close();
    }
    // A second open finds nothing more (the fresh files are still young).
    store = RunStore.open({ dataDir: dir });
    expect(store.sweptAtOpen).toBe(0);
    store.close();
  });

  it('a store with no artifacts folder sweeps nothing', () => {
    const store = RunStore.open({ dataDir: tempDir('wb-integrity-') });
    expect(store.sweptAtOpen).toBe(0);
    store.close();
  });
});

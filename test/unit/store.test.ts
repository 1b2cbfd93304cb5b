// Run store against a real SQLite file in a temp folder: CRUD, queries, tags, artifacts, migrations,
// and the StorageError messages for a damaged database.
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEnvironment } from '../../src/shared/api';
import { InvalidRequestError, NotFoundError, StorageError } from '../../src/shared/errors';
import { DB_FILE, MIGRATIONS, RunStore, defaultDataDir, migrate, schemaVersion, toStorageError } from '../../src/main/store';
import { tempDir } from '../helpers/tmp';

const env: RunEnvironment = { appVersion: '0.1.0', engineVersion: '0.1.0', os: 'test', node: process.versions.node };
let dir: string;
let store: RunStore;

beforeEach(() => {
  dir = tempDir('wb-store-');
  store = RunStore.open({ dataDir: dir });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runs', () => {
  it('creates, reads, finishes and deletes a run', () => {
    const run = store.create({ kind: 'bench', title: 'GTA decode', model: 'gta-tiny', params: { ctx: 128, nested: { a: [1, 2] } }, tags: ['x', 'x', ' y '] }, env);
    expect(run.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(run).toMatchObject({ kind: 'bench', title: 'GTA decode', model: 'gta-tiny', status: 'running', finishedAt: null, error: null, tags: ['x', 'y'] });
    expect(run.params).toEqual({ ctx: 128, nested: { a: [1, 2] } });
    expect(run.environment).toEqual(env);

    expect(store.addMetrics(run.id, [
      { name: 'tok_s', step: 1, value: 10.5, unit: 'tok/s' },
      { name: 'tok_s', step: 0, value: 9 },
      { name: 'kv_bytes', step: 0, value: 4096, unit: 'B' },
    ])).toBe(3);
    const detail = store.get(run.id);
    expect(detail.metrics.map((m) => [m.name, m.step, m.value, m.unit])).toEqual([
      ['kv_bytes', 0, 4096, 'B'],
      ['tok_s', 0, 9, undefined],
      ['tok_s', 1, 10.5, 'tok/s'],
    ]);

    const done = store.finish(run.id, 'failed', 'out of memory');
    expect(done.status).toBe('failed');
    expect(done.error).toBe('out of memory');
    expect(done.finishedAt).not.toBeNull();
    expect(() => store.finish(run.id, 'completed')).toThrow(InvalidRequestError);

    expect(store.delete(run.id)).toBe(true);
    expect(store.delete(run.id)).toBe(false);
    expect(() => store.get(run.id)).toThrow(NotFoundError);
    expect(() => store.addMetrics(run.id, [{ name: 'a', step: 0, value: 1 }])).toThrow(NotFoundError);
  });

  it('adds and removes tags and filters by them', () => {
    const a = store.create({ kind: 'chat', title: 'a' }, env);
    const b = store.create({ kind: 'chat', title: 'b', tags: ['keep'] }, env);
    expect(store.tag(a.id, ['keep', 'paper'], []).tags).toEqual(['keep', 'paper']);
    expect(store.tag(a.id, [], ['paper', 'absent']).tags).toEqual(['keep']);
    expect(store.list({ tag: 'keep' }).runs.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    expect(store.list({ tag: 'paper' }).total).toBe(0);
  });

  it('lists with filters, search, sort, order and pagination with a total', () => {
    const kinds = ['chat', 'bench', 'load'] as const;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = store.create({ kind: kinds[i % 3], title: `Run ${String(i).padStart(2, '0')}${i === 5 ? ' 100%_done' : ''}`, model: i % 2 ? 'PLM-1.8B' : 'llama-tiny' }, env);
      ids.push(r.id);
      if (i % 4 === 0) store.finish(r.id, 'completed');
    }
    const all = store.list();
    expect(all.total).toBe(12);
    // Default: newest first; equal timestamps fall back to insertion order.
    expect(all.runs.map((r) => r.id)).toEqual([...ids].reverse());

    expect(store.list({ kind: 'bench' }).total).toBe(4);
    expect(store.list({ status: 'completed' }).runs.map((r) => r.title)).toEqual(['Run 08', 'Run 04', 'Run 00']);
    expect(store.list({ kind: 'chat', status: 'running' }).total).toBe(3);
    expect(store.list({ search: 'plm' }).total).toBe(6); // model, case-insensitive
    expect(store.list({ search: 'Run 1' }).total).toBe(2);
    // LIKE wildcards in the search text are literal.
    expect(store.list({ search: '%_' }).runs.map((r) => r.title)).toEqual(['Run 05 100%_done']);

    const byTitle = store.list({ sort: 'title', order: 'asc', limit: 5, offset: 5 });
    expect(byTitle.total).toBe(12);
    expect(byTitle.runs.map((r) => r.title)).toEqual(['Run 05 100%_done', 'Run 06', 'Run 07', 'Run 08', 'Run 09']);
    expect(store.list({ sort: 'title', order: 'desc', limit: 2 }).runs.map((r) => r.title)).toEqual(['Run 11', 'Run 10']);
    expect(store.list({ sort: 'title', limit: 1 }).runs[0].title).toBe('Run 00'); // non-date sorts default to asc

    const pages = [0, 5, 10].flatMap((offset) => store.list({ limit: 5, offset }).runs.map((r) => r.id));
    expect(new Set(pages).size).toBe(12);
    expect(store.list({ offset: 50 }).runs).toEqual([]);
  });

  it('deletes metrics, tags and artifact files with the run', () => {
    const r = store.create({ kind: 'analysis', title: 'with files', tags: ['t'] }, env);
    store.addMetrics(r.id, [{ name: 'm', step: 0, value: 1 }]);
    const art = store.addArtifact(r.id, { name: 'report.json', mime: 'application/json', data: Buffer.from('{"a":1}') });
    expect(existsSync(join(dir, 'artifacts', r.id, art.id))).toBe(true);
    store.delete(r.id);
    expect(existsSync(join(dir, 'artifacts', r.id))).toBe(false);
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    for (const t of ['metrics', 'tags', 'artifacts']) expect(db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get()).toEqual({ n: 0 });
    db.close();
  });
});

describe('artifacts', () => {
  it('stores blobs beside the database and verifies their checksum on read', () => {
    const r = store.create({ kind: 'bench', title: 'a' }, env);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 255));
    const art = store.addArtifact(r.id, { name: 'dump.bin', mime: 'application/octet-stream', data });
    expect(art).toMatchObject({ runId: r.id, name: 'dump.bin', bytes: 1000 });
    expect(art.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(store.get(r.id).artifacts).toEqual([art]);
    expect(store.readArtifact(art.id).data.equals(data)).toBe(true);

    const file = join(dir, 'artifacts', r.id, art.id);
    const tampered = Buffer.from(readFileSync(file));
    tampered[500] ^= 1; // same length, one bit flipped
    writeFileSync(file, tampered);
    expect(() => store.readArtifact(art.id)).toThrow(StorageError);
    expect(() => store.readArtifact(art.id)).toThrow(/corrupt: expected 1000 bytes with SHA-256/);

    rmSync(file);
    expect(() => store.readArtifact(art.id)).toThrow(/missing/);
    expect(() => store.readArtifact('00000000-0000-0000-0000-000000000000')).toThrow(NotFoundError);
  });
});

describe('migrations', () => {
  it('are idempotent and recorded in schema_version', () => {
    const db = new Database(join(dir, 'm.db'));
    expect(schemaVersion(db)).toBe(0);
    expect(migrate(db)).toBe(MIGRATIONS.length);
    expect(migrate(db)).toBe(MIGRATIONS.length);
    expect(db.prepare('SELECT COUNT(*) AS n FROM schema_version').get()).toEqual({ n: 1 });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['artifacts', 'conversations', 'messages', 'metrics', 'model_folders', 'runs', 'schema_version', 'tags']);
    db.close();
  });

  it('runs only the pending ones, each atomically', () => {
    const db = new Database(join(dir, 'm2.db'));
    const calls: number[] = [];
    const list = [() => calls.push(1), () => calls.push(2)].map((f, i) => (d: Database.Database) => {
      f();
      d.exec(`CREATE TABLE t${i} (x)`);
    });
    expect(migrate(db, list.slice(0, 1))).toBe(1);
    expect(migrate(db, list)).toBe(2);
    expect(calls).toEqual([1, 2]);
    const failing = [...list, (d: Database.Database) => {
      d.exec('CREATE TABLE t2 (x)');
      throw new Error('boom');
    }];
    expect(() => migrate(db, failing)).toThrow('boom');
    expect(schemaVersion(db)).toBe(2); // rolled back: neither the version nor t2 changed
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 't2'").get()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses a database from a newer build', () => {
    store.close();
    const db = new Database(join(dir, DB_FILE));
    db.prepare('UPDATE schema_version SET version = 99').run();
    db.close();
    expect(() => RunStore.open({ dataDir: dir })).toThrow(/newer GTA Workbench \(schema 99/);
    store = RunStore.open({ dataDir: mkdtempSync(join(dir, 'other-')) });
  });

  it('keeps data across reopen', () => {
    const r = store.create({ kind: 'manual', title: 'persist' }, env);
    store.finish(r.id, 'completed');
    store.close();
    store = RunStore.open({ dataDir: dir });
    expect(store.get(r.id).status).toBe('completed');
    expect(readdirSync(dir)).toContain(DB_FILE);
  });
});

describe('storage errors', () => {
  it('turns a corrupt database file into an actionable StorageError', () => {
    const bad = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(bad, DB_FILE), Buffer.alloc(8192, 0x41));
    let err: unknown;
    try {
      RunStore.open({ dataDir: bad });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageError);
    expect((err as Error).message).toMatch(/damaged or is not a SQLite database\. Move it aside/);
  });

  it('maps disk-full and read-only codes to messages that say what to do', () => {
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    expect(toStorageError(full, '/d/workbench.db').message).toMatch(/disk holding \/d\/workbench.db is full\. Free some space/);
    const ro = Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' });
    expect(toStorageError(ro, '/d/workbench.db')).toBeInstanceOf(StorageError);
    expect(toStorageError(ro, '/d/workbench.db').message).toMatch(/cannot be written/);
  });

  it('reports a read-only database file as StorageError on write', () => {
    store.create({ kind: 'manual', title: 'before' }, env);
    store.close();
    const ro = new Database(join(dir, DB_FILE), { readonly: true });
    expect(() => ro.prepare("INSERT INTO tags VALUES ('x', 'y')").run()).toThrow();
    const err = (() => {
      try {
        ro.prepare("INSERT INTO tags VALUES ('x', 'y')").run();
      } catch (e) {
        return toStorageError(e, join(dir, DB_FILE));
      }
    })();
    ro.close();
    expect(err).toBeInstanceOf(StorageError);
    expect(err?.message).toMatch(/cannot be written \(SQLITE_READONLY/);
    store = RunStore.open({ dataDir: dir });
  });
});

describe('default data dir', () => {
  it('follows each platform convention', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/x/data' }, 'linux', '/home/u')).toBe('/x/data/gta-workbench');
    expect(defaultDataDir({}, 'linux', '/home/u')).toBe('/home/u/.local/share/gta-workbench');
    expect(defaultDataDir({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/gta-workbench');
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toMatch(/Roaming.gta-workbench$/);
  });
});

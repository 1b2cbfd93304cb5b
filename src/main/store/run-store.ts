// The run store: runs, their metrics, artifacts and tags in one SQLite database in the data directory.
// Synchronous on purpose (better-sqlite3): every call is a short local transaction.
import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Artifact, CreateRunInput, MetricSample, Run, RunDetail, RunEnvironment, RunPage, RunQuery, RunStatus } from '../../shared/api';
import { InvalidRequestError, NotFoundError, StorageError, WorkbenchError } from '../../shared/errors';
import { artifactRelPath, readBlob, removeRunBlobs, sha256Hex, sweepOrphans, writeBlob } from './artifacts';
import { openDatabase, type OpenDbOptions } from './db';
import { ChatStore } from './chat-store';
import { guard, isCorruptCode } from './errors';
import { migrate } from './migrations';
import { ModelFolders } from './model-folders';
import { liveSessions, ownerAlive } from './owners';
import { DB_FILE } from './paths';
import { RUN_COLUMNS, artifactFromRow, metricFromRow, runFromRow, type ArtifactRow, type MetricRow, type RunRow, type StoredRun } from './rows';

export interface OpenStoreOptions extends OpenDbOptions {
  dataDir: string;
  /**
   * A damaged database (failed integrity check, not a database): 'fail' (default) throws a StorageError
   * that says how to recover; 'quarantine' renames workbench.db and its -wal/-shm files to
   * workbench.corrupt-<timestamp>.db* and starts with an empty database (see `quarantinedAtOpen`).
   */
  onCorrupt?: 'fail' | 'quarantine';
  /** Artifact files without a row are swept at open only when older than this (default one minute). */
  sweepMinAgeMs?: number;
}

/** Where a damaged database was kept, and a message for the user that says so. */
export interface Quarantine {
  copy: string;
  reason: string;
  message: string;
}

function isCorrupt(err: unknown): boolean {
  return err instanceof WorkbenchError && (err.details?.corrupt === true || isCorruptCode(err.details?.code));
}

/** Rename the database file set aside; returns the new name of the main file. */
function quarantine(dbPath: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const copy = join(dbPath, '..', `workbench.corrupt-${stamp}.db`);
  renameSync(dbPath, copy);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, copy + suffix);
  }
  return copy;
}

const SORT_COLUMNS: Record<NonNullable<RunQuery['sort']>, string> = {
  createdAt: 'runs.created_at',
  title: 'runs.title COLLATE NOCASE',
  kind: 'runs.kind',
  status: 'runs.status',
  model: 'runs.model COLLATE NOCASE',
};
const DEFAULT_LIMIT = 50;

function now(): string {
  return new Date().toISOString();
}

export class RunStore {
  readonly sessionId = randomUUID();
  readonly dbPath: string;
  /** Runs found `running` at open whose owner is gone; they are now `interrupted`. */
  readonly interruptedAtOpen: string[];
  /** Orphan artifact files (no row, older than a minute) removed at open. */
  readonly sweptAtOpen: number;
  /** Set when the database was damaged and `onCorrupt: 'quarantine'` kept it aside and started fresh. */
  readonly quarantinedAtOpen: Quarantine | null;
  /** Conversations and messages, in the same database. */
  readonly chats: ChatStore;
  /** Model folders the user added. */
  readonly modelFolders: ModelFolders;
  private closed = false;

  private constructor(
    readonly dataDir: string,
    private readonly db: Database.Database,
    quarantined: Quarantine | null,
    sweepMinAgeMs: number,
  ) {
    this.dbPath = join(dataDir, DB_FILE);
    this.quarantinedAtOpen = quarantined;
    liveSessions.add(this.sessionId);
    this.interruptedAtOpen = this.g(() => this.interruptOrphans());
    this.sweptAtOpen = this.sweep(sweepMinAgeMs);
    const g = <T>(fn: () => T): T => this.g(fn);
    this.chats = new ChatStore(db, this.sessionId, g);
    this.modelFolders = new ModelFolders(db, g);
  }

  static open(opts: OpenStoreOptions): RunStore {
    const dbPath = join(opts.dataDir, DB_FILE);
    const sweepAge = opts.sweepMinAgeMs ?? 60_000;
    const attempt = (quarantined: Quarantine | null): RunStore => {
      const db = openDatabase(opts.dataDir, dbPath, opts);
      try {
        guard(dbPath, () => migrate(db));
        return new RunStore(opts.dataDir, db, quarantined, sweepAge);
      } catch (err) {
        db.close();
        throw err;
      }
    };
    try {
      return attempt(null);
    } catch (err) {
      if (opts.onCorrupt !== 'quarantine' || !isCorrupt(err)) throw err;
      const reason = (err as Error).message;
      let copy: string;
      try {
        copy = quarantine(dbPath);
      } catch (renameErr) {
        throw new StorageError(`${reason} Keeping a copy failed too (${(renameErr as Error).message}); move the files aside by hand.`, { path: dbPath });
      }
      const message = `The run database was damaged, so it was kept as ${copy} (with its -wal and -shm files, if any) and an empty database was started. Older runs are in that copy: restore from a backup or keep it for a bug report. Cause: ${reason}`;
      console.warn(message);
      return attempt({ copy, reason, message });
    }
  }

  /** Remove artifact files no row refers to (see sweepOrphans); never fails the open. */
  private sweep(minAgeMs: number): number {
    try {
      const runIds = new Set((this.db.prepare('SELECT id FROM runs').all() as { id: string }[]).map((r) => r.id));
      const paths = (this.db.prepare('SELECT path FROM artifacts').all() as { path: string }[]).map((r) => r.path);
      return sweepOrphans(this.dataDir, runIds, paths, minAgeMs);
    } catch {
      return 0;
    }
  }

  private g<T>(fn: () => T): T {
    if (this.closed) throw new InvalidRequestError('The run store is closed; this happens only while the app shuts down.');
    return guard(this.dbPath, fn);
  }

  private interruptOrphans(): string[] {
    const tx = this.db.transaction(() => {
      const rows = this.db
        .prepare("SELECT id, owner_pid, session_id FROM runs WHERE status = 'running' AND (session_id IS NULL OR session_id != ?)")
        .all(this.sessionId) as { id: string; owner_pid: number | null; session_id: string | null }[];
      const orphans = rows.filter((r) => !ownerAlive(r.owner_pid, r.session_id)).map((r) => r.id);
      const t = now();
      const mark = this.db.prepare(
        "UPDATE runs SET status = 'interrupted', finished_at = ?, updated_at = ?, error = COALESCE(error, 'The process running it ended before the run finished.') WHERE id = ? AND status = 'running'",
      );
      for (const id of orphans) mark.run(t, t, id);
      return orphans;
    });
    return tx.immediate();
  }

  private row(id: string): RunRow {
    const r = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
    if (!r) throw new NotFoundError(`Run ${id} does not exist (it may have been deleted). Refresh the run list.`, { id });
    return r;
  }

  create(input: CreateRunInput, environment: RunEnvironment): Run {
    return this.g(() => {
      const id = randomUUID();
      const t = now();
      const tags = [...new Set((input.tags ?? []).map((s) => s.trim()).filter(Boolean))];
      this.db.transaction(() => {
        this.db
          .prepare(
            `INSERT INTO runs (id, kind, title, model, params, status, created_at, updated_at, environment, owner_pid, session_id)
             VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
          )
          .run(id, input.kind, input.title, input.model ?? null, JSON.stringify(input.params ?? {}), t, t, JSON.stringify(environment), process.pid, this.sessionId);
        const ins = this.db.prepare('INSERT OR IGNORE INTO tags (run_id, tag) VALUES (?, ?)');
        for (const tag of tags) ins.run(id, tag);
      })();
      return runFromRow(this.row(id));
    });
  }

  getRun(id: string): StoredRun {
    return this.g(() => runFromRow(this.row(id)));
  }

  get(id: string): RunDetail {
    return this.g(() => {
      const run = runFromRow(this.row(id));
      const metrics = (this.db.prepare('SELECT name, step, value, unit, at FROM metrics WHERE run_id = ? ORDER BY name, step, rowid').all(id) as MetricRow[]).map(metricFromRow);
      const artifacts = (this.db.prepare('SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at, rowid').all(id) as ArtifactRow[]).map(artifactFromRow);
      return { ...run, metrics, artifacts };
    });
  }

  list(q: RunQuery = {}): RunPage {
    return this.g(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      const filter = (sql: string, ...values: unknown[]) => {
        where.push(sql);
        args.push(...values);
      };
      if (q.kind) filter('runs.kind = ?', q.kind);
      if (q.status) filter('runs.status = ?', q.status);
      if (q.tag) filter('EXISTS (SELECT 1 FROM tags WHERE tags.run_id = runs.id AND tags.tag = ?)', q.tag);
      if (q.search) {
        const pattern = `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        filter("(runs.title LIKE ? ESCAPE '\\' OR runs.model LIKE ? ESCAPE '\\')", pattern, pattern);
      }
      const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
      const order = q.order ?? (q.sort && q.sort !== 'createdAt' ? 'asc' : 'desc');
      const dir = order === 'asc' ? 'ASC' : 'DESC';
      const limit = Math.min(q.limit ?? DEFAULT_LIMIT, 500);
      const offset = q.offset ?? 0;
      const { total } = this.db.prepare(`SELECT COUNT(*) AS total FROM runs ${whereSql}`).get(...args) as { total: number };
      // rowid breaks ties so pages are stable when many runs share a timestamp or title.
      const rows = this.db
        .prepare(`SELECT ${RUN_COLUMNS} FROM runs ${whereSql} ORDER BY ${SORT_COLUMNS[q.sort ?? 'createdAt']} ${dir}, runs.rowid ${dir} LIMIT ? OFFSET ?`)
        .all(...args, limit, offset) as RunRow[];
      return { runs: rows.map(runFromRow), total };
    });
  }

  finish(id: string, status: Exclude<RunStatus, 'running'>, error?: string): Run {
    return this.g(() => {
      const current = this.row(id);
      if (current.status !== 'running') {
        throw new InvalidRequestError(`Run ${id} already ended with status "${current.status}"; only running runs can be finished.`, { id, status: current.status });
      }
      const t = now();
      this.db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?').run(status, error ?? null, t, t, id);
      return runFromRow(this.row(id));
    });
  }

  /** Append samples in one transaction; returns how many were stored. */
  addMetrics(id: string, samples: Omit<MetricSample, 'at'>[]): number {
    return this.g(() => {
      this.row(id);
      const at = now();
      const ins = this.db.prepare('INSERT INTO metrics (run_id, name, step, value, unit, at) VALUES (?, ?, ?, ?, ?, ?)');
      this.db.transaction(() => {
        for (const s of samples) ins.run(id, s.name, s.step, s.value, s.unit ?? null, at);
        this.db.prepare('UPDATE runs SET updated_at = ? WHERE id = ?').run(at, id);
      })();
      return samples.length;
    });
  }

  tag(id: string, add: string[] = [], remove: string[] = []): Run {
    return this.g(() => {
      this.row(id);
      const ins = this.db.prepare('INSERT OR IGNORE INTO tags (run_id, tag) VALUES (?, ?)');
      const del = this.db.prepare('DELETE FROM tags WHERE run_id = ? AND tag = ?');
      this.db.transaction(() => {
        for (const t of remove) del.run(id, t.trim());
        for (const t of add) if (t.trim()) ins.run(id, t.trim());
        this.db.prepare('UPDATE runs SET updated_at = ? WHERE id = ?').run(now(), id);
      })();
      return runFromRow(this.row(id));
    });
  }

  /** Delete a run with its metrics, tags, artifact rows and artifact files. False when it did not exist. */
  delete(id: string): boolean {
    return this.g(() => {
      const exists = this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id);
      if (!exists) return false;
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(id); // metrics, tags, artifacts cascade
      removeRunBlobs(this.dataDir, id);
      return true;
    });
  }

  addArtifact(runId: string, a: { name: string; mime: string; data: Uint8Array }): Artifact {
    return this.g(() => {
      this.row(runId);
      const id = randomUUID();
      const rel = artifactRelPath(runId, id);
      writeBlob(this.dataDir, rel, a.data);
      const row: ArtifactRow = { id, run_id: runId, name: a.name, mime: a.mime, bytes: a.data.byteLength, sha256: sha256Hex(a.data), path: rel, created_at: now() };
      this.db
        .prepare('INSERT INTO artifacts (id, run_id, name, mime, bytes, sha256, path, created_at) VALUES (@id, @run_id, @name, @mime, @bytes, @sha256, @path, @created_at)')
        .run(row);
      return artifactFromRow(row);
    });
  }

  /** The artifact and its bytes, verified against the stored size and SHA-256 (StorageError on mismatch). */
  readArtifact(artifactId: string): { artifact: Artifact; data: Buffer } {
    return this.g(() => {
      const row = this.db.prepare('SELECT * FROM artifacts WHERE id = ?').get(artifactId) as ArtifactRow | undefined;
      if (!row) throw new NotFoundError(`Artifact ${artifactId} does not exist.`, { id: artifactId });
      return { artifact: artifactFromRow(row), data: readBlob(this.dataDir, row.path, row) };
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    liveSessions.delete(this.sessionId);
    this.db.close();
  }
}

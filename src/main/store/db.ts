// Opening the SQLite file: pragmas for a desktop app that several processes may share (WAL, so readers
// never block the writer; a busy timeout instead of instant SQLITE_BUSY; enforced foreign keys).
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { StorageError } from '../../shared/errors';
import { guard, isCorruptCode } from './errors';

export interface OpenDbOptions {
  /** Path of a better_sqlite3.node built for the current runtime (Electron's ABI differs from Node's). */
  nativeBinding?: string;
  busyTimeoutMs?: number;
}

/**
 * The native module is required when a database is first opened, not when this file is imported: the
 * CLI bundle run on the GPU machine (tools/bench) has no SQLite module and never opens a store.
 */
function sqlite(): typeof Database {
  return createRequire(import.meta.url)('better-sqlite3') as typeof Database;
}

export function openDatabase(dir: string, file: string, opts: OpenDbOptions = {}): Database.Database {
  return guard(file, () => {
    mkdirSync(dir, { recursive: true });
    const Sqlite = sqlite();
    const db = new Sqlite(file, opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {});
    try {
      // journal_mode is the first statement that reads the file, so a corrupt file fails here.
      db.pragma('journal_mode = WAL');
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      db.pragma('foreign_keys = ON');
      // In WAL mode NORMAL loses no committed transaction when the process dies, only on power loss.
      db.pragma('synchronous = NORMAL');
      checkIntegrity(db, file);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  });
}

/**
 * `PRAGMA quick_check` (b-tree structure, page and record formats; not index contents, so it is fast):
 * a damaged page otherwise opens fine and fails later, in the middle of some unrelated request.
 */
function checkIntegrity(db: Database.Database, file: string): void {
  let problems: string[];
  try {
    const rows = db.pragma('quick_check(20)') as { quick_check: string }[];
    problems = rows.map((r) => r.quick_check).filter((p) => p !== 'ok');
  } catch (err) {
    // A page too damaged to walk makes the check itself fail with SQLITE_CORRUPT.
    const code = (err as { code?: unknown }).code;
    if (!isCorruptCode(code)) throw err;
    problems = [`${String(code)}: ${(err as Error).message}`];
  }
  if (problems.length === 0) return;
  const summary = problems.slice(0, 3).join('; ').slice(0, 300);
  throw new StorageError(
    `The run database ${file} is damaged: the integrity check at open found ${problems.length}${problems.length >= 20 ? '+' : ''} problem(s) (${summary}). ` +
      `To keep a copy and start with an empty database, open it with the quarantine option (the app and \`serve\` do this: the files are renamed to workbench.corrupt-<timestamp>.db beside it); ` +
      `or move ${file} and its -wal and -shm files aside yourself, or restore them from a backup.`,
    { code: 'SQLITE_CORRUPT', path: file, corrupt: true, problems: problems.slice(0, 20) },
  );
}

// Opening the SQLite file: pragmas for a desktop app that several processes may share (WAL, so readers
// never block the writer; a busy timeout instead of instant SQLITE_BUSY; enforced foreign keys).
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { guard } from './errors';

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
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  });
}

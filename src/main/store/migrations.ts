// Schema migrations. The database records the number of migrations applied in `schema_version`;
// on open every later migration runs in order, each in its own transaction together with the version
// bump, so a crash mid-upgrade leaves the database at the last complete version.
import type Database from 'better-sqlite3';
import { StorageError } from '../../shared/errors';

type Migration = (db: Database.Database) => void;

// Append only: never edit a migration that has shipped.
export const MIGRATIONS: readonly Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE runs (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        title       TEXT NOT NULL,
        model       TEXT,
        params      TEXT NOT NULL DEFAULT '{}',  -- JSON object
        status      TEXT NOT NULL,
        created_at  TEXT NOT NULL,               -- ISO 8601, UTC
        updated_at  TEXT NOT NULL,
        finished_at TEXT,
        environment TEXT NOT NULL DEFAULT '{}',  -- JSON RunEnvironment
        error       TEXT,
        owner_pid   INTEGER,                     -- process that created the run
        session_id  TEXT                         -- random id of the store instance that created it
      );
      CREATE INDEX runs_created_at ON runs(created_at);
      CREATE INDEX runs_status ON runs(status);
      CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name   TEXT NOT NULL,
        step   REAL NOT NULL,
        value  REAL NOT NULL,
        unit   TEXT,
        at     TEXT NOT NULL
      );
      CREATE INDEX metrics_run_name ON metrics(run_id, name);
      CREATE TABLE artifacts (
        id         TEXT PRIMARY KEY,
        run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        mime       TEXT NOT NULL,
        bytes      INTEGER NOT NULL,
        sha256     TEXT NOT NULL,               -- hex of the blob's SHA-256
        path       TEXT NOT NULL,               -- relative to the data directory
        created_at TEXT NOT NULL
      );
      CREATE INDEX artifacts_run ON artifacts(run_id);
      CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        tag    TEXT NOT NULL,
        PRIMARY KEY (run_id, tag)
      );
      CREATE INDEX tags_tag ON tags(tag);
    `);
  },
  (db) => {
    // Chat history and the model folders a user added. A message's run is a soft link: deleting the
    // run (its metrics) must not delete the conversation text.
    db.exec(`
      CREATE TABLE conversations (
        id            TEXT PRIMARY KEY,
        title         TEXT NOT NULL,
        model_id      TEXT,
        system_prompt TEXT,
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL
      );
      CREATE INDEX conversations_updated_at ON conversations(updated_at);
      CREATE TABLE messages (
        id              TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL,            -- order inside the conversation
        role            TEXT NOT NULL,               -- system | user | assistant
        text            TEXT NOT NULL,
        token_ids       TEXT,                        -- JSON array of ids, or NULL
        status          TEXT NOT NULL,               -- generating | complete | stopped | error
        error           TEXT,
        stats           TEXT,                        -- JSON ReplyStats of an assistant reply
        run_id          TEXT,
        model_id        TEXT,
        owner_pid       INTEGER,                     -- process generating it, while status = generating
        session_id      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        UNIQUE (conversation_id, seq)
      );
      CREATE INDEX messages_status ON messages(status);
      CREATE TABLE model_folders (
        id       TEXT PRIMARY KEY,
        path     TEXT NOT NULL UNIQUE,               -- absolute folder
        name     TEXT NOT NULL,
        added_at TEXT NOT NULL
      );
    `);
  },
];

export function schemaVersion(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/** Apply every pending migration; returns the resulting version. Safe to call any number of times. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const apply = db.transaction((index: number) => {
    // Re-read inside the transaction: another process may have migrated meanwhile.
    if (schemaVersion(db) !== index) return;
    migrations[index](db);
    db.prepare('DELETE FROM schema_version').run();
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(index + 1);
  });
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new StorageError(`The run database was written by a newer GTA Workbench (schema ${current}, this build knows ${migrations.length}). Update the app, or point it at another data directory.`);
  }
  for (let i = current; i < migrations.length; i++) apply.immediate(i);
  return schemaVersion(db);
}

// Model folders the user added (the bundled zoo comes from models/catalog.json and is not stored).
import type Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../../shared/errors';

export interface ModelFolder {
  id: string;
  path: string; // absolute
  name: string;
  addedAt: string;
}

interface Row {
  id: string;
  path: string;
  name: string;
  added_at: string;
}

const fromRow = (r: Row): ModelFolder => ({ id: r.id, path: r.path, name: r.name, addedAt: r.added_at });

export class ModelFolders {
  constructor(
    private readonly db: Database.Database,
    private readonly g: <T>(fn: () => T) => T,
  ) {}

  list(): ModelFolder[] {
    return this.g(() => (this.db.prepare('SELECT * FROM model_folders ORDER BY added_at, rowid').all() as Row[]).map(fromRow));
  }

  get(id: string): ModelFolder {
    return this.g(() => {
      const r = this.db.prepare('SELECT * FROM model_folders WHERE id = ?').get(id) as Row | undefined;
      if (!r) throw new NotFoundError(`Model ${id} is not in the list (it may have been removed). Refresh the model list.`, { id });
      return fromRow(r);
    });
  }

  /** The entry for this exact path, if one is listed. */
  findByPath(path: string): ModelFolder | null {
    return this.g(() => {
      const r = this.db.prepare('SELECT * FROM model_folders WHERE path = ?').get(path) as Row | undefined;
      return r ? fromRow(r) : null;
    });
  }

  /**
   * Add a folder unless its path is already listed; an existing entry is returned as it is (its name
   * untouched) with added: false. What the app's "Add model folder" uses.
   */
  addIfNew(path: string, name: string): { folder: ModelFolder; added: boolean } {
    return this.g(() =>
      this.db.transaction(() => {
        const existing = this.db.prepare('SELECT * FROM model_folders WHERE path = ?').get(path) as Row | undefined;
        if (existing) return { folder: fromRow(existing), added: false };
        const row: Row = { id: randomUUID(), path, name, added_at: new Date().toISOString() };
        this.db.prepare('INSERT INTO model_folders (id, path, name, added_at) VALUES (@id, @path, @name, @added_at)').run(row);
        return { folder: fromRow(row), added: true };
      })(),
    );
  }

  /** Add a folder, or return the entry that already has this path (renamed when a name is given). */
  add(path: string, name: string): ModelFolder {
    return this.g(() =>
      this.db.transaction(() => {
        const existing = this.db.prepare('SELECT * FROM model_folders WHERE path = ?').get(path) as Row | undefined;
        if (existing) {
          this.db.prepare('UPDATE model_folders SET name = ? WHERE id = ?').run(name, existing.id);
          return { ...fromRow(existing), name };
        }
        const row: Row = { id: randomUUID(), path, name, added_at: new Date().toISOString() };
        this.db.prepare('INSERT INTO model_folders (id, path, name, added_at) VALUES (@id, @path, @name, @added_at)').run(row);
        return fromRow(row);
      })(),
    );
  }

  remove(id: string): boolean {
    return this.g(() => this.db.prepare('DELETE FROM model_folders WHERE id = ?').run(id).changes > 0);
  }
}

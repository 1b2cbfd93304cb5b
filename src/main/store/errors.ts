// Turns SQLite and file-system failures into StorageError with a message that says what to do.
import { StorageError, WorkbenchError } from '../../shared/errors';

interface CodedError extends Error {
  code?: string;
}

export function toStorageError(err: unknown, dbPath: string): WorkbenchError {
  if (err instanceof WorkbenchError) return err;
  const e = err as CodedError;
  const code = typeof e?.code === 'string' ? e.code : '';
  const msg = e?.message ?? String(err);
  const details = { code, cause: msg, path: dbPath };
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return new StorageError(`The disk holding ${dbPath} is full. Free some space (or move the data directory with --data-dir) and try again.`, details);
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return new StorageError(`The run database ${dbPath} cannot be written (${code}). Check that the file and its folder are writable by you, or choose another data directory.`, details);
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new StorageError(`The run database ${dbPath} is damaged or is not a SQLite database. Move it aside (keep a copy) and restart: a new empty database will be created.`, details);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StorageError(`The run database ${dbPath} is locked by another process for too long. Close other GTA Workbench windows or servers using this data directory and retry.`, details);
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code === 'ENOENT' || code === 'ENOTDIR') {
    return new StorageError(`The run database ${dbPath} cannot be opened (${code}). Check that its folder exists and is accessible, or choose another data directory.`, details);
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') {
    return new StorageError(`Reading or writing ${dbPath} failed with an I/O error (${code}). Check the disk, then retry.`, details);
  }
  if (/NODE_MODULE_VERSION|was compiled against a different|invalid ELF|wrong ELF/i.test(msg)) {
    return new StorageError(`The SQLite module (better-sqlite3) was built for a different runtime: ${msg.split('\n')[0]}. Under Electron run \`npm start\` (it rebuilds better-sqlite3 into build-electron/); under Node run \`npm rebuild better-sqlite3\`.`, details);
  }
  return new StorageError(`Run database ${dbPath}: ${msg}`, details);
}

/** Run `fn`, rethrowing any failure as an actionable StorageError. */
export function guard<T>(dbPath: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toStorageError(err, dbPath);
  }
}

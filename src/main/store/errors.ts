// Turns SQLite and file-system failures into StorageError with a message that says what to do.
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
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
  const dir = dirname(dbPath);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return new StorageError(`The disk holding ${dbPath} is full. Free some space on it (or move the data directory with --data-dir) and try again; nothing was written.`, details);
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return readOnlyError(dbPath, code, details);
  }
  if (isCorruptCode(code)) {
    return new StorageError(
      `The run database ${dbPath} is damaged or is not a SQLite database. Move it aside (keep a copy) and restart: the app checks the database at start, keeps a copy as workbench.corrupt-<timestamp>.db beside it and starts with an empty one; or restore ${dbPath} from a backup. (${code})`,
      { ...details, corrupt: true },
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StorageError(`The run database ${dbPath} is locked by another process for too long. Close other GTA Workbench windows or servers using this data directory and retry.`, details);
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR')) {
    // SQLite says only "unable to open": a folder we may not write is the usual reason; say so.
    const denied = writeDenied(dir);
    if (denied) return readOnlyError(dbPath, `${code}, ${denied}`, details);
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

export function isCorruptCode(code: unknown): boolean {
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

function readOnlyError(dbPath: string, code: string, details: Record<string, unknown>): StorageError {
  return new StorageError(
    `The run database ${dbPath} cannot be written (${code}): the data directory ${dirname(dbPath)} is read-only, or the file is not writable by you. Choose another data directory with --data-dir or fix its permissions.`,
    details,
  );
}

/** The errno code when the folder exists but may not be written (read-only mount, permissions), else null. */
function writeDenied(dir: string): string | null {
  try {
    accessSync(dir, constants.W_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return code === 'EROFS' || code === 'EACCES' || code === 'EPERM' ? code : null;
  }
}

/** Run `fn`, rethrowing any failure as an actionable StorageError. */
export function guard<T>(dbPath: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toStorageError(err, dbPath);
  }
}

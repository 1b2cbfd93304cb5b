// Artifact blobs live as files beside the database (artifacts/<run id>/<artifact id>), not in SQLite,
// so large reports and dumps do not bloat the WAL. The row keeps size and SHA-256; reads verify both.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { StorageError } from '../../shared/errors';
import { ARTIFACTS_DIR } from './paths';

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Relative path (always with forward slashes) of an artifact's blob inside the data directory. */
export function artifactRelPath(runId: string, artifactId: string): string {
  return `${ARTIFACTS_DIR}/${runId}/${artifactId}`;
}

function absolute(dataDir: string, rel: string): string {
  const root = resolve(dataDir);
  const abs = resolve(root, rel);
  // The path comes from our own rows, but a tampered database must not make us read or delete elsewhere.
  if (!abs.startsWith(root + sep)) throw new StorageError(`Artifact path "${rel}" points outside the data directory ${root}; the database may have been edited by hand.`);
  return abs;
}

/** Write atomically (temp file + rename) so a crash never leaves a half-written blob under the final name. */
export function writeBlob(dataDir: string, rel: string, data: Uint8Array): void {
  const abs = absolute(dataDir, rel);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, abs);
  } catch (err) {
    rmSync(tmp, { force: true }); // a full disk must not leave a partial file behind
    throw err;
  }
}

export function readBlob(dataDir: string, rel: string, expected: { sha256: string; bytes: number; name: string }): Buffer {
  const abs = absolute(dataDir, rel);
  let data: Buffer;
  try {
    data = readFileSync(abs);
  } catch (err) {
    throw new StorageError(`Artifact "${expected.name}" is missing from ${abs} (${(err as NodeJS.ErrnoException).code ?? 'read failed'}). Its file was moved or deleted outside the app; delete the run or restore the file.`, { path: abs });
  }
  const actual = sha256Hex(data);
  if (data.length !== expected.bytes || actual !== expected.sha256) {
    throw new StorageError(`Artifact "${expected.name}" at ${abs} is corrupt: expected ${expected.bytes} bytes with SHA-256 ${expected.sha256}, found ${data.length} bytes with ${actual}. Restore the file from a backup or delete the run.`, { path: abs, expected: expected.sha256, actual });
  }
  return data;
}

/** Remove a run's artifact folder; missing files are not an error (the goal is that they are gone). */
export function removeRunBlobs(dataDir: string, runId: string): void {
  rmSync(join(resolve(dataDir), ARTIFACTS_DIR, runId), { recursive: true, force: true });
}

/**
 * Remove artifact files that no row refers to: left by a kill between writing the file and committing
 * its row, or by a run deleted while its folder could not be removed. Only files (never links or
 * folders' contents deeper down) older than `minAgeMs` go, so a write in flight in another process
 * sharing the data directory is left alone; folders of runs that no longer exist go once empty.
 * Returns how many files were removed; failures (read-only disk, permissions) are skipped.
 */
export function sweepOrphans(dataDir: string, runIds: Set<string>, artifactPaths: string[], minAgeMs: number): number {
  const root = resolve(dataDir, ARTIFACTS_DIR);
  const keep = new Set(artifactPaths.map((p) => resolve(resolve(dataDir), p)));
  const cutoff = Date.now() - minAgeMs;
  let removed = 0;
  let runDirs;
  try {
    runDirs = readdirSync(root, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const d of runDirs) {
    if (!d.isDirectory()) continue;
    const runDir = join(root, d.name);
    try {
      const dirOld = lstatSync(runDir).mtimeMs <= cutoff;
      for (const f of readdirSync(runDir, { withFileTypes: true })) {
        const abs = join(runDir, f.name);
        if (!f.isFile() || keep.has(abs)) continue;
        try {
          if (lstatSync(abs).mtimeMs > cutoff) continue;
          rmSync(abs);
          removed++;
        } catch {
          // gone already, or not ours to remove
        }
      }
      if (!runIds.has(d.name) && dirOld) rmdirSync(runDir); // fails, harmlessly, when not empty
    } catch {
      // unreadable folder or not empty: leave it
    }
  }
  return removed;
}

// Temporary folders that remove themselves: tempDir() makes one under the OS temp folder and registers
// it; every registered folder is removed after the test file's last test, passed or failed.
//
// The afterAll below is registered when a test file first imports this module (during collection), on
// the file's root suite. Vitest runs afterAll hooks in reverse order of registration, and imports come
// before a file's own hooks, so the removal runs after the file's own afterAll hooks have shut down
// whatever still uses the folders (servers, databases, browsers). Each test file evaluates this module
// afresh (isolated forks); should a module instance outlive its file, the 'exit' handler still removes
// what is left when the worker process ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made = new Set<string>();

/** Remove every folder tempDir() made so far (missing ones are fine). */
export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

afterAll(removeTempDirs);
process.once('exit', removeTempDirs);

/** A fresh folder `<tmp>/<prefix>XXXXXX`, removed with everything in it when the test file ends. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

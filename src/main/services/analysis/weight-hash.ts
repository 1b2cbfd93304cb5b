// A model's identity for analysis runs: SHA-256 over its weight files' bytes, in file order (name, size
// and content each). Hashing a 3.6 GB checkpoint takes seconds, so the result is kept per file set,
// keyed by each file's path, size and modification time.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';

const cache = new Map<string, string>();

function keyOf(paths: string[]): string {
  return paths.map((p) => {
    const st = statSync(p);
    return `${p}\0${st.size}\0${st.mtimeMs}`;
  }).join('\n');
}

export async function weightHash(paths: string[], signal?: AbortSignal): Promise<string> {
  const key = keyOf(paths);
  const hit = cache.get(key);
  if (hit) return hit;
  const h = createHash('sha256');
  for (const p of paths) {
    h.update(`${basename(p)}\0${statSync(p).size}\0`);
    for await (const chunk of createReadStream(p, { highWaterMark: 8 << 20, signal })) h.update(chunk as Buffer);
  }
  const hex = h.digest('hex');
  cache.set(key, hex);
  return hex;
}

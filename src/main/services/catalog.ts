// The bundled model zoo: models/catalog.json beside the app, one entry per trained checkpoint folder.
// The reader is lenient about spelling (camelCase or snake_case keys, an array or {models: […]}) so a
// catalog written by the training tools in either style lists; an unreadable catalog is reported, not
// thrown, so added folders still list.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CatalogEntry {
  id: string;
  name: string;
  variant: string | null;
  path: string; // absolute
  params: number | null;
  kvValuesPerTokenLayer: number | null;
  isDefault: boolean;
}

export interface Catalog {
  entries: CatalogEntry[];
  problem?: string;
}

/**
 * The models/ folder of the app: the first ancestor of this module holding package.json has it
 * (src/main/services in development and tests, out/main in the built app).
 */
export function defaultModelsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'models');
    const up = dirname(dir);
    if (up === dir) return resolve('models');
    dir = up;
  }
}

type Obj = Record<string, unknown>;

function pick(o: Obj, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function readCatalog(modelsDir: string): Catalog {
  const file = join(modelsDir, 'catalog.json');
  if (!existsSync(file)) return { entries: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { entries: [], problem: `${file} is not valid JSON (${(err as Error).message}); reinstall the app or restore the file. Added model folders still work.` };
  }
  const list = Array.isArray(raw) ? raw : Array.isArray((raw as Obj)?.models) ? ((raw as Obj).models as unknown[]) : null;
  if (!list) return { entries: [], problem: `${file} holds neither a list of models nor {"models": [...]}; reinstall the app or restore the file.` };
  const entries: CatalogEntry[] = [];
  const skipped: string[] = [];
  list.forEach((item, i) => {
    const o = (typeof item === 'object' && item !== null ? item : {}) as Obj;
    const id = pick(o, 'id');
    const path = pick(o, 'path', 'dir', 'folder');
    if (typeof id !== 'string' || !ID.test(id) || typeof path !== 'string') {
      skipped.push(`entry ${i} (needs a string "id" of letters, digits, ".", "_", ":" or "-", and a "path")`);
      return;
    }
    const name = pick(o, 'name');
    const variant = pick(o, 'variant');
    entries.push({
      id,
      name: typeof name === 'string' ? name : id,
      variant: typeof variant === 'string' ? variant.toUpperCase() : null,
      path: isAbsolute(path) ? path : resolve(modelsDir, path),
      params: num(pick(o, 'params', 'parameters')),
      kvValuesPerTokenLayer: num(pick(o, 'kvValuesPerTokenLayer', 'kv_values_per_token_layer', 'kvValues', 'kv_values', 'kv')),
      isDefault: pick(o, 'default', 'isDefault', 'is_default') === true,
    });
  });
  return skipped.length ? { entries, problem: `${file}: skipped ${skipped.join('; ')}.` } : { entries };
}

/** card.md of a folder, or null. */
export function readCard(dir: string): string | null {
  try {
    return readFileSync(join(dir, 'card.md'), 'utf8');
  } catch {
    return null;
  }
}

// models/catalog.json as the training tools may write it: an array or {models: […]}, camelCase or
// snake_case keys, relative or absolute paths; bad entries are skipped and reported, a broken file is
// reported without hiding added folders, and a missing catalog is simply an empty zoo.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCatalog } from '../../src/main/services/catalog';
import { tempRoot } from '../helpers/services';

function write(content: string): string {
  const dir = join(tempRoot('wb-catalog-'), 'models');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'catalog.json'), content);
  return dir;
}

describe('readCatalog', () => {
  it('reads both spellings and resolves paths against models/', () => {
    const dir = write(JSON.stringify([
      { id: 'gta-tiny', name: 'GTA tiny', variant: 'gta', path: 'gta-tiny', params: 1.5e7, kv_values_per_token_layer: 192, default: true },
      { id: 'mla-tiny', variant: 'MLA', dir: '/abs/mla', parameters: 2e7, kvValuesPerTokenLayer: 576, isDefault: false },
    ]));
    expect(readCatalog(dir)).toEqual({
      entries: [
        { id: 'gta-tiny', name: 'GTA tiny', variant: 'GTA', path: join(dir, 'gta-tiny'), params: 1.5e7, kvValuesPerTokenLayer: 192, isDefault: true },
        { id: 'mla-tiny', name: 'mla-tiny', variant: 'MLA', path: '/abs/mla', params: 2e7, kvValuesPerTokenLayer: 576, isDefault: false },
      ],
    });
    expect(readCatalog(write(JSON.stringify({ models: [{ id: 'a', path: 'a' }] }))).entries.map((e) => e.id)).toEqual(['a']);
  });

  it('skips bad entries and reports broken files', () => {
    const partial = readCatalog(write(JSON.stringify({ models: [{ id: '../x', path: 'x' }, { id: 'ok', path: 'ok' }, 'junk'] })));
    expect(partial.entries.map((e) => e.id)).toEqual(['ok']);
    expect(partial.problem).toMatch(/skipped entry 0 .*; entry 2 /);
    expect(readCatalog(write('{"models": [')).problem).toMatch(/is not valid JSON.*Added model folders still work/);
    expect(readCatalog(write('{"zoo": []}')).problem).toMatch(/neither a list of models/);
    expect(readCatalog(join(tempRoot('wb-catalog-'), 'models'))).toEqual({ entries: [] });
  });
});

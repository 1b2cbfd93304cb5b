// models/catalog.json as the training tools may write it: an array or {models: […]}, camelCase or
// snake_case keys, relative or absolute paths; bad entries are skipped and reported, a broken file is
// reported without hiding added folders, and a missing catalog is simply an empty zoo.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCatalog } from '../../src/main/services/catalog';
import { defaultSampling, WORKBENCH_SAMPLING } from '../../src/main/services/sampling-defaults';
import { tempDir } from '../helpers/tmp';

function write(content: string): string {
  const dir = join(tempDir('wb-catalog-'), 'models');
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
    expect(readCatalog(join(tempDir('wb-catalog-'), 'models'))).toEqual({ entries: [] });
  });
});

describe('defaultSampling', () => {
  it('takes generation_config.json where valid, greedy for do_sample false, max tokens within half the context', () => {
    const dir = tempDir('wb-gen-');
    expect(defaultSampling(dir, 4096)).toEqual(WORKBENCH_SAMPLING);
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ temperature: 0.6, top_k: 0, top_p: 2, repetition_penalty: 1.05, max_new_tokens: 1000 }));
    expect(defaultSampling(dir, 512)).toEqual({ temperature: 0.6, topK: 0, topP: WORKBENCH_SAMPLING.topP, repetitionPenalty: 1.05, maxTokens: 256 });
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ do_sample: false, temperature: 0.9 }));
    expect(defaultSampling(dir, 4096).temperature).toBe(0);
    writeFileSync(join(dir, 'generation_config.json'), '{ broken');
    expect(defaultSampling(dir, 4096)).toEqual(WORKBENCH_SAMPLING);
  });
});

// Adding a folder the model list already holds (an added folder, the same folder through a symlink or a
// trailing slash, or a bundled model's folder) says so and changes nothing: the existing entry keeps
// its name, no second entry appears, no models-changed event is sent. The check before adding warns.
import { cpSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/shared/errors';
import type { Services } from '../../src/main/services';
import { EventLog, GOLDEN, makeZoo, openServices } from '../helpers/services';
import { tempDir } from '../helpers/tmp';

const root = tempDir('wb-models-dup-');
const modelsDir = makeZoo(root, [{ id: 'tiny-gqa', golden: 'llama-gqa', isDefault: true }]);
const open: Services[] = [];
afterAll(async () => {
  for (const s of open) await s.shutdown();
});

describe('adding a folder that is already listed', () => {
  it('refuses an added folder again (same path, trailing slash, symlink) and keeps its name', async () => {
    const s = openServices(join(root, 'data'), modelsDir);
    open.push(s);
    const folder = join(root, 'plm-copy');
    cpSync(join(GOLDEN, 'plm'), folder, { recursive: true });
    const link = join(root, 'plm-link');
    symlinkSync(folder, link);

    const first = await s.handlers.addModelFolder({ path: folder, name: 'My PLM' });
    const before = (await s.handlers.listModels({})).models;
    const log = new EventLog(s);
    for (const path of [folder, `${folder}/`, link]) {
      const p = s.handlers.addModelFolder({ path, name: 'Renamed' });
      await expect(p).rejects.toThrow(InvalidRequestError);
      await expect(p).rejects.toThrow(/is already in the model list as “My PLM”; nothing was changed\./);
    }
    log.off();
    expect(log.of('models-changed')).toHaveLength(0);
    const after = (await s.handlers.listModels({})).models;
    expect(after).toEqual(before);
    expect(after.find((m) => m.id === first.id)?.name).toBe('My PLM');
    expect(after.filter((m) => m.source === 'added')).toHaveLength(1);

    const check = await s.handlers.validateModelFolder({ path: folder });
    expect(check.ok).toBe(true);
    expect(check.warnings[0]).toBe(`${folder} is already in the model list as “My PLM”: adding it again changes nothing.`);
  });

  it('refuses a bundled model’s folder, adding nothing', async () => {
    const s = openServices(join(root, 'data-bundled'), modelsDir);
    open.push(s);
    const p = s.handlers.addModelFolder({ path: join(modelsDir, 'tiny-gqa'), name: 'Copy' });
    await expect(p).rejects.toThrow(InvalidRequestError);
    await expect(p).rejects.toThrow(/already in the model list as the bundled model “Tiny llama-gqa”; nothing was changed\./);
    expect((await s.handlers.listModels({})).models.map((m) => m.source)).toEqual(['bundled']);
    const check = await s.handlers.validateModelFolder({ path: join(modelsDir, 'tiny-gqa') });
    expect(check.warnings[0]).toContain('the bundled model “Tiny llama-gqa”: adding it again changes nothing.');
  });
});

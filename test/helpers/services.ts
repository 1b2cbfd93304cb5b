// Real services (SQLite in a temporary data directory, the Dawn adapter) for integration tests, with a
// small models/ folder holding a catalog of copied golden checkpoints, and an event recorder.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkbenchEvent } from '../../src/shared/api';
import { createServices, type Services } from '../../src/main/services';

export const GOLDEN = fileURLToPath(new URL('../fixtures/golden/v1', import.meta.url));

export interface ZooModel {
  id: string;
  golden: string; // folder name under GOLDEN
  card?: string;
  generationConfig?: Record<string, unknown>;
  isDefault?: boolean;
}

/** A models/ folder with catalog.json listing copies of golden checkpoints (plus card.md etc.). */
export function makeZoo(root: string, models: ZooModel[]): string {
  const dir = join(root, 'models');
  mkdirSync(dir, { recursive: true });
  for (const m of models) {
    const dest = join(dir, m.id);
    cpSync(join(GOLDEN, m.golden), dest, { recursive: true });
    if (m.card) writeFileSync(join(dest, 'card.md'), m.card);
    if (m.generationConfig) writeFileSync(join(dest, 'generation_config.json'), JSON.stringify(m.generationConfig));
  }
  const catalog = {
    models: models.map((m) => ({ id: m.id, name: `Tiny ${m.golden}`, variant: 'gqa', path: m.id, params: 1234, kv_values_per_token_layer: 64, default: m.isDefault ?? false })),
  };
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog, null, 2));
  return dir;
}

export function tempRoot(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function openServices(dataDir: string, modelsDir: string): Services {
  return createServices({ dataDir, host: 'browser', modelsDir });
}

export class EventLog {
  readonly events: WorkbenchEvent[] = [];
  readonly off: () => void;
  constructor(s: Services, private readonly onEvent?: (e: WorkbenchEvent) => void) {
    this.off = s.events.subscribe((e) => {
      this.events.push(e);
      this.onEvent?.(e);
    });
  }

  of<T extends WorkbenchEvent['type']>(type: T): Extract<WorkbenchEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<WorkbenchEvent, { type: T }> => e.type === type);
  }
}

// The main-side services behind the API contract, shared by both hosts. Hosts validate params
// (src/shared/validate.ts) before calling a handler, so handlers trust their argument types.
import type { ApiHandlers, SystemInfo } from '../../shared/api';
import { WorkbenchError } from '../../shared/errors';
import { RunStore } from '../store';
import { createEventBus, type EventBus } from './events';
import { createSystem } from './system';

export interface ServicesOptions {
  dataDir: string;
  host: SystemInfo['host'];
  /** better_sqlite3.node built for Electron's ABI, when running under Electron. */
  nativeBinding?: string;
  /** Opens a checked http(s) URL in the user's browser (Electron's shell.openExternal). */
  openExternal?: (url: string) => Promise<void>;
}

export interface Services {
  handlers: ApiHandlers;
  events: EventBus;
  store: RunStore;
  close(): void;
}

export function createServices(opts: ServicesOptions): Services {
  const store = RunStore.open({ dataDir: opts.dataDir, nativeBinding: opts.nativeBinding });
  const events = createEventBus();
  const system = createSystem(opts.host, opts.dataDir);
  const updated = <T extends { id: string }>(run: T): T => {
    events.emit({ type: 'run-updated', run: store.getRun(run.id) });
    return run;
  };

  const handlers: ApiHandlers = {
    systemInfo: () => system.info(),
    listRuns: (q) => store.list(q),
    getRun: ({ id }) => store.get(id),
    createRun: async (input) => updated(store.create(input, await system.environment())),
    finishRun: ({ id, status, error }) => updated(store.finish(id, status, error)),
    addMetrics: ({ id, samples }) => {
      const added = store.addMetrics(id, samples);
      updated({ id });
      return { added };
    },
    tagRun: ({ id, add, remove }) => updated(store.tag(id, add, remove)),
    deleteRun: ({ id }) => {
      const deleted = store.delete(id);
      if (deleted) events.emit({ type: 'run-deleted', id });
      return { deleted };
    },
    openExternal: async ({ url }) => {
      // In the browser host the page opens links itself (window.open); only Electron opens them here.
      if (!opts.openExternal) return { opened: false };
      try {
        await opts.openExternal(url);
      } catch (err) {
        throw new WorkbenchError(`Could not open ${url} in the system browser: ${(err as Error).message}. Copy the link and open it by hand.`);
      }
      return { opened: true };
    },
  };

  return { handlers, events, store, close: () => store.close() };
}

export type { EventBus } from './events';

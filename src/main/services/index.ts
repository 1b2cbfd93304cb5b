// The main-side services behind the API contract, shared by both hosts. Hosts validate params
// (src/shared/validate.ts) before calling a handler, so handlers trust their argument types.
import type { ApiHandlers, SystemInfo } from '../../shared/api';
import { InvalidRequestError, WorkbenchError } from '../../shared/errors';
import { RunStore } from '../store';
import { AnalysisService } from './analysis/service';
import { BenchService } from './bench';
import { defaultModelsDir } from './catalog';
import { ChatService } from './chat';
import { createEventBus, type EventBus } from './events';
import { exportRuns } from './export';
import { GpuProvider } from './gpu';
import { ModelManager } from './models';
import { createSystem } from './system';
import { TaskRegistry } from './tasks';

export interface ServicesOptions {
  dataDir: string;
  host: SystemInfo['host'];
  /** better_sqlite3.node built for Electron's ABI, when running under Electron. */
  nativeBinding?: string;
  /** Opens a checked http(s) URL in the user's browser (Electron's shell.openExternal). */
  openExternal?: (url: string) => Promise<void>;
  /** The bundled zoo (catalog.json and model folders); default the app's models/ folder. */
  modelsDir?: string;
}

export interface Services {
  handlers: ApiHandlers;
  events: EventBus;
  store: RunStore;
  tasks: TaskRegistry;
  models: ModelManager;
  /** Cancel running tasks, wait for them, free the GPU, close the database. */
  shutdown(): Promise<void>;
  /** Immediate close for hosts that cannot wait: running tasks are aborted, the database closed. */
  close(): void;
}

export function createServices(opts: ServicesOptions): Services {
  const store = RunStore.open({ dataDir: opts.dataDir, nativeBinding: opts.nativeBinding, onCorrupt: 'quarantine' }); // logs where the copy went
  const events = createEventBus();
  const system = createSystem(opts.host, opts.dataDir);
  const tasks = new TaskRegistry(events);
  const gpu = new GpuProvider();
  const models = new ModelManager({ store, events, tasks, system, gpu, modelsDir: opts.modelsDir ?? defaultModelsDir() });
  const chat = new ChatService({ store, events, tasks, system, models });
  const bench = new BenchService({ store, events, tasks, system, models, gpu });
  const analysis = new AnalysisService({ store, events, tasks, system, models, busy: () => chat.busyReason() });
  // What holds the loaded model: a chat reply or an analysis (loading, unloading and chatting wait for both).
  const busy = () => chat.busyReason() ?? analysis.busyReason();
  const idle = () => {
    const why = analysis.busyReason();
    if (why) throw new InvalidRequestError(`${why} Wait for it to finish or cancel it first.`);
  };
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
    cancelTask: ({ taskId }) => ({ cancelled: tasks.cancel(taskId) }),
    exportRuns: ({ ids, format }) => exportRuns(store, ids, format),
    // A dialog needs a window on the user's screen; the Electron host replaces this (host/folder-dialog.ts).
    chooseFolder: () => ({ path: null, supported: false }),
    listModels: () => models.list(),
    validateModelFolder: ({ path }) => models.validate(path),
    addModelFolder: ({ path, name }) => models.addFolder(path, name),
    removeModelFolder: ({ id }) => ({ removed: models.removeFolder(id, busy) }),
    loadModel: (input) => models.load(input, busy),
    unloadModel: () => {
      const why = busy();
      if (why) throw new InvalidRequestError(`${why} Stop it before unloading the model.`);
      return { unloaded: models.unload() };
    },
    modelStatus: () => ({ loaded: models.status(), busy: tasks.running()[0] ?? null }),
    listConversations: () => ({ conversations: chat.list() }),
    createConversation: (p) => chat.create(p),
    getConversation: ({ id }) => chat.get(id),
    updateConversation: (p) => chat.update(p),
    deleteConversation: ({ id }) => ({ deleted: chat.delete(id) }),
    contextUsage: (p) => chat.contextUsage(p),
    sendMessage: (p) => (idle(), chat.send(p)),
    stopGeneration: ({ conversationId }) => ({ stopped: chat.stop(conversationId) }),
    regenerate: (p) => (idle(), chat.regenerate(p)),
    editAndResend: (p) => (idle(), chat.editAndResend(p)),
    startBench: (input) => bench.start(input),
    startAnalysis: (input) => analysis.start(input),
    getAnalysis: async ({ runId }) => analysis.get(runId),
    getAnalysisArray: async ({ runId, name, index }) => analysis.array(runId, name, index),
    attentionMap: ({ runId, layer, map }) => analysis.map(runId, layer, map),
  };

  let closed = false;
  const release = () => {
    if (closed) return;
    closed = true;
    models.unload();
    gpu.destroy();
    store.close();
  };
  return {
    handlers,
    events,
    store,
    tasks,
    models,
    shutdown: async () => {
      await tasks.cancelAll();
      release();
    },
    close: () => {
      void tasks.cancelAll();
      release();
    },
  };
}

export type { EventBus } from './events';

// Builds `window.workbench` from the method table: one function per METHOD_NAMES entry plus onEvent,
// nothing else. Pure (no electron import) so a unit test can check the exposed surface.
import { METHOD_NAMES, type Envelope, type WorkbenchApi, type WorkbenchEvent } from '../shared/api';
import { deserializeError } from '../shared/errors';
import { IPC_EVENT_CHANNEL, IPC_PREFIX } from '../shared/protocol';

export interface IpcLike {
  invoke(channel: string, params: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): void;
  removeListener(channel: string, listener: (event: unknown, payload: unknown) => void): void;
}

export function buildWorkbenchApi(ipc: IpcLike): WorkbenchApi {
  const api: Record<string, unknown> = {};
  for (const method of METHOD_NAMES) {
    api[method] = async (params: unknown) => {
      const reply = (await ipc.invoke(IPC_PREFIX + method, params ?? {})) as Envelope<unknown>;
      if (!reply.ok) throw deserializeError(reply.error);
      return reply.result;
    };
  }
  api.onEvent = (listener: (event: WorkbenchEvent) => void) => {
    // Wrap so the renderer never sees Electron's IpcRendererEvent (it exposes `sender`).
    const wrapped = (_event: unknown, payload: unknown) => listener(payload as WorkbenchEvent);
    ipc.on(IPC_EVENT_CHANNEL, wrapped);
    return () => ipc.removeListener(IPC_EVENT_CHANNEL, wrapped);
  };
  return Object.freeze(api) as WorkbenchApi;
}

// window.workbench as the preload builds it: exactly the declared methods plus onEvent, and a round
// trip through the IPC host's dispatch against real services (errors keep their class).
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES, type MethodName, type WorkbenchEvent } from '../../src/shared/api';
import { InvalidRequestError, NotFoundError } from '../../src/shared/errors';
import { IPC_EVENT_CHANNEL, IPC_PREFIX } from '../../src/shared/protocol';
import { dispatch } from '../../src/main/host/dispatch';
import { createServices } from '../../src/main/services';
import { buildWorkbenchApi, type IpcLike } from '../../src/preload/api';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('wb-preload-');
const services = createServices({ dataDir: dir, host: 'electron' });
afterAll(() => services.close());

// Stands in for Electron's IPC pipe only: the structured clone is JSON, the handler is the real one.
function loopbackIpc(): IpcLike & { channels: string[] } {
  const bus = new EventEmitter();
  services.events.subscribe((e) => bus.emit(IPC_EVENT_CHANNEL, {}, JSON.parse(JSON.stringify(e))));
  const channels: string[] = [];
  return {
    channels,
    invoke: async (channel, params) => {
      channels.push(channel);
      return dispatch(services.handlers, channel.slice(IPC_PREFIX.length) as MethodName, JSON.parse(JSON.stringify(params)));
    },
    on: (c, l) => void bus.on(c, l),
    removeListener: (c, l) => void bus.off(c, l),
  };
}

describe('preload api', () => {
  it('exposes exactly METHOD_NAMES and onEvent, frozen', () => {
    const api = buildWorkbenchApi(loopbackIpc());
    expect(Object.keys(api).sort()).toEqual([...METHOD_NAMES, 'onEvent'].sort());
    expect(Object.keys(api)).toContain('chooseFolder');
    for (const k of Object.keys(api)) expect(typeof (api as unknown as Record<string, unknown>)[k]).toBe('function');
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('calls each method on its own channel and rebuilds errors', async () => {
    const ipc = loopbackIpc();
    const api = buildWorkbenchApi(ipc);
    const events: WorkbenchEvent[] = [];
    const off = api.onEvent((e) => events.push(e));
    const run = await api.createRun({ kind: 'manual', title: 'via preload' });
    expect(run.status).toBe('running');
    expect((await api.listRuns({})).runs.map((r) => r.id)).toContain(run.id);
    await expect(api.getRun({ id: '00000000-0000-4000-8000-000000000000' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(api.createRun({ kind: 'nope' as never, title: 'x' })).rejects.toBeInstanceOf(InvalidRequestError);
    expect(await api.openExternal({ url: 'https://example.com' })).toEqual({ opened: false });
    expect(ipc.channels.slice(0, 2)).toEqual([`${IPC_PREFIX}createRun`, `${IPC_PREFIX}listRuns`]);
    expect(events).toEqual([{ type: 'run-updated', run }]);
    off();
    await api.deleteRun({ id: run.id });
    expect(events).toHaveLength(1);
  });
});

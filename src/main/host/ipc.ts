// The Electron host: one ipcMain.handle per API method, answering with an Envelope so error classes
// survive the trip (Electron would flatten a thrown error to a string). Only the app's own main frame
// may call; events go to the window on IPC_EVENT_CHANNEL. `overrides` replaces service handlers that need
// the window (the folder dialog); they are validated and answered like every other method.
import type { BrowserWindow, IpcMain, IpcMainInvokeEvent } from 'electron';
import { METHOD_NAMES, type ApiHandlers, type Unsubscribe } from '../../shared/api';
import { UnauthorizedError, serializeError } from '../../shared/errors';
import { IPC_EVENT_CHANNEL, IPC_PREFIX } from '../../shared/protocol';
import type { Services } from '../services';
import { dispatch } from './dispatch';
import { isAppUrl } from './window-options';

export function registerIpc(
  ipcMain: IpcMain,
  services: Services,
  win: BrowserWindow,
  appUrl: string,
  overrides: Partial<ApiHandlers> = {},
): Unsubscribe {
  const handlers: ApiHandlers = { ...services.handlers, ...overrides };
  const trusted = (e: IpcMainInvokeEvent): boolean => {
    const frame = e.senderFrame;
    // Only the top frame of our window, showing our own page, may use the API (no iframes, no
    // navigated-away pages).
    return !!frame && e.sender === win.webContents && frame.parent === null && isAppUrl(frame.url, appUrl);
  };
  for (const method of METHOD_NAMES) {
    ipcMain.handle(IPC_PREFIX + method, (e, params: unknown) => {
      if (!trusted(e)) {
        return { ok: false, error: serializeError(new UnauthorizedError(`IPC call ${method} from an untrusted frame (${e.senderFrame?.url ?? 'unknown'}) was refused.`)) };
      }
      return dispatch(handlers, method, params);
    });
  }
  const unsubscribe = services.events.subscribe((event) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, event);
  });
  return () => {
    unsubscribe();
    for (const method of METHOD_NAMES) ipcMain.removeHandler(IPC_PREFIX + method);
  };
}

// The Electron window's security settings, CSP and IPC host, checked without the Electron binary: the
// IPC host runs against a stand-in ipcMain and window, with real services behind it.
import type { BrowserWindow, IpcMain } from 'electron';
import { afterAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES } from '../../src/shared/api';
import { InvalidRequestError, UnauthorizedError, WorkbenchError } from '../../src/shared/errors';
import { IPC_PREFIX } from '../../src/shared/protocol';
import { folderChooser, type FolderDialogOptions, type ShowOpenDialog } from '../../src/main/host/folder-dialog';
import { registerIpc } from '../../src/main/host/ipc';
import { contentSecurityPolicy, isAppUrl, windowOptions } from '../../src/main/host/window-options';
import { createServices } from '../../src/main/services';
import { buildWorkbenchApi } from '../../src/preload/api';
import { tempDir } from '../helpers/tmp';

const dir = tempDir('wb-electron-');
const services = createServices({ dataDir: dir, host: 'electron' });
afterAll(() => services.close());

function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
}

describe('electron window', () => {
  it('isolates and sandboxes the renderer', () => {
    const opts = windowOptions('/app/out/preload/index.cjs');
    expect(opts.webPreferences).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('uses a strict CSP', () => {
    const csp = contentSecurityPolicy();
    const d = directives(csp);
    expect(d.get('default-src')).toEqual(["'self'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(d.get('connect-src')).toEqual(["'self'"]);
    expect(csp).not.toContain('unsafe-eval');
    expect(d.get('script-src')).not.toContain("'unsafe-inline'");
    expect(csp).not.toMatch(/\*/);
  });

  it('adds only the given origins for the browser host socket', () => {
    const d = directives(contentSecurityPolicy({ connect: ['ws://127.0.0.1:4000'] }));
    expect(d.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:4000']);
    expect(d.get('script-src')).toEqual(["'self'"]);
  });

  it('recognises only its own page as navigable', () => {
    const app = 'file:///opt/gta/out/renderer/index.html';
    expect(isAppUrl('file:///opt/gta/out/renderer/index.html#/runs', app)).toBe(true);
    expect(isAppUrl('file:///etc/passwd', app)).toBe(false);
    expect(isAppUrl('https://evil.example/', app)).toBe(false);
    expect(isAppUrl('http://localhost:5173/runs', 'http://localhost:5173/')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173/')).toBe(false);
    expect(isAppUrl('::not a url', app)).toBe(false);
  });
});

/** A dialog that records what it was asked and answers with the given reply (or throws). */
function fakeDialog(reply: { canceled: boolean; filePaths: string[] } | Error): ShowOpenDialog & { calls: FolderDialogOptions[] } {
  const calls: FolderDialogOptions[] = [];
  const show = async (options: FolderDialogOptions) => {
    calls.push(options);
    if (reply instanceof Error) throw reply;
    return reply;
  };
  return Object.assign(show, { calls });
}

describe('folder dialog', () => {
  it('asks for a directory and returns the chosen path', async () => {
    const show = fakeDialog({ canceled: false, filePaths: ['/models/gta-1b'] });
    expect(await folderChooser(show)({ title: 'Pick one' })).toEqual({ path: '/models/gta-1b', supported: true });
    expect(await folderChooser(show)({})).toEqual({ path: '/models/gta-1b', supported: true });
    expect(show.calls).toEqual([
      { title: 'Pick one', properties: ['openDirectory'] },
      { title: 'Choose a model folder', properties: ['openDirectory'] },
    ]);
  });

  it('returns null when cancelled', async () => {
    expect(await folderChooser(fakeDialog({ canceled: true, filePaths: [] }))({})).toEqual({ path: null, supported: true });
    expect(await folderChooser(fakeDialog({ canceled: true, filePaths: ['/stale'] }))({})).toEqual({ path: null, supported: true });
    expect(await folderChooser(fakeDialog({ canceled: false, filePaths: [] }))({})).toEqual({ path: null, supported: true });
  });

  it('turns a dialog failure into an error that says what to do', async () => {
    const p = folderChooser(fakeDialog(new Error('no display')))({});
    await expect(p).rejects.toBeInstanceOf(WorkbenchError);
    await expect(p).rejects.toThrow(/no display.*Type the folder's path/);
  });
});

describe('ipc host', () => {
  const appUrl = 'file:///opt/gta/out/renderer/index.html';
  type Handler = (event: unknown, params: unknown) => unknown;

  function host(show: ShowOpenDialog) {
    const handlers = new Map<string, Handler>();
    const ipcMain = {
      handle: (channel: string, h: Handler) => void handlers.set(channel, h),
      removeHandler: (channel: string) => void handlers.delete(channel),
    } as unknown as IpcMain;
    const webContents = { send: () => undefined };
    const win = { webContents, isDestroyed: () => false } as unknown as BrowserWindow;
    const unregister = registerIpc(ipcMain, services, win, appUrl, { chooseFolder: folderChooser(show) });
    const event = (url: string) => ({ sender: webContents, senderFrame: { parent: null, url } });
    // The preload's api over the registered handlers, as if the app's own page called.
    const api = buildWorkbenchApi({
      invoke: async (channel, params) => handlers.get(channel)!(event(appUrl), JSON.parse(JSON.stringify(params))),
      on: () => undefined,
      removeListener: () => undefined,
    });
    return { handlers, unregister, api, event };
  }

  it('answers chooseFolder from the native dialog, validated like every method', async () => {
    const show = fakeDialog({ canceled: false, filePaths: ['/models/plm'] });
    const { handlers, unregister, api } = host(show);
    expect([...handlers.keys()].sort()).toEqual(METHOD_NAMES.map((m) => IPC_PREFIX + m).sort());
    expect(await api.chooseFolder({ title: 'Add model folder' })).toEqual({ path: '/models/plm', supported: true });
    await expect(api.chooseFolder({ title: 7 } as never)).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(api.chooseFolder({ defaultPath: '/' } as never)).rejects.toThrow(/"defaultPath" is not a known field/);
    expect(show.calls).toHaveLength(1); // invalid requests never open the dialog
    // The other methods still reach the shared services.
    expect((await api.systemInfo({})).host).toBe('electron');
    unregister();
    expect(handlers.size).toBe(0);
  });

  it('refuses chooseFolder from a frame that is not the app', async () => {
    const show = fakeDialog({ canceled: false, filePaths: ['/x'] });
    const { handlers, unregister, event } = host(show);
    const reply = (await handlers.get(`${IPC_PREFIX}chooseFolder`)!(event('https://evil.example/'), {})) as { ok: boolean; error: { name: string } };
    expect(reply.ok).toBe(false);
    expect(reply.error.name).toBe(UnauthorizedError.name);
    expect(show.calls).toHaveLength(0);
    unregister();
  });
});

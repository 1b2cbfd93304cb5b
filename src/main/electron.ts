// Electron entry: one sandboxed window, the API over IPC (host/ipc.ts), the store in userData.
// Kept thin: everything behind it is shared with the browser host and tested without Electron.
import { app, BrowserWindow, dialog, ipcMain, session, shell } from 'electron';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isSafeExternalUrl } from '../shared/validate';
import { folderChooser } from './host/folder-dialog';
import { registerIpc } from './host/ipc';
import { contentSecurityPolicy, isAppUrl, windowOptions } from './host/window-options';
import { createServices, type Services } from './services';

const here = dirname(fileURLToPath(import.meta.url));
// electron-vite sets this in development; the packaged app loads the built files.
const devUrl = process.env.ELECTRON_RENDERER_URL;
const appUrl = devUrl ?? pathToFileURL(join(here, '../renderer/index.html')).href;
const csp = devUrl ? contentSecurityPolicy({ connect: [devUrl.replace(/^http/, 'ws')], scripts: [new URL(devUrl).origin] }) : contentSecurityPolicy();

/** better-sqlite3 built against Electron's ABI by scripts/start.mjs; the Node build in node_modules cannot load here. */
function electronSqliteBinding(): string | undefined {
  const path = join(app.getAppPath(), 'build-electron', 'better_sqlite3.node');
  return existsSync(path) ? path : undefined;
}

function openExternally(url: string): void {
  if (isSafeExternalUrl(url)) void shell.openExternal(url);
}

function createWindow(services: Services): void {
  const win = new BrowserWindow(windowOptions(join(here, '../preload/index.cjs')));
  const unregister = registerIpc(ipcMain, services, win, appUrl, {
    chooseFolder: folderChooser((options) => dialog.showOpenDialog(win, options)),
  });
  win.on('closed', unregister);
  win.once('ready-to-show', () => win.show());
  win.webContents.on('will-navigate', (event, url) => {
    if (isAppUrl(url, appUrl)) return;
    event.preventDefault();
    openExternally(url);
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-attach-webview', (event) => event.preventDefault());
  void (devUrl ? win.loadURL(devUrl) : win.loadURL(appUrl));
}

app.enableSandbox();
app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  // The app needs no camera, microphone, notifications or geolocation.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));

  const services = createServices({
    dataDir: app.getPath('userData'),
    host: 'electron',
    nativeBinding: electronSqliteBinding(),
    openExternal: (url) => shell.openExternal(url),
  });
  app.on('will-quit', () => services.close());
  createWindow(services);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(services);
  });
}, (err: unknown) => {
  console.error('GTA Workbench failed to start:', err);
  dialog.showErrorBox('GTA Workbench could not start', (err as Error).message ?? String(err));
  app.exit(1);
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

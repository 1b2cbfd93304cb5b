// Security-relevant settings of the Electron window and the Content-Security-Policy of both hosts,
// kept free of Electron imports so unit tests can check them without the Electron binary.
import type { BrowserWindowConstructorOptions } from 'electron';

export interface CspOptions {
  /** Extra origins the page may connect to (the browser host's WebSocket, a dev server's HMR socket). */
  connect?: string[];
  /** Extra origins for scripts (a dev server in development only). */
  scripts?: string[];
}

/**
 * No eval, no inline scripts, no plugins, no framing, no foreign connections. Inline styles stay allowed
 * because naive-ui and ECharts set element styles at run time.
 */
export function contentSecurityPolicy(opts: CspOptions = {}): string {
  const directives: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", ...(opts.scripts ?? [])]],
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['img-src', ["'self'", 'data:', 'blob:']],
    ['font-src', ["'self'", 'data:']],
    ['connect-src', ["'self'", ...(opts.connect ?? [])]],
    ['worker-src', ["'self'", 'blob:']],
    ['object-src', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
  ];
  return directives.map(([k, v]) => `${k} ${v.join(' ')}`).join('; ');
}

export function windowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    show: false, // shown on 'ready-to-show' to avoid a white flash
    backgroundColor: '#101014',
    title: 'GTA Workbench',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** Whether `url` is the app's own page (same origin, or the same file for a file:// renderer). */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const u = new URL(url);
    const app = new URL(appUrl);
    if (app.protocol === 'file:') return u.protocol === 'file:' && u.pathname === app.pathname;
    return u.origin === app.origin;
  } catch {
    return false;
  }
}

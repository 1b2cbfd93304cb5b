// The Electron window's security settings and CSP, checked without the Electron binary.
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, isAppUrl, windowOptions } from '../../src/main/host/window-options';

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

// The browser host over real HTTP and WebSocket on 127.0.0.1: token checks, the API envelope, static
// files, and events.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Envelope, Run, RunPage, WorkbenchEvent } from '../../src/shared/api';
import { startServer, type RunningServer } from '../../src/main/host/serve';
import { tempDir } from '../helpers/tmp';

let dir: string;
let srv: RunningServer;
let base: string;

beforeAll(async () => {
  dir = tempDir('wb-serve-');
  const renderer = join(dir, 'renderer');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>wb</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(renderer, 'assets/app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'outside the renderer');
  srv = await startServer({ dataDir: join(dir, 'data'), rendererDir: renderer });
  base = `http://127.0.0.1:${srv.port}`;
});
afterAll(async () => {
  await srv?.close();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Raw HTTP so the path goes out exactly as written (fetch would normalise `..`). */
function raw(method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: srv.port, method, path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

async function api<T>(method: string, params: unknown, token = srv.token): Promise<{ status: number; env: Envelope<T> }> {
  const res = await fetch(`${base}/api/${method}`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(params) });
  return { status: res.status, env: (await res.json()) as Envelope<T> };
}

function ok<T>(r: { status: number; env: Envelope<T> }): T {
  expect(r.status).toBe(200);
  if (!r.env.ok) throw new Error(`${r.env.error.name}: ${r.env.error.message}`);
  return r.env.result;
}

function wsOpen(url: string, headers?: Record<string, string>): Promise<{ ws: WebSocket; events: WorkbenchEvent[] }> {
  return new Promise((resolveWs, reject) => {
    const ws = new WebSocket(url, { headers });
    const events: WorkbenchEvent[] = [];
    ws.on('message', (d) => events.push(JSON.parse(String(d)) as WorkbenchEvent));
    ws.once('open', () => resolveWs({ ws, events }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('browser host', () => {
  it('listens on 127.0.0.1 only and prints a parseable URL', async () => {
    const addr = srv.server.address() as AddressInfo;
    expect(addr.address).toBe('127.0.0.1');
    expect(addr.family).toBe('IPv4');
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    expect(srv.token).toMatch(/^[0-9a-f]{32}$/);
    await expect(startServer({ dataDir: join(dir, 'x'), host: '0.0.0.0' })).rejects.toThrow(/127\.0\.0\.1 only/);
  });

  it('answers 401 without the token, 200 with it (API and static)', async () => {
    const noToken = await raw('POST', '/api/listRuns', { body: '{}' });
    expect(noToken.status).toBe(401);
    expect(JSON.parse(noToken.body)).toMatchObject({ ok: false, error: { name: 'UnauthorizedError' } });
    expect((await api('listRuns', {}, 'f'.repeat(32))).status).toBe(401);
    expect((await raw('POST', '/api/listRuns', { body: '{}', headers: { Authorization: `Bearer ${srv.token}x` } })).status).toBe(401);
    expect((await raw('GET', '/')).status).toBe(401);
    expect((await raw('GET', '/assets/app.js')).status).toBe(401);

    expect((await api<RunPage>('listRuns', {})).status).toBe(200);
    // The API never takes the token from the query string (host-security.test.ts has the rest).
    expect((await raw('POST', `/api/listRuns?token=${srv.token}`, { body: '{}' })).status).toBe(401);
    // The page's cookie counts only with the page's Origin; tools without Origin use the header.
    const page = await raw('GET', `/?token=${srv.token}`);
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    expect((await raw('POST', '/api/listRuns', { body: '{}', headers: { Cookie: cookie } })).status).toBe(401);
    expect((await raw('POST', '/api/listRuns', { body: '{}', headers: { Cookie: cookie, Origin: base } })).status).toBe(200);
  });

  it('serves the renderer with MIME types, CSP and a cookie for assets; refuses traversal', async () => {
    const page = await raw('GET', `/?token=${srv.token}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain(`ws://127.0.0.1:${srv.port}`);
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const setCookie = String(page.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);

    const asset = await raw('GET', '/assets/app.js', { headers: { Cookie: setCookie.split(';')[0] } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.body).toBe('console.log(1)');
    // Client-side routes fall back to the page.
    expect((await raw('GET', `/runs/abc?token=${srv.token}`)).body).toContain('<title>wb</title>');

    for (const path of ['/../secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/%00x']) {
      const r = await raw('GET', `${path}${path.includes('?') ? '&' : '?'}token=${srv.token}`);
      expect(r.body, path).not.toContain('outside the renderer');
      expect([400, 404], path).toContain(r.status);
    }
  });

  it('refuses a foreign Host header', async () => {
    const r = await raw('POST', '/api/listRuns', { body: '{}', headers: { Host: `evil.example:${srv.port}`, Authorization: `Bearer ${srv.token}` } });
    expect(r.status).toBe(421);
  });

  it('returns 404 for unknown methods, envelopes for invalid params, 400 for malformed JSON', async () => {
    const unknown = await api('dropTables', {});
    expect(unknown.status).toBe(404);
    expect(unknown.env).toMatchObject({ ok: false, error: { name: 'NotFoundError' } });
    expect((await api('__proto__', {})).status).toBe(404);

    const invalid = await api('createRun', { kind: 'chat', title: 42 });
    expect(invalid.status).toBe(200);
    expect(invalid.env).toMatchObject({ ok: false, error: { name: 'InvalidRequestError', details: { field: 'title' } } });

    const malformed = await raw('POST', '/api/listRuns', { body: '{"limit":', headers: { Authorization: `Bearer ${srv.token}` } });
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ ok: false, error: { name: 'InvalidRequestError' } });

    const missing = await api('getRun', { id: '00000000-0000-4000-8000-000000000000' });
    expect(missing.env).toMatchObject({ ok: false, error: { name: 'NotFoundError' } });
    expect((await raw('GET', '/api/listRuns', { headers: { Authorization: `Bearer ${srv.token}` } })).status).toBe(405);
  });

  it('creates runs and lists them through HTTP', async () => {
    const run = ok(await api<Run>('createRun', { kind: 'bench', title: 'http run', model: 'gta-tiny', params: { ctx: 64 }, tags: ['http'] }));
    expect(run).toMatchObject({ kind: 'bench', title: 'http run', status: 'running', tags: ['http'] });
    expect(run.environment.appVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(ok(await api<{ added: number }>('addMetrics', { id: run.id, samples: [{ name: 'tok_s', step: 0, value: 3 }] }))).toEqual({ added: 1 });
    ok(await api('finishRun', { id: run.id, status: 'completed' }));
    const page = ok(await api<RunPage>('listRuns', { tag: 'http' }));
    expect(page.total).toBe(1);
    expect(page.runs[0]).toMatchObject({ id: run.id, status: 'completed' });
    const info = ok(await api<{ host: string; dataDir: string }>('systemInfo', {}));
    expect(info).toMatchObject({ host: 'browser', dataDir: join(dir, 'data') });
    expect(ok(await api('openExternal', { url: 'https://example.com/' }))).toEqual({ opened: false });
    // A page cannot browse the server's disk: no dialog, and the renderer keeps its path field.
    expect(ok(await api('chooseFolder', { title: 'Choose a model folder' }))).toEqual({ path: null, supported: false });
  });

  it('requires the token on the WebSocket and delivers events', async () => {
    await expect(wsOpen(`ws://127.0.0.1:${srv.port}/events`)).rejects.toThrow('HTTP 401');
    await expect(wsOpen(`ws://127.0.0.1:${srv.port}/events`, { Authorization: `Bearer ${'0'.repeat(32)}` })).rejects.toThrow('HTTP 401');
    await expect(wsOpen(`ws://127.0.0.1:${srv.port}/events?token=${srv.token}`)).rejects.toThrow('HTTP 401');
    await expect(wsOpen(`ws://127.0.0.1:${srv.port}/events`, { Authorization: `Bearer ${srv.token}`, Origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');

    // What the page sends: its cookie and its Origin.
    const cookie = String((await raw('GET', `/?token=${srv.token}`)).headers['set-cookie']).split(';')[0];
    const { ws, events } = await wsOpen(`ws://127.0.0.1:${srv.port}/events`, { Cookie: cookie, Origin: base });
    const byHeader = await wsOpen(`ws://127.0.0.1:${srv.port}/events`, { Authorization: `Bearer ${srv.token}` });
    const run = ok(await api<Run>('createRun', { kind: 'chat', title: 'evented' }));
    ok(await api('tagRun', { id: run.id, add: ['t1'] }));
    ok(await api('deleteRun', { id: run.id }));
    await until(() => events.length >= 3 && byHeader.events.length >= 3);
    expect(events.map((e) => e.type)).toEqual(['run-updated', 'run-updated', 'run-deleted']);
    expect(events[0]).toMatchObject({ type: 'run-updated', run: { id: run.id, title: 'evented' } });
    expect(events[1]).toMatchObject({ run: { tags: ['t1'] } });
    expect(events[2]).toEqual({ type: 'run-deleted', id: run.id });
    expect(byHeader.events).toEqual(events);
    ws.close();
    byHeader.ws.close();
  });
});

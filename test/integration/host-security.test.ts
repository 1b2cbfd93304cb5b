// The browser host against a hostile page or client (issue 15, item 7): where the token may travel,
// Origin on every state-changing request, the per-port cookie, body size and JSON depth limits.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunPage } from '../../src/shared/api';
import { startServer, type RunningServer } from '../../src/main/host/serve';
import { tempDir } from '../helpers/tmp';

let dir: string;
let srv: RunningServer;
let origin: string;

beforeAll(async () => {
  dir = tempDir('wb-host-sec-');
  const renderer = join(dir, 'renderer');
  mkdirSync(renderer, { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>wb</title>');
  srv = await startServer({ dataDir: join(dir, 'data'), rendererDir: renderer });
  origin = `http://127.0.0.1:${srv.port}`;
});
afterAll(async () => {
  await srv?.close();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
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

const bearer = () => ({ Authorization: `Bearer ${srv.token}` });

async function pageCookie(): Promise<{ pair: string; header: string }> {
  const page = await raw('GET', `/?token=${srv.token}`);
  expect(page.status).toBe(200);
  const header = String(page.headers['set-cookie']);
  return { pair: header.split(';')[0], header };
}

async function runTitles(): Promise<string[]> {
  const r = await raw('POST', '/api/listRuns', { headers: { ...bearer(), 'Content-Type': 'application/json' }, body: '{"limit":500}' });
  expect(r.status).toBe(200);
  return (JSON.parse(r.body) as { result: RunPage }).result.runs.map((x) => x.title);
}

function wsStatus(url: string, headers?: Record<string, string>): Promise<number> {
  return new Promise((done, fail) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      done(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    ws.once('error', fail);
  });
}

describe('host security: where the token may travel', () => {
  it('refuses the token in the query string for API calls (the CSRF of a text/plain form POST)', async () => {
    const csrf = await raw('POST', `/api/createRun?token=${srv.token}`, { headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ kind: 'manual', title: 'csrf-query' }) });
    expect(csrf.status).toBe(401);
    expect(JSON.parse(csrf.body)).toMatchObject({ ok: false, error: { name: 'UnauthorizedError' } });
    expect(await runTitles()).not.toContain('csrf-query');
  });

  it('refuses the token in the query string on the WebSocket', async () => {
    expect(await wsStatus(`ws://127.0.0.1:${srv.port}/events?token=${srv.token}`)).toBe(401);
    expect(await wsStatus(`ws://127.0.0.1:${srv.port}/events?token=${srv.token}`, { Origin: origin })).toBe(401);
    expect(await wsStatus(`ws://127.0.0.1:${srv.port}/events`, bearer())).toBe(101);
  });

  it('still opens the page with ?token= and sets a per-port HttpOnly, SameSite=Strict, Path=/ cookie', async () => {
    const { header } = await pageCookie();
    expect(header).toMatch(new RegExp(`^wb_token_${srv.port}=${srv.token};`));
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).toMatch(/; Path=\//);
  });
});

describe('host security: Origin on state-changing requests', () => {
  it('accepts the page cookie from the same origin (127.0.0.1 and localhost), refuses it without Origin', async () => {
    const { pair } = await pageCookie();
    const same = await raw('POST', '/api/listRuns', { headers: { Cookie: pair, Origin: origin }, body: '{}' });
    expect(same.status).toBe(200);
    const local = await raw('POST', '/api/listRuns', { headers: { Cookie: pair, Origin: `http://localhost:${srv.port}`, Host: `localhost:${srv.port}` }, body: '{}' });
    expect(local.status).toBe(200);
    const noOrigin = await raw('POST', '/api/listRuns', { headers: { Cookie: pair }, body: '{}' });
    expect(noOrigin.status).toBe(401);
    expect(JSON.parse(noOrigin.body).error.message).toMatch(/Authorization/);
    // Curl and scripts: no Origin, the Authorization header.
    expect((await raw('POST', '/api/listRuns', { headers: bearer(), body: '{}' })).status).toBe(200);
  });

  it('refuses a foreign Origin with 403, even with a valid token or cookie', async () => {
    const { pair } = await pageCookie();
    for (const foreign of ['https://evil.example', `http://127.0.0.1:${srv.port + 1}`, 'null', `https://127.0.0.1:${srv.port}`]) {
      for (const auth of [{ Cookie: pair }, bearer()]) {
        const r = await raw('POST', '/api/createRun', { headers: { ...auth, Origin: foreign, 'Content-Type': 'text/plain' }, body: JSON.stringify({ kind: 'manual', title: 'csrf-origin' }) });
        expect(r.status, foreign).toBe(403);
        expect(JSON.parse(r.body)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/origin/i) } });
      }
      expect(await wsStatus(`ws://127.0.0.1:${srv.port}/events`, { ...bearer(), Origin: foreign })).toBe(403);
      expect(await wsStatus(`ws://127.0.0.1:${srv.port}/events`, { Cookie: pair, Origin: foreign })).toBe(403);
    }
    expect(await runTitles()).not.toContain('csrf-origin');
  });

  it('opens the WebSocket with the cookie from the page origin (what a browser sends), not without Origin', async () => {
    const { pair } = await pageCookie();
    expect(await wsStatus(`ws://127.0.0.1:${srv.port}/events`, { Cookie: pair, Origin: origin })).toBe(101);
    expect(await wsStatus(`ws://127.0.0.1:${srv.port}/events`, { Cookie: pair })).toBe(401);
  });

  it('does not accept a cookie named for another port, nor the old cookie name', async () => {
    const other = `wb_token_${srv.port + 1}=${srv.token}`;
    expect((await raw('POST', '/api/listRuns', { headers: { Cookie: other, Origin: origin }, body: '{}' })).status).toBe(401);
    expect((await raw('POST', '/api/listRuns', { headers: { Cookie: `gta_workbench_${srv.port}=${srv.token}`, Origin: origin }, body: '{}' })).status).toBe(401);
    expect((await raw('GET', '/', { headers: { Cookie: other } })).status).toBe(401);
  });
});

describe('host security: body limits', () => {
  it('answers 413 with JSON at once when Content-Length is over the limit, without reading the body', async () => {
    // Headers only: a server that waited for the body would never answer.
    const reply = await new Promise<string>((done, fail) => {
      const sock = connect(srv.port, '127.0.0.1');
      let text = '';
      sock.on('data', (d) => {
        text += d.toString('utf8');
        if (text.includes('\r\n\r\n') && /"ok":false/.test(text)) {
          sock.destroy();
          done(text);
        }
      });
      sock.on('error', fail);
      setTimeout(() => {
        sock.destroy();
        done(text);
      }, 3000);
      sock.write(`POST /api/addMetrics HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${srv.token}\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 413/);
    expect(reply).toMatch(/application\/json/);
    expect(reply).toMatch(/PayloadTooLargeError|exceeds/);
  });

  it('answers 413 (not a connection reset) to a full oversized body, with Content-Length or chunked', async () => {
    const big = Buffer.alloc(40 * 1024 * 1024, 0x20);
    const withLength = await raw('POST', '/api/addMetrics', { headers: bearer(), body: big });
    expect(withLength.status).toBe(413);
    expect(JSON.parse(withLength.body)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/exceeds/) } });

    const chunked = await new Promise<Reply>((ok, fail) => {
      const req = request({ host: '127.0.0.1', port: srv.port, method: 'POST', path: '/api/addMetrics', headers: { ...bearer(), 'Transfer-Encoding': 'chunked' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', fail);
      const piece = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 40; i++) req.write(piece);
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ ok: false });
    // The server still answers afterwards.
    expect((await raw('POST', '/api/listRuns', { headers: bearer(), body: '{}' })).status).toBe(200);
  });

  it('refuses JSON nested deeper than 64 levels with 400, quickly, without stalling other clients', async () => {
    const depth = 10 * 1024 * 1024;
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    const started = Date.now();
    const [deep, other] = await Promise.all([
      raw('POST', '/api/addMetrics', { headers: bearer(), body: nested }),
      raw('POST', '/api/listRuns', { headers: bearer(), body: '{}' }),
    ]);
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.body)).toMatchObject({ ok: false, error: { name: 'InvalidRequestError', message: expect.stringMatching(/nested deeper than 64/) } });
    expect(other.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);

    const ok64 = '['.repeat(64) + ']'.repeat(64);
    const at64 = await raw('POST', '/api/listRuns', { headers: bearer(), body: ok64 });
    expect(at64.status).toBe(200); // parsed, then refused by the contract inside the envelope
    const deep65 = await raw('POST', '/api/listRuns', { headers: bearer(), body: '{"a":' + '['.repeat(64) + ']'.repeat(64) + '}' });
    expect(deep65.status).toBe(400);
    // Brackets inside strings do not count.
    const inString = await raw('POST', '/api/createRun', { headers: bearer(), body: JSON.stringify({ kind: 'manual', title: '[[[['.repeat(40) + '"\\"{{' }) });
    expect(inString.status).toBe(200);
  });
});

// The browser host: the API contract over HTTP + WebSocket (src/shared/protocol.ts) on 127.0.0.1,
// guarded by a per-start token, plus the built renderer as static files.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Envelope } from '../../shared/api';
import { InvalidRequestError, NotFoundError, UnauthorizedError, serializeError } from '../../shared/errors';
import { API_PREFIX, EVENTS_PATH, TOKEN_PARAM } from '../../shared/protocol';
import { isMethodName } from '../../shared/validate';
import { createServices, type Services } from '../services';
import { makeToken, originVerdict, presentedToken, setCookieHeader, tokenMatches } from './auth';
import { BodyTooLargeError, MAX_BODY_BYTES, declaredTooLarge, discardBody, parseJsonBody, readBody } from './body';
import { dispatch } from './dispatch';
import { serveStatic } from './static';
import { contentSecurityPolicy } from './window-options';

export const LOOPBACK = '127.0.0.1';
const PING_INTERVAL_MS = 30_000;

export interface ServeOptions {
  dataDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Only 127.0.0.1 is accepted; the option exists so a wrong value fails loudly instead of silently. */
  host?: string;
  /** Folder with the built renderer (index.html); without it only the API is served. */
  rendererDir?: string;
}

export interface RunningServer {
  url: string; // http://127.0.0.1:<port>/?token=<token>
  port: number;
  token: string;
  server: Server;
  services: Services;
  close(): Promise<void>;
}

/** The one line printed on stdout when the server is ready; e2e harnesses parse it. */
export function readyLine(url: string): string {
  return `GTA Workbench is served at ${url}`;
}

const baseHeaders = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer', // the page URL carries the token
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function sendJson(res: ServerResponse, status: number, body: Envelope<unknown>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...baseHeaders, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, err: Error): void {
  sendJson(res, status, { ok: false, error: serializeError(err) });
}

/** Anything but a read: a browser's cross-site form or fetch must not get this far (CSRF). */
function isStateChanging(method: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

const FOREIGN_ORIGIN_MSG = 'Cross-origin request refused: the Origin header is not this workbench page. Only http://127.0.0.1:<port> and http://localhost:<port> of this server may change state.';
const COOKIE_NEEDS_ORIGIN_MSG = 'The page cookie is only accepted with this page\'s Origin. Scripts and tools must send the token as `Authorization: Bearer <token>`.';

function rejectUpgrade(socket: Duplex, status: number, reason: string, message = ''): void {
  const body = message ? `${message}\n` : '';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  if (opts.host !== undefined && opts.host !== LOOPBACK) {
    throw new InvalidRequestError(`The browser host listens on ${LOOPBACK} only (asked for "${opts.host}"). To reach it from another machine, use an SSH tunnel: ssh -L 8080:127.0.0.1:<port> host.`);
  }
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidRequestError(`--port must be an integer from 0 to 65535 (got ${opts.port}).`);
  const token = makeToken();
  const services = createServices({ dataDir: opts.dataDir, host: 'browser' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  let actualPort = 0;
  const allowedHosts = () => [`${LOOPBACK}:${actualPort}`, `localhost:${actualPort}`];
  const csp = () => contentSecurityPolicy({ connect: [`ws://${LOOPBACK}:${actualPort}`, `ws://localhost:${actualPort}`] });

  async function handleApi(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (!isMethodName(name)) {
      sendError(res, 404, new NotFoundError(`Unknown API method "${name}".`, { method: name }));
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendError(res, 405, new InvalidRequestError(`Use POST for ${API_PREFIX}${name}.`));
      return;
    }
    // Over the limit by its own declaration: answer before reading a byte (and before `100 Continue`).
    if (declaredTooLarge(req)) {
      sendError(res, 413, new BodyTooLargeError(MAX_BODY_BYTES));
      discardBody(req);
      return;
    }
    if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue();
    let params: unknown;
    try {
      params = parseJsonBody((await readBody(req)).toString('utf8'));
    } catch (err) {
      const e = err instanceof InvalidRequestError ? err : new InvalidRequestError(`Request body could not be read: ${(err as Error).message}`);
      sendError(res, e instanceof BodyTooLargeError ? 413 : 400, e);
      return;
    }
    sendJson(res, 200, await dispatch(services.handlers, name, params));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${actualPort}`);
    const isApi = url.pathname.startsWith(API_PREFIX);
    // A foreign Host header means DNS rebinding or a proxy: neither should reach the API.
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      res.writeHead(421, { ...baseHeaders, 'Content-Type': 'text/plain; charset=utf-8' }).end(`Use http://${LOOPBACK}:${actualPort}/\n`);
      return;
    }
    const refuse = (status: number, msg: string) => {
      if (isApi) sendError(res, status, new UnauthorizedError(msg));
      else res.writeHead(status, { ...baseHeaders, 'Content-Type': 'text/plain; charset=utf-8' }).end(`${msg}\n`);
    };
    const changesState = isStateChanging(req.method);
    const origin = originVerdict(req, actualPort);
    if (changesState && origin === 'foreign') return refuse(403, FOREIGN_ORIGIN_MSG);
    // ?token= opens the page (and sets the cookie); the API takes the header or, from the page, the cookie.
    const presented = presentedToken(req, url, { port: actualPort, allowQuery: !isApi && !changesState });
    if (!tokenMatches(presented.token, token)) {
      return refuse(401, 'Missing or wrong token. Open the URL printed by `npm start` or `npm run serve` (it ends in ?token=…); the token changes on every start. Tools send it as `Authorization: Bearer <token>`.');
    }
    if (changesState && presented.via === 'cookie' && origin !== 'same') return refuse(401, COOKIE_NEEDS_ORIGIN_MSG);
    if (isApi) {
      handleApi(req, res, url.pathname.slice(API_PREFIX.length)).catch((err) => sendError(res, 500, err as Error));
      return;
    }
    const headers: Record<string, string> = { ...baseHeaders, 'Content-Security-Policy': csp() };
    if (presented.via === 'query') headers['Set-Cookie'] = setCookieHeader(actualPort, token);
    if (!opts.rendererDir) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('This server was started without a renderer folder (--renderer DIR).\n');
      return;
    }
    serveStatic(req, res, opts.rendererDir, url.pathname, headers);
  }

  const server = createServer(handle);
  // `Expect: 100-continue`: the API sends Continue only once the request passed every check (above).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!new URL(req.url ?? '/', `http://${LOOPBACK}:${actualPort}`).pathname.startsWith(API_PREFIX)) res.writeContinue();
    handle(req, res);
  });
  server.on('upgrade', (req, socket) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}:${actualPort}`);
    if (url.pathname !== EVENTS_PATH) return rejectUpgrade(socket, 404, 'Not Found');
    if (!allowedHosts().includes(req.headers.host ?? '')) return rejectUpgrade(socket, 421, 'Misdirected Request');
    // Browsers send Origin on WebSocket handshakes; a foreign one is cross-site WebSocket hijacking.
    const origin = originVerdict(req, actualPort);
    if (origin === 'foreign') return rejectUpgrade(socket, 403, 'Forbidden', FOREIGN_ORIGIN_MSG);
    // The page's socket carries the cookie (browsers cannot set headers on it) and the page's Origin; tools the header.
    const presented = presentedToken(req, url, { port: actualPort, allowQuery: false });
    if (!tokenMatches(presented.token, token)) return rejectUpgrade(socket, 401, 'Unauthorized');
    if (presented.via === 'cookie' && origin !== 'same') return rejectUpgrade(socket, 401, 'Unauthorized', COOKIE_NEEDS_ORIGIN_MSG);
    wss.handleUpgrade(req, socket, Buffer.alloc(0), (ws) => wss.emit('connection', ws, req));
  });

  const alive = new WeakSet<WebSocket>();
  wss.on('connection', (ws: WebSocket) => {
    alive.add(ws);
    const unsubscribe = services.events.subscribe((event) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
    });
    ws.on('pong', () => alive.add(ws));
    ws.on('close', unsubscribe);
    ws.on('error', unsubscribe);
  });
  // Drop sockets whose browser tab vanished without a close frame (sleep, network change).
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) ws.terminate();
      else {
        alive.delete(ws);
        ws.ping();
      }
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(port, LOOPBACK, () => {
        server.off('error', reject);
        resolveListen();
      });
    });
  } catch (err) {
    services.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new InvalidRequestError(`Port ${port} on ${LOOPBACK} is already in use. Pick another with --port N, or --port 0 for any free port.`);
    throw err;
  }
  actualPort = (server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= new Promise<void>((done) => {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.close(() => {
        services.close();
        done();
      });
      server.closeAllConnections();
    }));

  const url = `http://${LOOPBACK}:${actualPort}/?${TOKEN_PARAM}=${token}`;
  return { url, port: actualPort, token, server, services, close };
}

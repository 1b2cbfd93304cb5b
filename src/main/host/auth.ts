// The browser host's per-start token: 128 random bits, compared in constant time, and where it may travel.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_PARAM } from '../../shared/protocol';

export function makeToken(): string {
  return randomBytes(16).toString('hex'); // 32 hex characters
}

/** Constant-time equality; hashing first makes both sides the same length whatever the caller sent. */
export function tokenMatches(candidate: string | null | undefined, token: string): boolean {
  if (!candidate) return false;
  const a = createHash('sha256').update(candidate).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/**
 * Static assets and the WebSocket upgrade cannot carry a header from the page, so the first page load
 * (which has ?token=) sets an HttpOnly, SameSite=Strict, Path=/ cookie. Browsers do not isolate cookies by
 * port, so every page on 127.0.0.1 sends it to every port: the name carries the port and only this
 * port's name is read, and state-changing requests that present it must also carry this origin.
 */
export function cookieName(port: number): string {
  return `wb_token_${port}`;
}

export function setCookieHeader(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function bearerToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : null;
}

export interface Presented {
  token: string | null;
  via: 'header' | 'cookie' | 'query' | null;
}

/**
 * The token the request presents: the Bearer header, then (only where `allowQuery`: page loads,
 * never the API or the WebSocket) the ?token= parameter, then the per-port cookie.
 */
export function presentedToken(req: IncomingMessage, url: URL, opts: { port: number; allowQuery: boolean }): Presented {
  const bearer = bearerToken(req);
  if (bearer) return { token: bearer, via: 'header' };
  // A page opened from a freshly printed URL wins over a cookie left by an earlier start on this port.
  const q = opts.allowQuery ? url.searchParams.get(TOKEN_PARAM) : null;
  if (q) return { token: q, via: 'query' };
  const cookie = cookieValue(req, cookieName(opts.port));
  if (cookie) return { token: cookie, via: 'cookie' };
  return { token: null, via: null };
}

export type OriginVerdict = 'same' | 'absent' | 'foreign';

/** Same origin only: http://127.0.0.1:<port> or http://localhost:<port>. "null" and anything else is foreign. */
export function originVerdict(req: IncomingMessage, port: number): OriginVerdict {
  const origin = req.headers.origin;
  if (origin === undefined) return 'absent';
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}` ? 'same' : 'foreign';
}

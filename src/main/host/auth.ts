// The browser host's per-start token: 128 random bits, compared in constant time.
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
 * Static assets are fetched by <script>/<link> tags that cannot carry the token, so the first page load
 * (which has ?token=) sets an HttpOnly, SameSite=Strict cookie named after the port (cookies ignore ports).
 */
export function cookieName(port: number): string {
  return `gta_workbench_${port}`;
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The token the request presents: Bearer header, then ?token=, then (if allowed) the cookie. */
export function presentedToken(req: IncomingMessage, url: URL, opts: { port: number; allowCookie: boolean }): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const q = url.searchParams.get(TOKEN_PARAM);
  if (q) return q;
  return opts.allowCookie ? cookieValue(req, cookieName(opts.port)) : null;
}

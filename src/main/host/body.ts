// Request bodies for the browser host: a byte limit enforced before and while reading (413, never a
// connection reset), and a cheap pre-scan of JSON nesting so no body reaches JSON.parse deeper than the limit.
import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../../shared/errors';

export const MAX_BODY_BYTES = 32 * 1024 * 1024; // addMetrics batches of 100k samples fit with room to spare
export const MAX_JSON_DEPTH = 64;
/** Past this many discarded bytes after a 413, the connection is cut rather than drained for ever. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

export class BodyTooLargeError extends InvalidRequestError {
  constructor(limit: number) {
    super(`Request body exceeds ${limit} bytes; send metrics in smaller batches.`, { limit });
  }
}

/**
 * Throws away the rest of a body the server has already answered, so the client reads the answer instead
 * of a reset (closing a socket with unread data makes the kernel send RST). Bounded: a client that keeps
 * sending past MAX_DISCARD_BYTES loses the connection.
 */
export function discardBody(req: IncomingMessage): void {
  let discarded = 0;
  req.removeAllListeners('data');
  req.on('data', (c: Buffer) => {
    discarded += c.length;
    if (discarded > MAX_DISCARD_BYTES) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

/** The declared length is over the limit: answer before reading a byte. */
export function declaredTooLarge(req: IncomingMessage, limit = MAX_BODY_BYTES): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > limit;
}

/** Reads the body, counting as it goes (chunked bodies have no declared length); rejects with BodyTooLargeError at the limit. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        req.off('data', onData);
        discardBody(req);
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Nesting depth of JSON text, stopping as soon as it passes `max` (brackets inside strings do not count).
 * Linear, allocation-free: the guard that keeps JSON.parse and everything after it from deep values.
 */
export function jsonDepthExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Parses a request body (empty → undefined), refusing over-deep JSON before parsing it. */
export function parseJsonBody(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepthExceeds(text, maxDepth)) throw new InvalidRequestError(`Request body is JSON nested deeper than ${maxDepth} levels; the API never needs more.`, { maxDepth });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidRequestError(`Request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
}

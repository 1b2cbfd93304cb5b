// Serves the built renderer (out/renderer) to the browser: GET/HEAD only, correct MIME types, no path
// may leave the root, and unknown extension-less paths fall back to index.html for client-side routes.
import { createReadStream, statSync, type Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.wasm': 'application/wasm',
};

export function mimeType(path: string): string {
  return MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function fileStat(path: string): Stats | null {
  try {
    const s = statSync(path);
    return s.isFile() ? s : null;
  } catch {
    return null;
  }
}

/** Absolute file under `root` for a URL path, or null when the path is malformed or escapes the root. */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.split(/[\\/]/).includes('..')) return null;
  const base = resolve(root);
  const abs = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  return abs === base || abs.startsWith(base + sep) ? abs : null;
}

export function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, urlPath: string, headers: Record<string, string>): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
    return;
  }
  const abs = resolveStaticPath(root, urlPath);
  if (!abs) {
    res.writeHead(400, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad path\n');
    return;
  }
  let file = abs;
  let stat = fileStat(file) ?? fileStat((file = resolve(abs, 'index.html')));
  if (!stat && extname(abs) === '') stat = fileStat((file = resolve(root, 'index.html')));
  if (!stat) {
    const index = fileStat(resolve(root, 'index.html'));
    const msg = index ? 'Not found\n' : `The renderer is not built (no index.html in ${root}). Run \`npx electron-vite build\`, or pass --renderer DIR.\n`;
    res.writeHead(index ? 404 : 503, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(msg);
    return;
  }
  const type = mimeType(file);
  res.writeHead(200, {
    ...headers,
    'Content-Type': type,
    'Content-Length': String(stat.size),
    // Hashed asset names may be cached; the page itself must revalidate so a rebuild shows up.
    'Cache-Control': type.startsWith('text/html') ? 'no-cache' : 'private, max-age=3600',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

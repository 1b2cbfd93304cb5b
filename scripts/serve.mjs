// `npm run serve -- [--port N] [--data-dir DIR] [--renderer DIR]`: build if the output is missing or
// older than the sources, then run the browser host (out/main/serve.js) in the foreground.
// Also imported by scripts/start.mjs for its fallback.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUTPUTS = ['out/main/serve.js', 'out/main/electron.js', 'out/preload/index.cjs', 'out/renderer/index.html'];
const INPUTS = ['src', 'kernels', 'package.json', 'electron.vite.config.ts'];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = s.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/** Why a build is needed, or null when out/ is complete and newer than every source. */
export function buildReason() {
  const missing = OUTPUTS.filter((o) => !existsSync(join(root, o)));
  if (missing.length) return `missing ${missing.join(', ')}`;
  const built = Math.min(...OUTPUTS.map((o) => statSync(join(root, o)).mtimeMs));
  const changed = INPUTS.find((i) => newestMtime(join(root, i)) > built);
  return changed ? `${changed} changed since the last build` : null;
}

/** Build with electron-vite when needed. Returns false only when there is no usable build at all. */
export function ensureBuilt({ need = 'out/main/serve.js' } = {}) {
  const reason = buildReason();
  if (!reason) return true;
  console.error(`Building (${reason}): npx electron-vite build`);
  const cli = join(root, 'node_modules/electron-vite/bin/electron-vite.js');
  // Build output goes to stderr so stdout carries only the server's ready line.
  const r = spawnSync(process.execPath, [cli, 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status === 0) return true;
  if (existsSync(join(root, need))) {
    console.error(`The build failed (exit ${r.status}); continuing with the previous build in out/. Fix the errors above to pick up your changes.`);
    return true;
  }
  console.error(`The build failed (exit ${r.status}) and there is no earlier build in out/. Fix the errors above, then retry.`);
  return false;
}

/** Run the browser host in the foreground; resolves with its exit code. Signals are passed on. */
export function runServer(args) {
  const child = spawn(process.execPath, [join(root, 'out/main/serve.js'), ...args], { cwd: root, stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      done(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = ensureBuilt() ? await runServer(process.argv.slice(2)) : 1;
}

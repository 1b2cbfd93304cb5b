// `npm start`: the desktop app when Electron's binary is installed, otherwise the browser host.
//   Electron present → build if stale, make sure better-sqlite3 is built for Electron's ABI
//   (build-electron/better_sqlite3.node), launch Electron.
//   Electron missing → try its installer once (needs GitHub), else explain and run `serve` instead.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureBuilt, root, runServer } from './serve.mjs';

const electronDir = join(root, 'node_modules/electron');
const sqliteDir = join(root, 'node_modules/better-sqlite3');
const electronBinding = join(root, 'build-electron/better_sqlite3.node');
const INSTALL_TIMEOUT_MS = 45_000;

function electronBinary() {
  const pathTxt = join(electronDir, 'path.txt');
  if (!existsSync(pathTxt)) return null;
  const bin = join(electronDir, 'dist', readFileSync(pathTxt, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

function tryInstallElectron() {
  if (!existsSync(join(electronDir, 'install.js'))) return 'the electron package is not installed (run npm install)';
  console.error('Electron binary not found; trying to download it once (node node_modules/electron/install.js)…');
  const r = spawnSync(process.execPath, [join(electronDir, 'install.js')], { cwd: electronDir, timeout: INSTALL_TIMEOUT_MS, encoding: 'utf8' });
  if (r.status === 0 && electronBinary()) return null;
  const why = r.error?.code === 'ETIMEDOUT' ? `no answer within ${INSTALL_TIMEOUT_MS / 1000} s` : (r.stderr || r.stdout || '').trim().split('\n').find((l) => /error|ENOTFOUND|ECONN|ETIMEDOUT|EAI_AGAIN|fetch failed/i.test(l)) ?? `exit ${r.status}`;
  return `downloading Electron from GitHub failed (${why})`;
}

// better-sqlite3 talks to V8 directly, so the Node build in node_modules cannot load in Electron.
// Build a second copy for Electron's ABI without touching the Node one: a prebuilt binary first,
// then a source build against Electron's headers. Both need the network.
function buildSqliteForElectron() {
  if (existsSync(electronBinding)) return null;
  const version = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;
  const work = join(root, 'build-electron/better-sqlite3');
  rmSync(work, { recursive: true, force: true });
  cpSync(sqliteDir, work, { recursive: true, filter: (src) => !src.startsWith(join(sqliteDir, 'build')) });
  const built = join(work, 'build/Release/better_sqlite3.node');
  const attempts = [];
  const prebuild = join(root, 'node_modules/prebuild-install/bin.js');
  if (existsSync(prebuild)) {
    console.error(`Fetching better-sqlite3 prebuilt for Electron ${version}…`);
    const r = spawnSync(process.execPath, [prebuild, '--runtime', 'electron', '--target', version, '--arch', process.arch], { cwd: work, stdio: 'inherit', timeout: 120_000 });
    if (r.status === 0 && existsSync(built)) attempts.push('ok');
    else attempts.push(`prebuild-install exit ${r.status ?? r.error?.code}`);
  }
  if (!existsSync(built)) {
    const gyp = process.env.npm_config_node_gyp || join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
    if (existsSync(gyp)) {
      console.error(`Building better-sqlite3 from source for Electron ${version} (node-gyp, needs Electron's headers)…`);
      const r = spawnSync(process.execPath, [gyp, 'rebuild', '--release', '--runtime=electron', `--target=${version}`, '--dist-url=https://electronjs.org/headers', `--arch=${process.arch}`], { cwd: work, stdio: 'inherit' });
      if (r.status !== 0) attempts.push(`node-gyp exit ${r.status ?? r.error?.code}`);
    } else attempts.push('node-gyp not found');
  }
  if (!existsSync(built)) return `could not build better-sqlite3 for Electron ${version} (${attempts.join('; ')}). This needs internet access (GitHub for prebuilt binaries or electronjs.org for headers) and a C++ toolchain.`;
  mkdirSync(dirname(electronBinding), { recursive: true });
  copyFileSync(built, electronBinding);
  rmSync(work, { recursive: true, force: true });
  return null;
}

async function fallBackToBrowser(why) {
  console.error(`Cannot start the desktop window: ${why}.`);
  console.error('Starting the browser host instead; open the URL below in Chrome, Edge or Firefox (same app, same data).');
  process.exitCode = ensureBuilt() ? await runServer(process.argv.slice(2)) : 1;
}

async function main() {
  let bin = electronBinary();
  if (!bin) {
    const why = tryInstallElectron();
    if (why) return fallBackToBrowser(why);
    bin = electronBinary();
  }
  if (!ensureBuilt({ need: 'out/main/electron.js' })) {
    process.exitCode = 1;
    return;
  }
  const why = buildSqliteForElectron();
  if (why) return fallBackToBrowser(why);
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE; // set by some tools; it would make Electron behave as plain Node
  const child = spawn(bin, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env });
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}

await main();

// The serve entry as a user runs it: a separate Node process that prints one ready line, honours
// --port/--data-dir/--renderer, refuses other hosts, and shuts down cleanly on SIGTERM.
import { build, type Plugin } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp';

const root = resolve(__dirname, '../..');
const cacheDir = join(root, 'node_modules/.cache/gta-workbench-tests');
const entry = join(cacheDir, `serve-${process.pid}.mjs`);
// The exact pattern the e2e harness uses to find the URL.
const READY = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}/;
let dir: string;

const rawWgsl: Plugin = {
  name: 'raw-wgsl',
  setup(b) {
    b.onResolve({ filter: /\.wgsl\?raw$/ }, (args) => ({ path: resolve(args.resolveDir, args.path.replace(/\?raw$/, '')), namespace: 'wgsl' }));
    b.onLoad({ filter: /.*/, namespace: 'wgsl' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }));
  },
};

beforeAll(async () => {
  mkdirSync(cacheDir, { recursive: true });
  // The services import the engine, whose kernels are `?raw` WGSL imports: esbuild needs the text loader.
  await build({
    entryPoints: [join(root, 'src/main/serve.ts')],
    outfile: entry,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'webgpu', 'ws', 'electron'],
    plugins: [rawWgsl],
    // ESM output still needs require() for the CommonJS dependencies bundled inside.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
  dir = tempDir('wb-serve-cli-');
  mkdirSync(join(dir, 'renderer'));
  writeFileSync(join(dir, 'renderer/index.html'), '<!doctype html><title>cli</title>');
});
afterAll(() => {
  rmSync(entry, { force: true });
});

describe('serve entry', () => {
  it('prints exactly one ready line, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [entry, '--port', '0', '--data-dir', join(dir, 'data'), `--renderer=${join(dir, 'renderer')}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    const lines: string[] = [];
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => lines.push(l));
    await new Promise<void>((ok, fail) => {
      rl.once('line', () => ok());
      child.once('exit', (code) => fail(new Error(`serve exited with ${code}`)));
    });
    expect(lines[0]).toMatch(/^GTA Workbench is served at http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    const url = lines[0].match(READY)![0];
    const token = new URL(url).searchParams.get('token')!;

    expect((await fetch(url)).status).toBe(200);
    expect(await (await fetch(url)).text()).toContain('<title>cli</title>');
    expect((await fetch(url.replace(/\?token=.*/, ''))).status).toBe(401);
    const created = await fetch(new URL('/api/createRun', url), { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify({ kind: 'manual', title: 'from cli test' }) });
    expect(await created.json()).toMatchObject({ ok: true, result: { title: 'from cli test' } });

    const exit = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(lines).toHaveLength(1);
    expect(existsSync(join(dir, 'data', 'workbench.db'))).toBe(true);
  });

  it('refuses hosts other than 127.0.0.1 and unknown flags', () => {
    const host = spawnSync(process.execPath, [entry, '--host', '0.0.0.0', '--data-dir', join(dir, 'd2')], { encoding: 'utf8' });
    expect(host.status).toBe(1);
    expect(host.stderr).toMatch(/127\.0\.0\.1 only/);
    expect(host.stdout).toBe('');
    const flag = spawnSync(process.execPath, [entry, '--prot', '1'], { encoding: 'utf8' });
    expect(flag.status).toBe(2);
    expect(flag.stderr).toMatch(/unknown option "--prot"/);
    const port = spawnSync(process.execPath, [entry, '--port', 'http'], { encoding: 'utf8' });
    expect(port.status).toBe(2);
  });
});

// The engine's CLI commands through the command table, on a golden fixture: `generate --json` returns
// the fixture's greedy ids with stats, `logits --json` its prompt logits, and bad flags fail with usage.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commands } from '../../src/main/cli/commands';
import { relL2 } from '../helpers/gpu';

const dir = join(__dirname, '../fixtures/golden/v1/gta-multi');
const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as { prompt_ids: number[]; prompt_logits: number[][]; greedy_ids: number[] };

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    const code = await commands[argv[0]].run(argv.slice(1));
    return { code, out };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

/** The CLI as a user runs it (scripts/cli.mjs bundles and runs src/main/cli.ts), stderr a pipe. */
async function spawnCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const root = join(__dirname, '../..');
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'scripts/cli.mjs'), ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('engine CLI', () => {
  it('generate --json prints the greedy ids and stats', async () => {
    const { code, out } = await run(['generate', '--model', dir, '--ids', golden.prompt_ids.join(','), '--max-tokens', '16', '--greedy', '--no-stop', '--dtype', 'f32', '--json']);
    expect(code).toBe(0);
    const r = JSON.parse(out) as { ids: number[]; text: string | null; stats: { generatedTokens: number; backend: string; kv: { tokens: number } } };
    expect(r.ids).toEqual(golden.greedy_ids);
    expect(r.text).toBeNull(); // the fixture has no tokenizer
    expect(r.stats.generatedTokens).toBe(16);
    expect(r.stats.backend).toBe('gpu');
  });

  it('logits --json prints one row per position', async () => {
    const { code, out } = await run(['logits', '--model', dir, '--ids', golden.prompt_ids.join(','), '--dtype', 'f32', '--backend', 'cpu', '--json']);
    expect(code).toBe(0);
    const rows = (JSON.parse(out) as { logits: number[][] }).logits;
    expect(rows.length).toBe(golden.prompt_ids.length);
    rows.forEach((r, i) => expect(relL2(r, golden.prompt_logits[i])).toBeLessThan(1e-4));
  });

  it('rejects unusable flags with the usage', async () => {
    await expect(run(['generate', '--model', dir, '--ids', '1,2', '--greedy', '--temperature', '0.7'])).rejects.toThrow(/--greedy excludes --temperature/);
    await expect(run(['generate', '--model', dir])).rejects.toThrow(/exactly one of --prompt TEXT or --ids/);
    await expect(run(['logits', '--model', dir, '--ids', '1,x'])).rejects.toThrow(/comma-separated token ids/);
    await expect(run(['bench', '--arch', 'nope', '--random'])).rejects.toThrow(/unknown --arch "nope"/);
    await expect(run(['generate', '--model', dir, '--ids', '1', '--frobnicate'])).rejects.toThrow(/usage: generate/);
  });

  it('spawned with stderr a pipe: progress one line per update, no Dawn limit warnings, --help exits 0', async () => {
    const r = await spawnCli(['generate', '--model', dir, '--ids', golden.prompt_ids.join(','), '--max-tokens', '2', '--greedy', '--no-stop']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('artificially reduced');
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).toMatch(/^loading 100%$/m);
    const help = await spawnCli(['generate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run cli -- generate --model DIR');
  }, 60_000);
});

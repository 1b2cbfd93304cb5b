// `help`, `help <command>`, `<command> --help` and `-h` print the usage and exit 0, for every command.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commands } from '../../src/main/cli/commands';
import { main, wantsHelp } from '../../src/main/cli/main';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (err += `${a.join(' ')}\n`));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

afterEach(() => vi.restoreAllMocks());

describe('CLI help', () => {
  it('help and --help print the command list and exit 0', async () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: npm run cli -- <command>/);
      for (const name of Object.keys(commands)) expect(r.out).toContain(`  ${name}`);
      expect(r.out).toContain('help <command>');
    }
  });

  it('no command prints the list and exits 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^usage:/);
  });

  it.each(Object.keys(commands))('%s: --help, -h and help %s print its usage and exit 0 without running it', async (name) => {
    const spy = vi.spyOn(commands[name], 'run');
    const expected = `usage: npm run cli -- ${commands[name].usage}`;
    for (const argv of [[name, '--help'], [name, '-h'], ['help', name], [name, '--model', 'nowhere', '--help']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.out).toContain(expected);
      expect(r.out.startsWith(`${name}: ${commands[name].summary}`)).toBe(true);
    }
    expect(spy).not.toHaveBeenCalled();
    expect(commands[name].usage.startsWith(`${name} `)).toBe(true);
  });

  it('help for an unknown command is a usage error', async () => {
    const r = await run(['help', 'frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "frobnicate"');
  });

  it('--help after -- is an argument, not a request for help', () => {
    expect(wantsHelp(['--model', 'x', '--', '--help'])).toBe(false);
    expect(wantsHelp(['-h'])).toBe(true);
  });
});

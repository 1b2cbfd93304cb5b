// Headless CLI: `npm run cli -- <command> [options]`. Each command lives in src/main/cli/<command>.ts
// and is registered here; every command takes --model DIR, --backend gpu|cpu and --json.
import { parseArgs } from 'node:util';

export interface CliCommand {
  summary: string;
  run(argv: string[]): Promise<number>; // exit code
}

const commands: Record<string, CliCommand> = {};

export function registerCommand(name: string, cmd: CliCommand): void {
  commands[name] = cmd;
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return ['usage: npm run cli -- <command> [--model DIR] [--backend gpu|cpu] [--json] …', '', 'commands:', ...lines].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv.slice(0, 1), allowPositionals: true, strict: false });
  const name = positionals[0];
  if (!name || name === 'help' || name === '--help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(argv.slice(1));
  } catch (err) {
    const e = err as Error;
    console.error(`${e.name}: ${e.message}`);
    return 1;
  }
}

// The CLI's dispatcher: `help [command]`, `<command> --help|-h` and running a command. src/main/cli.ts is
// the process entry; tests call main() directly.
import { commands } from './commands';

const PREFIX = 'npm run cli --';

export function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(16)} ${c.summary}`);
  return [
    `usage: ${PREFIX} <command> [--model DIR] [--backend gpu|cpu] [--json] …`,
    '',
    'commands:',
    ...lines,
    '',
    `${PREFIX} help <command> (or <command> --help) prints a command's flags.`,
  ].join('\n');
}

export function commandHelp(name: string): string {
  const c = commands[name];
  return `${name}: ${c.summary}\n\nusage: ${PREFIX} ${c.usage}`;
}

/** --help or -h among a command's arguments (before a `--` that ends the flags). */
export function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

const HELP = new Set(['help', '--help', '-h']);

export async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (!name) {
    console.log(usage());
    return 2;
  }
  if (HELP.has(name)) {
    const topic = argv[1];
    if (topic === undefined) {
      console.log(usage());
      return 0;
    }
    if (!commands[topic]) {
      console.error(`unknown command "${topic}"\n\n${usage()}`);
      return 2;
    }
    console.log(commandHelp(topic));
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (wantsHelp(argv.slice(1))) {
    console.log(commandHelp(name));
    return 0;
  }
  try {
    return await cmd.run(argv.slice(1));
  } catch (err) {
    const e = err as Error;
    console.error(`${e.name}: ${e.message}`);
    return 1;
  }
}

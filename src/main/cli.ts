// Headless CLI entry: `npm run cli -- <command> [options]` (scripts/cli.mjs bundles and runs this file).
// Commands live in src/main/cli/; every one takes --model DIR, --backend gpu|cpu and --json.
import { commands } from './cli/commands';

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(16)} ${c.summary}`);
  return ['usage: npm run cli -- <command> [--model DIR] [--backend gpu|cpu] [--json] …', '', 'commands:', ...lines].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const name = argv[0];
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

process.exitCode = await main(process.argv.slice(2));

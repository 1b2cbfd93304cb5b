// Entry of the browser host: `node out/main/serve.js [--port N] [--data-dir DIR] [--renderer DIR]`
// (or `npm run serve -- …`). Prints one line with the URL to open, then serves until SIGINT/SIGTERM.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkbenchError } from '../shared/errors';
import { readyLine, startServer, LOOPBACK } from './host/serve';
import { defaultDataDir } from './store';

const USAGE = `usage: node out/main/serve.js [--port N] [--data-dir DIR] [--renderer DIR]
  --port N        port on ${LOOPBACK} (default 0: any free port)
  --data-dir DIR  run database and artifacts (default ${defaultDataDir()})
  --renderer DIR  built renderer to serve (default out/renderer beside this bundle)
The server listens on ${LOOPBACK} only; every request needs the token printed with the URL.`;

interface Args {
  port: number;
  dataDir: string;
  rendererDir: string;
  host?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const args: Args = { port: 0, dataDir: defaultDataDir(), rendererDir: resolve(here, '../renderer') };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    if (name === '--help' || name === '-h') return null;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (name === '--port') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (got "${v}")`);
      args.port = Number(v);
    } else if (name === '--data-dir') args.dataDir = resolve(value());
    else if (name === '--renderer') args.rendererDir = resolve(value());
    else if (name === '--host') args.host = value();
    else throw new UsageError(`unknown option "${flag}"`);
  }
  return args;
}

async function main(): Promise<number> {
  let args: Args | null;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!args) {
    console.log(USAGE);
    return 0;
  }
  if (!existsSync(resolve(args.rendererDir, 'index.html'))) {
    console.error(`warning: no built renderer in ${args.rendererDir}; only the API is usable. Run \`npx electron-vite build\`.`);
  }
  const running = await startServer({ port: args.port, host: args.host, dataDir: args.dataDir, rendererDir: args.rendererDir });
  console.log(readyLine(running.url));
  const stop = (signal: string) => {
    console.error(`${signal}: closing the server and the run database`);
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return -1;
}

try {
  const code = await main();
  if (code >= 0) process.exitCode = code;
} catch (err) {
  const e = err as Error;
  console.error(err instanceof WorkbenchError ? `${e.name}: ${e.message}` : e);
  process.exitCode = 1;
}

// `npm run cli -- …`: bundle src/main/cli.ts with esbuild (about a second) and run it.
import { bundle } from '../tools/bundle.mjs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, 'out/cli/cli.mjs');
await bundle(resolve(root, 'src/main/cli.ts'), out);
process.argv = [process.argv[0], out, ...process.argv.slice(2)];
await import(pathToFileURL(out).href);

// Headless CLI entry: `npm run cli -- <command> [options]` (scripts/cli.mjs bundles and runs this file).
// Commands live in src/main/cli/; every one takes --model DIR, --backend gpu|cpu and --json.
// Commands that open the GPU run in a child process whose stderr drops Dawn's adapter warnings
// (src/main/cli/dawn-noise.ts says why); help, inspect and unknown commands run here.
import { fileURLToPath } from 'node:url';
import { CHILD_ENV, runFiltered } from './cli/dawn-noise';
import { main, wantsHelp } from './cli/main';
import { commands } from './cli/commands';

const NO_GPU = new Set(['inspect']);

const argv = process.argv.slice(2);
const name = argv[0];
const usesGpu = name !== undefined && commands[name] !== undefined && !NO_GPU.has(name) && !wantsHelp(argv.slice(1));
process.exitCode = usesGpu && process.env[CHILD_ENV] !== '1' ? await runFiltered(fileURLToPath(import.meta.url), argv) : await main(argv);

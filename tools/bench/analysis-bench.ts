// Entry for the GPU machine: the `analysis-bench` command alone (the full CLI bundle also pulls in the
// run store, whose native SQLite module the GPU machine does not have). Bundle and run:
//   node tools/bundle.mjs tools/bench/analysis-bench.ts .device/analysis-bench.mjs
//   source .device/enter.sh && node .device/analysis-bench.mjs --arch plm-1.8b,gta-1b --random --tokens 2048
import { analysisBenchCommand } from '../../src/main/cli/analysis-bench';

process.exitCode = await analysisBenchCommand.run(process.argv.slice(2));

// GEMV microbenchmark: batch-1 f16 GEMVs of the benchmark models' decode shapes (GQA-1B/GTA-1B hidden
// 1280, PLM-1.8B hidden 2048). Each call reads a different copy of the weights (copies enough to
// exceed the L2 cache), so the figures are DRAM-bound as in a real decode step, where every matrix is
// read once per token. One stamped pass of back-to-back dependent calls, median of repeats; prints µs
// per call and GB/s of weights for each threads-per-row choice, with (K) and without (u) constant row
// length. Dawn's timestamps here tick in 65.5 µs steps: a pass of many calls keeps that error small.
//   node tools/bundle.mjs tools/bench/gemv-kbench.ts .device/gemv-kbench.mjs
//   source .device/enter.sh && node .device/gemv-kbench.mjs [--tpr 16,32,64,128]
import { createDevice, describeAdapter, requestAdapter, GpuRuntime, GpuTimer, gemv, fillRandom } from '../../src/main/engine/kernels';
import { arg } from './args';

const SHAPES: [string, number, number][] = [
  ['1B qkv', 1280, 1920],
  ['1B gate_up', 1280, 7168],
  ['1B down', 3584, 1280],
  ['1B head', 1280, 128256],
  ['PLM q_kv_a', 2048, 3648],
  ['PLM up', 2048, 8192],
  ['PLM down', 8192, 2048],
];
const L2_BYTES = 256 << 20; // copies per shape: at least this many bytes, far past any L2
const REPEATS = 5;
const MIN_CALLS = 64; // calls per stamped pass (the copies cycled)

async function main(): Promise<void> {
  const tprs = (arg('--tpr') ?? '0,16,32,64,128').split(',').map(Number);
  const adapter = await requestAdapter();
  const info = describeAdapter(adapter);
  const rt = new GpuRuntime(await createDevice(adapter));
  console.log(`adapter: ${info.vendor} ${info.device} ${info.description}`);
  for (const [name, inDim, outDim] of SHAPES) {
    const bytes = inDim * outDim * 2;
    const copies = Math.max(2, Math.min(64, Math.ceil(L2_BYTES / bytes)));
    const ws = Array.from({ length: copies }, (_, i) => {
      const b = rt.buffer(bytes, `w${i}`);
      // Random values, not zeros: the GPU's memory compression makes zeros read several times faster.
      fillRandom(rt, b, bytes / 4, i + 1, 1 / Math.sqrt(inDim), true);
      return b;
    });
    const x = rt.buffer(inDim * 4, 'x');
    fillRandom(rt, x, inDim, 99, 1, false);
    const y = rt.buffer(outDim * 4, 'y');
    const cells: string[] = [];
    for (const constantRows of [false, true]) {
      for (const tpr of tprs) {
        const calls = Math.ceil(MIN_CALLS / copies) * copies;
        const record = () => {
          for (let c = 0; c < calls; c++) for (const w of [ws[c % copies]]) gemv(rt, { x, w, y, rows: 1, inDim, outDim, wF16: true }, { threadsPerRow: tpr || undefined, constantRows });
        };
        record();
        await rt.sync();
        const timer = GpuTimer.create(rt, REPEATS)!;
        for (let r = 0; r < REPEATS; r++) timer.time('gemv', record);
        const spans = (await timer.collect()).map((s) => (s.ms * 1000) / calls).sort((a, b) => a - b);
        timer.destroy();
        const us = spans[Math.floor(spans.length / 2)];
        cells.push(`${constantRows ? 'K' : 'u'}${tpr || 'def'} ${us.toFixed(1)}µs ${(bytes / (us * 1e3)).toFixed(0)}GB/s`);
      }
    }
    console.log(`${name.padEnd(11)} ${inDim}→${outDim} ×${copies}: ${cells.join(' | ')}`);
    for (const w of ws) w.destroy();
    x.destroy();
    y.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

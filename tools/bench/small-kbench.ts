// Microbenchmark of the three small per-head kernels of a decode step: attn_mla_absorb_q and
// attn_mla_up_v (PLM-1.8B: 16 heads, d_nope 128, d_c 512, kv_b_proj 4 MB f16) and attn_gta_decode_v
// (GTA-1B: 5 groups, d_l 128, e 2, gate inside the fused 1792-wide qkcg row at column 512).
// Each call reads a different copy of the weights (random values: zeros read faster through memory
// compression; copies enough to exceed the L2 cache), so the figures are DRAM-bound as in a real decode
// step. One stamped pass of back-to-back calls writing the same output (so they run one after another),
// median of repeats, µs per call. Dawn's timestamps here tick in 65.5 µs steps: a pass of many calls
// keeps that error small. Prints the op's default dispatch ("default") and, where the op exports a
// work-split entry (recordMlaAbsorbQSplit, ...), a sweep of splits; it also runs against older ops
// without those entries (the default line only), so old and new kernels compare in one run.
//   node tools/bundle.mjs tools/bench/small-kbench.ts .device/small-kbench.mjs
//   source .device/enter.sh && node .device/small-kbench.mjs [--quick] [--n 1,4,128]
import { createDevice, describeAdapter, requestAdapter, GpuRuntime, GpuTimer, absorbOp, gtaDecodeOp as gtaOp, upVOp as upOp, fillRandom } from '../../src/main/engine/kernels';
import { arg } from './args';

type Split = Record<string, number>;
type SplitFn = (rt: GpuRuntime, b: never, s: never, ...rest: never[]) => void;

const quick = process.argv.includes('--quick'); // lavapipe smoke run
const L2_BYTES = quick ? 1 << 20 : 128 << 20; // weight bytes cycled per op: far past any L2
const REPEATS = quick ? 1 : 5;
const MIN_CALLS = quick ? 2 : 512; // 65.5 µs timestamp steps / 512 calls: 0.13 µs resolution

// Optional exports of newer ops, looked up by name so this file also bundles against older ones.
function optional(mod: object, name: string): SplitFn | undefined {
  const f = (mod as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as SplitFn) : undefined;
}

// Printed as the split's values in order. unroll: 0 = the row loop's trip count from the uniforms (the
// lavapipe default), else compiled in.
const COLUMN_SPLITS_1: Split[] = [{ rs: 64, co: 2, nt: 1 }, { rs: 32, co: 4, nt: 1 }, { rs: 64, co: 4, nt: 1 }, { rs: 128, co: 1, nt: 1 }, { rs: 64, co: 2, nt: 1, unroll: 0 }];
const COLUMN_SPLITS_N: Split[] = [{ rs: 16, co: 8, nt: 2 }, { rs: 32, co: 4, nt: 4 }, { rs: 4, co: 16, nt: 4, unroll: 0 }];
const ROW_SPLITS_1: Split[] = [{ tpr: 32, rpw: 4, nt: 1 }, { tpr: 64, rpw: 2, nt: 1 }, { tpr: 16, rpw: 8, nt: 1 }, { tpr: 32, rpw: 2, nt: 1 }];
const ROW_SPLITS_N: Split[] = [{ tpr: 32, rpw: 4, nt: 4 }, { tpr: 8, rpw: 8, nt: 4 }, { tpr: 16, rpw: 8, nt: 4 }];

async function main(): Promise<void> {
  const ns = (arg('--n') ?? '1,4,32,512').split(',').map(Number);
  const adapter = await requestAdapter();
  const info = describeAdapter(adapter);
  const rt = new GpuRuntime(await createDevice(adapter));
  console.log(`adapter: ${info.vendor} ${info.device} ${info.description}`);
  const timer = GpuTimer.create(rt, REPEATS);
  if (!timer) throw new Error('no timestamp-query on this adapter');

  function weightCopies(words: number, seed: number): GPUBuffer[] {
    const bytes = words * 4;
    const copies = Math.max(quick ? 2 : 32, Math.min(1024, Math.ceil(L2_BYTES / bytes)));
    return Array.from({ length: copies }, (_, i) => {
      const b = rt.buffer(bytes, `w${i}`);
      fillRandom(rt, b, words, seed + i, 0.05, true);
      return b;
    });
  }
  function input(values: number, seed: number): GPUBuffer {
    const b = rt.buffer(values * 4, 'in');
    fillRandom(rt, b, values, seed, 1, false);
    return b;
  }

  /** Median µs per call of `call(weights)` over one stamped pass of back-to-back calls. */
  async function time(ws: GPUBuffer[], call: (w: GPUBuffer) => void): Promise<number> {
    const calls = Math.ceil(MIN_CALLS / ws.length) * ws.length;
    const record = () => {
      for (let c = 0; c < calls; c++) call(ws[c % ws.length]);
    };
    record(); // compile and warm up
    await rt.sync();
    for (let r = 0; r < REPEATS; r++) timer!.time('k', record);
    const spans = (await timer!.collect()).map((s) => (s.ms * 1000) / calls).sort((a, b) => a - b);
    return spans[Math.floor(spans.length / 2)];
  }

  async function report(name: string, ws: GPUBuffer[], bytes: number, rows: [string, (w: GPUBuffer) => void][]): Promise<void> {
    const cells: string[] = [];
    for (const [label, call] of rows) {
      const us = await time(ws, call);
      cells.push(`${label} ${us.toFixed(2)}µs`);
    }
    console.log(`${name} (${(bytes / 1e6).toFixed(2)} MB weights ×${ws.length}): ${cells.join(' | ')}`);
  }
  const fmt = (s: Split) => Object.values(s).join('/');

  // PLM-1.8B MLA: kv_b_proj [16·(128+128), 512] f16.
  const mla = { nh: 16, dNope: 128, dRope: 64, dV: 128, dC: 512, wF16: true };
  const kvb = weightCopies((mla.nh * (mla.dNope + mla.dV) * mla.dC) / 2, 1);
  const absorbSplit = optional(absorbOp, 'recordMlaAbsorbQSplit');
  const upSplit = optional(upOp, 'recordMlaUpVSplit');
  for (const n of ns) {
    const s = { ...mla, n };
    const q = input(n * mla.nh * (mla.dNope + mla.dRope), 7);
    const qt = rt.buffer(n * mla.nh * (mla.dC + mla.dRope) * 4, 'qt');
    const a = input(n * mla.nh * mla.dC, 8);
    const o = rt.buffer(n * mla.nh * mla.dV * 4, 'o');
    const absorbRows: [string, (w: GPUBuffer) => void][] = [['default', (w) => absorbOp.recordMlaAbsorbQ(rt, { q, w, out: qt }, s)]];
    if (absorbSplit) for (const sp of n === 1 ? COLUMN_SPLITS_1 : COLUMN_SPLITS_N) absorbRows.push([fmt(sp), (w) => absorbSplit(rt, { q, w, out: qt } as never, s as never, sp as never)]);
    await report(`absorb_q n=${n}`, kvb, (mla.nh * mla.dNope * mla.dC * 2), absorbRows);
    const upRows: [string, (w: GPUBuffer) => void][] = [['default', (w) => upOp.recordMlaUpV(rt, { a, w, out: o }, s)]];
    if (upSplit) for (const sp of n === 1 ? ROW_SPLITS_1 : ROW_SPLITS_N) upRows.push([fmt(sp), (w) => upSplit(rt, { a, w, out: o } as never, s as never, sp as never)]);
    await report(`up_v n=${n}`, kvb, mla.nh * mla.dV * mla.dC * 2, upRows);
    for (const b of [q, qt, a, o]) b.destroy();
  }
  for (const b of kvb) b.destroy();

  // GTA-1B: v_b_proj [nq, dl, e·dl] f16; the gate inside the fused qkcg row (1792 wide, from column 512).
  const gta = { nq: 5, dl: 128, e: 2, wF16: true };
  const H = gta.nq * gta.e * gta.dl;
  const gateAt = { stride: 1792, offset: 512 };
  const vb = weightCopies((gta.nq * gta.dl * gta.e * gta.dl) / 2, 3);
  const gtaSplit = optional(gtaOp, 'recordGtaDecodeVSplit');
  for (const n of ns) {
    const s = { ...gta, n };
    const a = input(n * gta.nq * gta.dl, 9);
    const gate = input(n * gateAt.stride, 10);
    const out = rt.buffer(n * H * 4, 'dec');
    const rows: [string, (w: GPUBuffer) => void][] = [['default', (w) => gtaOp.recordGtaDecodeV(rt, { a, w, gate, out }, s, gateAt)]];
    if (gtaSplit) for (const sp of n === 1 ? COLUMN_SPLITS_1 : COLUMN_SPLITS_N) rows.push([fmt(sp), (w) => gtaSplit(rt, { a, w, gate, out } as never, s as never, gateAt as never, sp as never)]);
    await report(`gta_decode_v n=${n}`, vb, gta.nq * gta.dl * gta.e * gta.dl * 2, rows);
    for (const b of [a, gate, out]) b.destroy();
  }
  for (const b of vb) b.destroy();
  timer.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

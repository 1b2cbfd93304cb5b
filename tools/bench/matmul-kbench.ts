// Prefill matmul microbenchmark: the subgroup-matrix kernel (kernels/matmul_mma.wgsl, tensor cores,
// f16 inputs, f32 accumulation) against the f32-FMA kernel (kernels/matmul.wgsl) on the benchmark
// models' prefill projections at n tokens (default 2048). First: which spelling of the subgroup-matrix
// builtins this Dawn accepts, and edge-shape checks of every tile config against the CPU reference
// (f64, X and W rounded to f16 as the kernel sees them; also against unrounded X). Then per shape: the
// max relative error of each config against the f32 kernel and GPU time per call (median of REPEATS
// stamped passes of ≥ 20 back-to-back calls, random data), printed as TFLOP/s.
//   node tools/bundle.mjs tools/bench/matmul-kbench.ts .device/mm.mjs
//   source .device/enter.sh && node .device/mm.mjs [--n 2048] [--only PLM] [--cfg 2.2.4x4,2.4.4x2.2]
import { cpuOps as cpu, createDevice, describeAdapter, requestAdapter, GpuRuntime, type KernelSource, GpuTimer, f16ToF32, f32ToF16, f32ToF16Array, type LinearArgs, type MmaConfig, matmulF32, matmulMma, mmaAvailable, mmaKernel, fillRandom } from '../../src/main/engine/kernels';
import { arg } from './args';

// [name, in, out, accumulate] as the forward passes call linear() for a prompt (src/main/engine/arch).
const SHAPES: [string, number, number, boolean][] = [
  ['PLM q_kv_a', 2048, 3648, false],
  ['PLM kv_up', 512, 4096, false],
  ['PLM o_proj', 2048, 2048, true],
  ['PLM up', 2048, 8192, false],
  ['PLM down', 8192, 2048, false],
  ['GQA qkv', 1280, 1920, false],
  ['GQA o_proj', 1280, 1280, true],
  ['GQA gate_up', 1280, 7168, false],
  ['GQA down', 3584, 1280, false],
  ['GTA qkcg', 1280, 1792, false],
  ['1B head', 1280, 128256, false],
];
const REPEATS = 3;

// sgm.sgn.block[.buffers]: e.g. 2.4.4x2 = 2 × 4 subgroups of 4 × 2 fragments, one K-tile buffer.
function parseCfg(s: string): MmaConfig {
  const [sgm, sgn, block, buffers] = s.split('.');
  if (block !== '4x2' && block !== '4x4') throw new Error(`bad config ${s}`);
  return { sgm: Number(sgm), sgn: Number(sgn), block, buffers: buffers === '2' ? 2 : 1 };
}
const cfgName = (c: MmaConfig) => `${c.sgm}.${c.sgn}.${c.block}${c.buffers === 2 ? '.2' : ''}`;

// The builtin spellings: Dawn's current one (majorness as a template argument) and the older one
// (a bool argument), which newer Dawn accepts with a "deprecated" warning.
function toOldSpelling(code: string): string {
  return code
    .replace(/subgroupMatrixLoad<(subgroup_matrix_\w+<[^>]+>), (row|col)_major>\((.*), ([^,()]+)\)/g, (_m, t, maj, rest, stride) => `subgroupMatrixLoad<${t}>(${rest}, ${maj === 'col' ? 'true' : 'false'}, ${stride})`)
    .replace(/subgroupMatrixStore<(row|col)_major>\((.*), ([^,()]+)\)/g, (_m, maj, rest, stride) => `subgroupMatrixStore(${rest}, ${maj === 'col' ? 'true' : 'false'}, ${stride})`);
}

async function compiles(rt: GpuRuntime, label: string, code: string, constants: Record<string, number> = {}): Promise<{ ok: boolean; msgs: string[] }> {
  const d = rt.device;
  d.pushErrorScope('validation');
  const m = d.createShaderModule({ label, code });
  const info = await m.getCompilationInfo();
  const msgs = info.messages.map((x) => `${x.type} ${x.lineNum}:${x.linePos} ${x.message}`);
  let ok = !info.messages.some((x) => x.type === 'error');
  if (ok) {
    d.createComputePipeline({ label, layout: 'auto', compute: { module: m, entryPoint: 'main', constants } });
  }
  const err = await d.popErrorScope();
  if (err) {
    ok = false;
    msgs.push(`pipeline: ${err.message}`);
  }
  return { ok, msgs };
}

const PROBE_NEW = `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f16>;
var<workgroup> s: array<f16, 512>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) l: u32) {
  let sg = l / 32u;
  let m = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&a, sg * 256u, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&s, sg * 256u, 16u);
  let c = subgroupMatrixMultiplyAccumulate(m, r, subgroup_matrix_result<f32, 16, 16>());
  subgroupMatrixStore<row_major>(&o, sg * 256u, c, 16u);
}`;

async function probe(rt: GpuRuntime): Promise<void> {
  const variants: [string, string][] = [
    ['template majorness (current)', PROBE_NEW],
    ['bool majorness (old)', toOldSpelling(PROBE_NEW)],
    ['template majorness, no diagnostic(off) (2 subgroups)', PROBE_NEW.replace(/diagnostic[^\n]*\n/, '')],
  ];
  for (const [name, code] of variants) {
    const r = await compiles(rt, name, code);
    console.log(`probe ${name}: ${r.ok ? 'OK' : 'FAILED'}${r.msgs.length ? ` — ${r.msgs.join(' | ')}` : ''}`);
  }
  const code = mmaKernel.code;
  const k = await compiles(rt, 'matmul_mma', code, { SGM: 2, SGN: 4, FM: 4, FN: 2 });
  const k44 = await compiles(rt, 'matmul_mma44', code, { SGM: 2, SGN: 2, FM: 4, FN: 4 });
  console.log(`kernel, current spelling: FN 2 ${k.ok ? 'OK' : 'FAILED'}, FN 4 ${k44.ok ? 'OK' : 'FAILED'}${k.msgs.length ? ` — ${k.msgs.slice(0, 6).join(' | ')}` : ''}${k44.msgs.length ? ` — ${k44.msgs.slice(0, 6).join(' | ')}` : ''}`);
  if (!k.ok) {
    const old = toOldSpelling(code);
    const k2 = await compiles(rt, 'matmul_mma_old', old, { SGM: 2, SGN: 4, FM: 4, FN: 2 });
    console.log(`kernel, old spelling: ${k2.ok ? 'OK' : 'FAILED'}${k2.msgs.length ? ` — ${k2.msgs.slice(0, 6).join(' | ')}` : ''}`);
    if (k2.ok) mmaKernel.code = old;
    else throw new Error('the subgroup-matrix kernel compiles in neither spelling');
  }
}

// The tensor-core ceiling through Dawn: 4 subgroups per workgroup, each 8 independent 16×16×16
// f16→f32 multiply-accumulates per step on fragments held in registers (no memory traffic in the loop).
const PEAK = `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
struct P { iters: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f16>;
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) l: u32) {
  let sg = wid.x * 4u + l / 32u;
  let x = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&a, 0u, 16u);
  let y = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&a, 256u, 16u);
  var c0 = subgroup_matrix_result<f32, 16, 16>();
  var c1 = c0; var c2 = c0; var c3 = c0; var c4 = c0; var c5 = c0; var c6 = c0; var c7 = c0;
  for (var i = 0u; i < p.iters; i++) {
    c0 = subgroupMatrixMultiplyAccumulate(x, y, c0);
    c1 = subgroupMatrixMultiplyAccumulate(x, y, c1);
    c2 = subgroupMatrixMultiplyAccumulate(x, y, c2);
    c3 = subgroupMatrixMultiplyAccumulate(x, y, c3);
    c4 = subgroupMatrixMultiplyAccumulate(x, y, c4);
    c5 = subgroupMatrixMultiplyAccumulate(x, y, c5);
    c6 = subgroupMatrixMultiplyAccumulate(x, y, c6);
    c7 = subgroupMatrixMultiplyAccumulate(x, y, c7);
  }
  let b = sg * 2048u;
  subgroupMatrixStore<row_major>(&o, b, c0, 16u);
  subgroupMatrixStore<row_major>(&o, b + 256u, c1, 16u);
  subgroupMatrixStore<row_major>(&o, b + 512u, c2, 16u);
  subgroupMatrixStore<row_major>(&o, b + 768u, c3, 16u);
  subgroupMatrixStore<row_major>(&o, b + 1024u, c4, 16u);
  subgroupMatrixStore<row_major>(&o, b + 1280u, c5, 16u);
  subgroupMatrixStore<row_major>(&o, b + 1536u, c6, 16u);
  subgroupMatrixStore<row_major>(&o, b + 1792u, c7, 16u);
}`;

async function peak(rt: GpuRuntime): Promise<void> {
  const groups = 132 * 16;
  const iters = 4096;
  const k: KernelSource = { name: 'mma_peak', code: PEAK };
  const a = rt.buffer(1024, 'a');
  fillRandom(rt, a, 256, 5, 0.01, true);
  const o = rt.buffer(groups * 4 * 2048 * 4, 'o');
  const u = new Uint32Array([iters, 0, 0, 0]);
  const record = () => rt.dispatch(rt.pipeline(k), [rt.uniform(u), a, o], [groups], 'peak');
  record();
  await rt.sync();
  const timer = GpuTimer.create(rt, 3)!;
  for (let r = 0; r < 3; r++) timer.time('peak', () => { for (let c = 0; c < 5; c++) record(); });
  const ms = (await timer.collect()).map((s) => s.ms / 5).sort((x, y) => x - y)[1];
  timer.destroy();
  const flop = groups * 4 * 8 * iters * 2 * 16 * 16 * 16;
  console.log(`tensor-core ceiling (register-only 16×16×16 f16→f32 MMAs): ${(flop / ms / 1e9).toFixed(1)} TFLOP/s`);
}

function round16(v: Float32Array): Float32Array {
  return v.map((x) => f16ToF32(f32ToF16(x)));
}

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = (s / 4294967296) * 2 - 1;
    out[i] = v === 0 ? 1e-3 : v;
  }
  return out;
}

interface EdgeCase {
  rows: number;
  inDim: number;
  outDim: number;
  bias?: boolean;
  accumulate?: boolean;
  xStride?: number;
  xOffset?: number;
  yStride?: number;
  yOffset?: number;
  xMag?: number; // X drawn from ±xMag (default 1)
}

const EDGES: EdgeCase[] = [
  { rows: 333, inDim: 200, outDim: 250, bias: true },
  { rows: 77, inDim: 61, outDim: 45, accumulate: true, xStride: 67, xOffset: 5 },
  { rows: 256, inDim: 256, outDim: 256, accumulate: true },
  { rows: 300, inDim: 96, outDim: 384 },
  { rows: 130, inDim: 64, outDim: 100, yStride: 150, yOffset: 20, accumulate: true },
  { rows: 129, inDim: 1040, outDim: 257 },
  { rows: 64, inDim: 96, outDim: 128, accumulate: true, xMag: 3e5 }, // past f16's range: the 2^-4 staging scale
  { rows: 40, inDim: 62, outDim: 70, xStride: 64 }, // 16-byte X loads, partial last group of 4
];

async function edgeCheck(rt: GpuRuntime, cfg: MmaConfig, c: EdgeCase): Promise<string> {
  const xStride = c.xStride ?? c.inDim;
  const xOffset = c.xOffset ?? 0;
  const yStride = c.yStride ?? c.outDim;
  const yOffset = c.yOffset ?? 0;
  const seed = c.rows * 7919 + c.inDim * 31 + c.outDim;
  const xFull = rand(c.rows * xStride, seed).map((v) => v * (c.xMag ?? 1));
  const wv = round16(rand(c.outDim * c.inDim, seed + 1));
  const bv = round16(rand(c.outDim, seed + 2));
  const yInit = c.accumulate ? rand(c.rows * yStride, seed + 3) : new Float32Array(c.rows * yStride).fill(NaN);
  const y = rt.upload(yInit, 'y');
  const args: LinearArgs = {
    x: rt.upload(xFull, 'x'), w: rt.upload(f32ToF16Array(wv), 'w'), y, rows: c.rows, inDim: c.inDim, outDim: c.outDim, wF16: true,
    bias: c.bias ? rt.upload(f32ToF16Array(bv), 'b') : undefined, accumulate: c.accumulate, xStride, xOffset, yStride, yOffset,
  };
  rt.device.pushErrorScope('validation');
  matmulMma(rt, args, cfg);
  rt.submit();
  const err = await rt.device.popErrorScope();
  if (err) return `validation error ${err.message}`;
  const got = await rt.readF32(y, c.rows * yStride);
  const x16 = new Float64Array(c.rows * c.inDim);
  const x32 = new Float64Array(c.rows * c.inDim);
  for (let r = 0; r < c.rows; r++) {
    for (let i = 0; i < c.inDim; i++) {
      const v = xFull[r * xStride + xOffset + i];
      x32[r * c.inDim + i] = v;
      x16[r * c.inDim + i] = f16ToF32(f32ToF16(v / 16)) * 16; // the kernel rounds X·2^-4
    }
  }
  const ref = (x: Float64Array) => cpu.linear(x, wv, c.rows, c.inDim, c.outDim, c.bias ? bv : undefined);
  const w16 = ref(x16);
  const w32 = ref(x32);
  let num16 = 0;
  let num32 = 0;
  let den = 0;
  let maxAbs = 0;
  let outside = 0;
  for (let r = 0; r < c.rows; r++) {
    for (let j = 0; j < yStride; j++) {
      const g = got[r * yStride + j];
      const o = j - yOffset;
      if (o < 0 || o >= c.outDim) {
        const init = yInit[r * yStride + j];
        if (!(Object.is(g, init) || (Number.isNaN(g) && Number.isNaN(init)))) outside++;
        continue;
      }
      const base = c.accumulate ? yInit[r * yStride + j] : 0;
      const a = w16[r * c.outDim + o] + base;
      const b = w32[r * c.outDim + o] + base;
      const d = Number.isNaN(g) ? Infinity : Math.abs(g - a);
      maxAbs = Math.max(maxAbs, d);
      num16 += d * d;
      num32 += (g - b) ** 2;
      den += a * a;
    }
  }
  const rel16 = Math.sqrt(num16 / den);
  const rel32 = Math.sqrt(num32 / den);
  const ok = rel16 < 2e-6 * Math.sqrt(c.inDim) && rel32 < 1e-3 && outside === 0 && Number.isFinite(maxAbs);
  return `${ok ? 'ok  ' : 'FAIL'} relL2 vs f16-rounded-X ref ${rel16.toExponential(2)}, vs f32-X ref ${rel32.toExponential(2)}, max abs ${maxAbs.toExponential(2)}, touched outside ${outside}`;
}

async function main(): Promise<void> {
  const n = Number(arg('--n') ?? 2048);
  const only = arg('--only');
  const cfgs = (arg('--cfg') ?? '2.2.4x4,2.2.4x4.2,2.4.4x4,4.2.4x4,2.4.4x2').split(',').map(parseCfg);
  const adapter = await requestAdapter();
  const info = describeAdapter(adapter);
  const rt = new GpuRuntime(await createDevice(adapter));
  console.log(`adapter: ${info.vendor} ${info.device} ${info.description}; subgroups ${info.limits.subgroupMinSize}-${info.limits.subgroupMaxSize}; subgroupMatrix ${rt.subgroupMatrix}; mmaAvailable ${mmaAvailable(rt)}`);
  const da = (rt.device as GPUDevice & { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
  console.log(`device.adapterInfo subgroup sizes: ${da?.subgroupMinSize}-${da?.subgroupMaxSize}`);
  if (!rt.subgroupMatrix) throw new Error('no subgroup matrices on this adapter');
  await probe(rt);
  await peak(rt);

  for (const cfg of cfgs) {
    for (const c of EDGES) {
      console.log(`check ${cfgName(cfg).padEnd(9)} ${c.rows}×${c.inDim}→${c.outDim}${c.bias ? ' +bias' : ''}${c.accumulate ? ' +=' : ''}${c.xStride ? ` x[${c.xStride},${c.xOffset}]` : ''}${c.yStride ? ` y[${c.yStride},${c.yOffset}]` : ''}${c.xMag ? ` |x|<${c.xMag}` : ''}: ${await edgeCheck(rt, cfg, c)}`);
    }
  }

  for (const [name, inDim, outDim, accumulate] of SHAPES) {
    if (only && !name.includes(only)) continue;
    await benchShape(rt, cfgs, name, inDim, outDim, accumulate, n);
  }
  // Short prompts: where the subgroup-matrix path starts to pay (MMA_MIN_ROWS in ops/matmul.ts).
  if (!only) {
    for (const rows of [32, 64, 128, 256, 512]) {
      await benchShape(rt, cfgs.slice(0, 2), 'GQA gate_up', 1280, 7168, false, rows);
      await benchShape(rt, cfgs.slice(0, 2), 'PLM o_proj', 2048, 2048, true, rows);
    }
  }
}

async function benchShape(rt: GpuRuntime, cfgs: MmaConfig[], name: string, inDim: number, outDim: number, accumulate: boolean, n: number): Promise<void> {
  const flop = 2 * n * inDim * outDim;
  const w = rt.buffer(inDim * outDim * 2, 'w');
  fillRandom(rt, w, (inDim * outDim) / 2, 1, 1 / Math.sqrt(inDim), true);
  const x = rt.buffer(n * inDim * 4, 'x');
  fillRandom(rt, x, n * inDim, 2, 1, false);
  const yRef = rt.buffer(n * outDim * 4, 'yref');
  const y = rt.buffer(n * outDim * 4, 'y');
  // Check rows: the whole output except for the head (1 GB), where the first 256 rows are compared.
  const checkRows = outDim > 20000 ? 256 : n;
  const a = (yb: GPUBuffer, rows: number): LinearArgs => ({ x, w, y: yb, rows, inDim, outDim, wF16: true, accumulate });
  const cells: string[] = [];
  const time = async (label: string, record: () => void, perCall: number): Promise<number> => {
    record();
    await rt.sync();
    const calls = Math.max(20, Math.min(200, Math.ceil(15e-3 / perCall)));
    const timer = GpuTimer.create(rt, REPEATS)!;
    for (let r = 0; r < REPEATS; r++) timer.time(label, () => { for (let c = 0; c < calls; c++) record(); });
    const ms = (await timer.collect()).map((s) => s.ms / calls).sort((p, q) => p - q);
    timer.destroy();
    return ms[Math.floor(ms.length / 2)];
  };
  const ref = async (rows: number): Promise<Float32Array> => {
    fillRandom(rt, yRef, rows * outDim, 3, 1, false);
    matmulF32(rt, a(yRef, rows));
    return rt.readF32(yRef, rows * outDim);
  };
  const want = await ref(checkRows);
  const msOld = await time('old', () => matmulF32(rt, a(yRef, n)), flop / 25e12);
  cells.push(`f32 ${(flop / msOld / 1e9).toFixed(1)}TF ${msOld.toFixed(3)}ms`);
  for (const cfg of cfgs) {
    // Accumulating: the same start as the reference; else another one, so unwritten elements show.
    fillRandom(rt, y, checkRows * outDim, accumulate ? 3 : 4, 1, false);
    matmulMma(rt, a(y, checkRows), cfg);
    const got = await rt.readF32(y, checkRows * outDim);
    let maxD = 0;
    let maxW = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      maxD = Number.isNaN(d) ? Infinity : Math.max(maxD, d);
      maxW = Math.max(maxW, Math.abs(want[i]));
    }
    const ms = await time(cfgName(cfg), () => matmulMma(rt, a(y, n), cfg), flop / 60e12);
    cells.push(`${cfgName(cfg)} ${(flop / ms / 1e9).toFixed(1)}TF err ${(maxD / maxW).toExponential(1)}`);
  }
  // The f32 kernel again after the others: its first timing of a run has read low (5.3 vs 13.3 TF/s).
  const msOld2 = await time('old', () => matmulF32(rt, a(yRef, n)), flop / 25e12);
  cells[0] = `f32 ${(flop / Math.min(msOld, msOld2) / 1e9).toFixed(1)}TF (${(flop / msOld / 1e9).toFixed(1)}, ${(flop / msOld2 / 1e9).toFixed(1)})`;
  console.log(`${name.padEnd(12)} n${n} ${inDim}→${outDim}${accumulate ? ' +=' : ''}: ${cells.join(' | ')}`);
  for (const b of [w, x, yRef, y]) b.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

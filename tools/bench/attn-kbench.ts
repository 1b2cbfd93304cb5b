// Decode-attention microbenchmark: recordAttnDecode (split kernel + combine) for the three attention
// variants of the benchmark models, f16 caches of random values, at several context lengths, timed
// by GPU timestamps (one stamped pass of CALLS back-to-back calls, median over REPEATS passes).
//   node tools/bundle.mjs tools/bench/attn-kbench.ts .device/kbench.mjs
//   source .device/enter.sh && node .device/kbench.mjs [--contexts 128,2048,8192] [--calls 50] [--sweep]
//   [--wide] [--only N] [--parts] [--occupancy] [--mma] [--probe] [--check [--check-only]]
// --check runs the subgroup-matrix MLA kernel (and the other path) on ~30 cases against the float64 CPU
// reference and exits 1 if any exceeds CHECK_TOL; --check-only stops after it. --probe compiles the
// subgroup-matrix builtin spellings this Dawn accepts. --mma sweeps the MLA kernel's plans (subgroups,
// splits, load batches, column tiles) at every context. --calls sets the calls per stamped pass (more:
// finer than the H200's 65.5 µs timestamp tick).
// --sweep also times forced split sizes (splitRows) at the largest context; --wide times the MLA shape with
// each attn_decode_mqa_wide variant (head slots per workgroup) at every context and
// with forced split sizes at the largest; --only N times just variant N (0: MLA); --parts times the split kernel
// and the combine alone (the other dispatch skipped) and, for reference, a vec4<u32> read of the same cache
// bytes and an empty dispatch; --occupancy times N spinning workgroups with S bytes of workgroup memory
// each (the time steps up once N exceeds what the GPU runs at once). A second of GPU work first lets the
// clocks ramp up.
import { createDevice, describeAdapter, requestAdapter, GpuRuntime, type KernelSource, GpuTimer, groupedAttention, keysValuesOfRows, packKv, attnDecodeScratchBytes, attnDecodeUsesMma, attnMmaKernel as mmaKernel, recordAttnDecode, type AttnDecodeShape, f16ToF32Array } from '../../src/main/engine/kernels';
import { arg, relL2 } from './args';

// Calls per stamped pass (--calls): the H100's timestamps tick in 65.5 µs steps, 1.3 µs a call at 50.
const CALLS = Number(arg('--calls') ?? 50);
const REPEATS = 7;

type Variant = Omit<AttnDecodeShape, 't' | 'kv' | 'splitRows'> & { name: string; rowElems: number };

// Cache rows as the engine lays them out (arch/mla.ts, llama.ts, gta.ts): K and V views into one buffer.
const variants: Variant[] = [
  { name: 'PLM-1.8B MLA (16 heads, 576/512)', hq: 16, hk: 1, hv: 1, dk: 576, dv: 512, scale: 1 / Math.sqrt(192), rowElems: 576, kView: { row: 576 }, vView: { row: 576 } },
  { name: 'GQA-1B (20 q / 5 kv heads, 64)', hq: 20, hk: 5, hv: 5, dk: 64, dv: 64, scale: 1 / 8, rowElems: 640, kView: { row: 640 }, vView: { row: 640, off: 320 } },
  { name: 'GTA-1B (5 groups, k 64, latent 128)', hq: 5, hk: 1, hv: 1, dk: 64, dv: 128, scale: 1 / 8, rowElems: 192, kView: { row: 192 }, vView: { row: 192, off: 64 } },
];

// Reads `words` u32 of a buffer as vec4<u32> (grid-stride, 256 threads × 1024 workgroups); writes only
// when an impossible xor turns up, so the read cannot be optimised away.
const readKernel: KernelSource = {
  name: 'attn_kbench_read',
  code: `
@group(0) @binding(0) var<uniform> n4: vec4<u32>;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var x = vec4<u32>(0u);
  for (var i = gid.x; i < n4.x; i += 256u * 1024u) {
    x ^= src[i];
  }
  if (all(x == vec4<u32>(0x9e3779b9u))) {
    sink[0] = x.x;
  }
}`,
};
const emptyKernel: KernelSource = {
  name: 'attn_kbench_empty',
  code: `
@group(0) @binding(0) var<storage, read_write> sink: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) i: u32) {
  if (i == 1000u) {
    sink[0] = 1u;
  }
}`,
};

// Each thread touches the workgroup array (so it is allocated) and runs a dependent FMA chain of n.x steps.
const spinKernel: KernelSource = {
  name: 'attn_kbench_spin',
  code: `
override WORDS: u32 = 1u;
override THREADS: u32 = 128u;
@group(0) @binding(0) var<uniform> n: vec4<u32>;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;
var<workgroup> buf: array<f32, WORDS>;
@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) i: u32) {
  buf[i % WORDS] = f32(i);
  workgroupBarrier();
  var x = buf[(i + 1u) % WORDS];
  for (var k = 0u; k < n.x; k++) {
    x = x * 0.999999 + 0.5;
  }
  if (x == -1.0) {
    sink[0] = x;
  }
}`,
};

function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

async function timeCalls(rt: GpuRuntime, timer: GpuTimer, record: () => void, calls = CALLS): Promise<number> {
  record();
  await rt.sync(); // compile, warm up
  // A pipeline compile idles the GPU long enough for its clocks to drop (an H100 timed kernels up to
  // three times slower right after one): 150 ms of the same calls first.
  const t0 = performance.now();
  while (!rt.software && performance.now() - t0 < 150) {
    for (let i = 0; i < 100; i++) record();
    await rt.sync();
  }
  for (let r = 0; r < REPEATS; r++) {
    timer.time('attn', () => {
      for (let c = 0; c < calls; c++) record();
    });
  }
  const us = (await timer.collect()).map((s) => (s.ms * 1000) / calls).sort((a, b) => a - b);
  return us[Math.floor(us.length / 2)];
}

// --probe: a minimal subgroup-matrix kernel (f16 16×16 left × right → f32, loaded from and stored to
// storage) in the current spelling (majorness as a template argument) and in the deprecated one.
const probeKernel = (current: boolean): string => `
enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(32)
fn main() {
  ${
    current
      ? `let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&a, 0u, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&a, 256u, 16u);
  subgroupMatrixStore<row_major>(&c, 0u, subgroupMatrixMultiplyAccumulate(l, r, subgroup_matrix_result<f32, 16, 16>()), 16u);`
      : `let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&a, 0u, false, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&a, 256u, true, 16u);
  subgroupMatrixStore(&c, 0u, subgroupMatrixMultiplyAccumulate(l, r, subgroup_matrix_result<f32, 16, 16>()), false, 16u);`
  }
}`;

/** The deprecated spelling of attn_decode_mla_mma's loads and stores (majorness as a bool argument). */
function legacySpelling(code: string): string {
  return code
    .replace(/subgroupMatrixLoad<(\w+), (row|col)_major>\(([^,]+), ([^,]+), ([^)]+)\)/g, (_m, t, maj, ptr, off, stride) => `subgroupMatrixLoad<${t}>(${ptr}, ${off}, ${maj === 'col'}, ${stride})`)
    .replace(/subgroupMatrixStore<(row|col)_major>\(([^,]+), ([^,]+), ([^,]+), ([^)]+)\)/g, (_m, maj, ptr, off, val, stride) => `subgroupMatrixStore(${ptr}, ${off}, ${val}, ${maj === 'col'}, ${stride})`);
}

async function compileMessages(rt: GpuRuntime, label: string, code: string): Promise<{ errors: number; text: string }> {
  rt.device.pushErrorScope('validation');
  const m = rt.device.createShaderModule({ label, code });
  const info = await m.getCompilationInfo();
  const err = await rt.device.popErrorScope();
  const msgs = info.messages.map((x) => `${x.type} ${x.lineNum}:${x.linePos} ${x.message}`);
  if (err) msgs.push(`validation: ${err.message}`);
  return { errors: info.messages.filter((x) => x.type === 'error').length + (err ? 1 : 0), text: msgs.join(' | ').slice(0, 1500) || 'clean' };
}

async function probe(rt: GpuRuntime): Promise<void> {
  console.log(`subgroup matrices: ${rt.subgroupMatrix}; features: ${[...rt.device.features].join(', ')}`);
  if (!rt.subgroupMatrix) return;
  const cur = await compileMessages(rt, 'probe-current', probeKernel(true));
  const old = await compileMessages(rt, 'probe-legacy', probeKernel(false));
  console.log(`probe, current spelling (majorness template): ${cur.text}`);
  console.log(`probe, deprecated spelling (bool argument): ${old.text}`);
  let k = await compileMessages(rt, 'mma-current', mmaKernel.code);
  console.log(`attn_decode_mla_mma as written: ${k.text}`);
  if (k.errors > 0 && cur.errors > 0 && old.errors === 0) {
    mmaKernel.code = legacySpelling(mmaKernel.code);
    k = await compileMessages(rt, 'mma-legacy', mmaKernel.code);
    console.log(`attn_decode_mla_mma in the deprecated spelling (used from here on): ${k.text}`);
  }
  await packedLoadProbe(rt);
}

interface CheckCase {
  name: string;
  t: number;
  hq: number;
  dk: number;
  dv: number;
  row: number; // cache row elements (key view: columns 0 .. dk; values: vOff .. vOff + dv)
  vOff: number;
  splitRows?: number;
  cap?: number; // cache rows allocated (≥ t; rows past t are NaN)
  tune?: AttnDecodeShape['mmaTune'];
  /** Queries drawn from ±qMag (default 2): large values make the softmax peaked, where the f16 queries matter most. */
  qMag?: number;
  /** Relative L2 tolerance of this case (default CHECK_TOL). */
  tol?: number;
}

function maxAbs(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

function maxOf(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Relative L2 error above which a --check case fails (measured: ≤ 2.4e-4 for the f16 queries and probabilities). */
const CHECK_TOL = 2e-3;
let checkFailures = 0;

async function checkCase(rt: GpuRuntime, c: CheckCase): Promise<void> {
  const cap = c.cap ?? c.t + 19;
  const seed = c.t * 13 + c.dk + c.hq;
  const q = randomValues(c.hq * c.dk, seed).map((x) => (c.qMag ?? 2) * x);
  const rows = randomValues(cap * c.row, seed + 1);
  rows.fill(NaN, c.t * c.row);
  const words = packKv(rows, 'f16');
  const f16rows = f16ToF32Array(new Uint16Array(words.buffer));
  const { k, v } = keysValuesOfRows(f16rows, c.t, c.row, c.dk, c.vOff, c.dv);
  const scale = 1 / Math.sqrt(c.dk);
  const want = groupedAttention(q, k, v, { n: 1, t: c.t, hq: c.hq, hk: 1, hv: 1, dk: c.dk, dv: c.dv, scale, pos0: c.t - 1 });
  const cache = rt.upload(words, 'cache');
  const shape: AttnDecodeShape = { t: c.t, hq: c.hq, hk: 1, hv: 1, dk: c.dk, dv: c.dv, scale, kv: 'f16', splitRows: c.splitRows, kView: { row: c.row }, vView: { row: c.row, off: c.vOff }, mma: true, mmaTune: c.tune };
  const outs: string[] = [];
  for (const mma of [true, false]) {
    const bufs = {
      q: rt.upload(q, 'q'),
      k: cache,
      v: cache,
      out: rt.upload(new Float32Array(c.hq * c.dv).fill(NaN), 'out'),
      scratch: rt.upload(new Float32Array(attnDecodeScratchBytes(c.hq, c.dv) / 4).fill(NaN), 'scratch'),
    };
    const s = { ...shape, mma }; // true: the subgroup-matrix kernel where it applies
    const used = attnDecodeUsesMma(rt, s, bufs);
    rt.device.pushErrorScope('validation');
    recordAttnDecode(rt, bufs, s);
    rt.submit();
    const err = await rt.device.popErrorScope();
    const got = await rt.readF32(bufs.out, c.hq * c.dv);
    const e = maxAbs(got, want);
    const rel = relL2(got, want);
    const failed = !!err || !(rel <= (c.tol ?? CHECK_TOL));
    if (failed) checkFailures++;
    outs.push(`${failed ? 'FAIL ' : ''}` + `${mma ? 'mma' : 'old'}${used ? '' : ' (mma not taken)'}: max abs ${e.toExponential(2)}, max rel ${(e / maxOf(want)).toExponential(2)}, rel L2 ${relL2(got, want).toExponential(2)}${err ? ` ERROR ${err.message.slice(0, 300)}` : ''}`);
    for (const b of [bufs.q, bufs.out, bufs.scratch]) b.destroy();
  }
  cache.destroy();
  console.log(`check ${c.name.padEnd(52)} ${outs.join('  |  ')}`);
}

/** After --check: how many cases failed; the process exits 1 if any did. */
function checkSummary(): void {
  console.log(checkFailures === 0 ? `check: all cases within rel. L2 ${CHECK_TOL}` : `check: ${checkFailures} FAILED (rel. L2 above ${CHECK_TOL} or a WebGPU error)`);
  if (checkFailures > 0) process.exitCode = 1;
}

async function check(rt: GpuRuntime): Promise<void> {
  const plm = { hq: 16, dk: 576, dv: 512, row: 576, vOff: 0 };
  const cases: CheckCase[] = [
    { name: 'PLM t=8 (t ≤ 16: no mma)', t: 8, ...plm },
    { name: 'PLM t=17 (one split, last tile overlaps)', t: 17, ...plm },
    { name: 'PLM t=128 default plan', t: 128, ...plm },
    { name: 'PLM t=300 splits of 64 (G=4, last 44 rows)', t: 300, ...plm, splitRows: 64 },
    { name: 'PLM t=1000 splits of 48 (G=4, one tile masked)', t: 1000, ...plm, splitRows: 48 },
    { name: 'PLM t=1000 splits of 32 (G=2)', t: 1000, ...plm, splitRows: 32 },
    { name: 'PLM t=2048 default plan', t: 2048, ...plm },
    // Scores of tens of logits: one or a few rows dominate each head. The f16 rounding of q·scale
    // (2^-12 relative) then moves the dominant probabilities most; the f16 model tolerance applies.
    { name: 'PLM t=2048, peaked softmax (|q| < 40)', t: 2048, ...plm, qMag: 40, tol: 1e-2 },
    { name: 'PLM t=8191 default plan', t: 8191, ...plm },
    { name: 'PLM t=4240 default plan (133 splits, two a workgroup, the last one)', t: 4240, ...plm },
    { name: 'PLM t=8200 default plan (257 splits, two a workgroup, the last one)', t: 8200, ...plm },
    { name: 'PLM t=20000 default plan (625 splits, five a workgroup, merged)', t: 20000, ...plm },
    { name: 'GTA-1B shape (5 heads, values past the keys) t=100, staged asked for', t: 100, hq: 5, dk: 64, dv: 128, row: 192, vOff: 64, tune: { staged: true } },
    { name: 'GTA-1B shape t=2500 (32-row splits)', t: 2500, hq: 5, dk: 64, dv: 128, row: 192, vOff: 64 },
    { name: 'GTA-1B shape t=8200 (two splits a workgroup)', t: 8200, hq: 5, dk: 64, dv: 128, row: 192, vOff: 64 },
    { name: '16 heads, keys 64, values 128 at 72 of 200-wide rows, t=333 / 32', t: 333, hq: 16, dk: 64, dv: 128, row: 200, vOff: 72, splitRows: 32 },
    { name: 'PLM t=8192 default plan, cache of 8192 rows', t: 8192, ...plm, cap: 8192 },
    { name: '5 heads, dk 64, dv 48 (stored via smem), t=45 / 32', t: 45, hq: 5, dk: 64, dv: 48, row: 64, vOff: 0, splitRows: 32 },
    { name: '16 heads, dk 96, values at column 16, t=77 / 48', t: 77, hq: 16, dk: 96, dv: 64, row: 112, vOff: 16, splitRows: 48 },
    { name: 'NSG 2: PLM t=8191 default plan', t: 8191, ...plm, tune: { nsg: 2 } },
    { name: 'KB 9 CW 8: PLM t=8191 default plan', t: 8191, ...plm, tune: { kb: 9, cw: 8 } },
    { name: 'NSG 4: PLM t=8191 default plan', t: 8191, ...plm, tune: { nsg: 4 } },
    { name: 'NSG 4 KB 4 CW 4: PLM t=8191 default plan', t: 8191, ...plm, tune: { nsg: 4, kb: 4, cw: 4 } },
    { name: 'NSG 4 KB 4 CW 4: PLM t=300 splits of 48', t: 300, ...plm, splitRows: 48, tune: { nsg: 4, kb: 4, cw: 4 } },
    { name: 'NSG 8: PLM t=8191 default plan', t: 8191, ...plm, tune: { nsg: 8 } },
    { name: 'NSG 8, tiles from the cache (not staged): PLM t=8191', t: 8191, ...plm, tune: { nsg: 8, staged: false } },
    { name: 'NSG 8, not staged: PLM t=128 (G=1)', t: 128, ...plm, tune: { nsg: 8, staged: false } },
    { name: 'NSG 8: PLM t=300 splits of 64 (G=4 < NSG)', t: 300, ...plm, splitRows: 64, tune: { nsg: 8 } },
    { name: 'NSG 8: PLM t=128 (G=1, KP=8, padded k-steps)', t: 128, ...plm, tune: { nsg: 8 } },
    { name: 'NSG 2: PLM t=1000 splits of 64 (G=4, 2 tiles/sg)', t: 1000, ...plm, splitRows: 64, tune: { nsg: 2 } },
    { name: 'NSG 4: PLM t=2000 splits of 128 (G=8, 2 tiles/sg)', t: 2000, ...plm, splitRows: 128 },
    { name: 'NSG 8: 5 heads, dk 64, dv 48, t=45 / 16', t: 45, hq: 5, dk: 64, dv: 48, row: 64, vOff: 0, splitRows: 16, tune: { nsg: 8 } },
    { name: 'NSG 8: 16 heads, dk 96, values at 16, t=77 / 16', t: 77, hq: 16, dk: 96, dv: 64, row: 112, vOff: 16, splitRows: 16, tune: { nsg: 8 } },
    { name: 'NSG 16 (CW 2): PLM t=8191 default plan (G=2, KP=8)', t: 8191, ...plm, tune: { nsg: 16 } },
    { name: 'NSG 16: PLM t=128 (G=1: 8 subgroups)', t: 128, ...plm, tune: { nsg: 16 } },
    { name: 'NSG 16: PLM t=300 splits of 64 (G=4)', t: 300, ...plm, splitRows: 64, tune: { nsg: 16 } },
    { name: 'NSG 16: PLM t=2000 splits of 128 (G=8)', t: 2000, ...plm, splitRows: 128, tune: { nsg: 16 } },
    { name: 'NSG 16: 5 heads, dk 64, dv 48, t=45 / 32', t: 45, hq: 5, dk: 64, dv: 48, row: 64, vOff: 0, splitRows: 32, tune: { nsg: 16 } },
    { name: 'NSG 16 CW 4: 16 heads, dk 96, values at 16, t=77 / 48', t: 77, hq: 16, dk: 96, dv: 64, row: 112, vOff: 16, splitRows: 48, tune: { nsg: 16, cw: 4 } },
  ];
  for (const c of cases) await checkCase(rt, c);
}

// --mma: attn_decode_mla_mma with each subgroup count and split target at every context.
async function mmaSweep(rt: GpuRuntime, timer: GpuTimer, v: Variant, bufs: Parameters<typeof recordAttnDecode>[1], contexts: number[]): Promise<void> {
  const { name: _n, rowElems: _r, ...shape } = v;
  const tunes: NonNullable<AttnDecodeShape['mmaTune']>[] = [
    { nsg: 4, splits: 128, kb: 9, cw: 4 },
    { nsg: 4, splits: 128, kb: 9, cw: 8 },
    { nsg: 4, splits: 128, kb: 4, cw: 4 },
    { nsg: 8, splits: 128, kb: 4, cw: 4 },
  ];
  for (const mmaTune of tunes) {
    const row: string[] = [];
    for (const t of contexts) {
      const s: AttnDecodeShape = { ...shape, t, kv: 'f16', mma: true, mmaTune };
      row.push(`t=${t}: ${attnDecodeUsesMma(rt, s) ? (await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s))).toFixed(1) : '-'}`);
    }
    console.log(`  mma ${JSON.stringify(mmaTune)}: ${row.join('  ')}`);
  }
}

// --probe: may f16 matrices load from u32 words (storage array<u32>, workgroup array<vec4<u32>>), and in
// which units are offset and stride then? A = 16×16 f16 values packed in pairs, times the identity.
const packedProbe = (src: 'storage' | 'workgroup'): string => `
enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> au: array<u32>;
@group(0) @binding(1) var<storage, read> id: array<f16>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
var<workgroup> wv: array<vec4<u32>, 32>;
@compute @workgroup_size(32)
fn main(@builtin(local_invocation_index) i: u32) {
  wv[i] = vec4<u32>(au[4u * i], au[4u * i + 1u], au[4u * i + 2u], au[4u * i + 3u]);
  workgroupBarrier();
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&id, 0u, 16u);
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&${src === 'storage' ? 'au' : 'wv'}, 0u, 16u);
  subgroupMatrixStore<row_major>(&c, 0u, subgroupMatrixMultiplyAccumulate(l, r, subgroup_matrix_result<f32, 16, 16>()), 16u);
}`;

async function packedLoadProbe(rt: GpuRuntime): Promise<void> {
  const a = randomValues(256, 3);
  const words = packKv(a, 'f16');
  const ah = f16ToF32Array(new Uint16Array(words.buffer));
  const idm = new Float32Array(256);
  for (let i = 0; i < 16; i++) idm[i * 17] = 1;
  const au = rt.upload(words, 'au');
  const id = rt.upload(packKv(idm, 'f16'), 'id');
  for (const src of ['storage', 'workgroup'] as const) {
    const code = packedProbe(src);
    const msg = await compileMessages(rt, `packed-${src}`, code);
    if (msg.errors > 0) {
      console.log(`packed f16 load from ${src} u32 words: does not compile: ${msg.text.slice(0, 400)}`);
      continue;
    }
    const c = rt.upload(new Float32Array(256).fill(NaN), 'c');
    rt.device.pushErrorScope('validation');
    rt.dispatch(rt.pipeline({ name: `packed-${src}`, code }), [au, id, c], [1], 'probe');
    rt.submit();
    const err = await rt.device.popErrorScope();
    const got = await rt.readF32(c, 256);
    let bad = 0;
    for (let i = 0; i < 256; i++) if (got[i] !== ah[i]) bad++;
    console.log(`packed f16 load from ${src} u32 words: ${bad === 0 ? 'offset/stride in f16 elements, values right' : `${bad} of 256 differ (first: got ${Array.from(got.slice(0, 4)).map((x) => x.toFixed(3))} want ${Array.from(ah.slice(0, 4)).map((x) => x.toFixed(3))}; row 1: got ${got[16].toFixed(3)} want ${ah[16].toFixed(3)}, word-unit reading would be ${ah[32].toFixed(3)})`}${err ? ` ERROR ${err.message.slice(0, 200)}` : ''}`);
    c.destroy();
  }
  au.destroy();
  id.destroy();
}

async function main(): Promise<void> {
  const adapter = await requestAdapter();
  const info = describeAdapter(adapter);
  const rt = new GpuRuntime(await createDevice(adapter, { label: 'attn-kbench' }));
  const timer = GpuTimer.create(rt, REPEATS);
  if (!timer) throw new Error('this adapter has no timestamp-query: no GPU timings');
  const parts = process.argv.includes('--parts');
  const sink = rt.buffer(16, 'sink');
  const contexts = (arg('--contexts') ?? '128,2048,8192').split(',').map(Number);
  const tMax = Math.max(...contexts);
  console.log(`adapter: ${info.vendor} ${info.device} ${info.description} (${info.architecture}); µs per recordAttnDecode call (split kernel + combine), f16 cache, median of ${REPEATS} passes × ${CALLS} calls`);
  if (process.argv.includes('--probe')) await probe(rt);
  if (process.argv.includes('--check')) {
    await check(rt);
    checkSummary();
  }
  if (process.argv.includes('--check-only')) {
    timer.destroy();
    return;
  }
  const onlyVariant = arg('--only');
  for (const v of onlyVariant === undefined ? variants : [variants[Number(onlyVariant)]]) {
    const cache = rt.upload(packKv(randomValues(tMax * v.rowElems, 7), 'f16'), 'cache');
    const q = rt.upload(randomValues(v.hq * v.dk, 9), 'q');
    const out = rt.buffer(v.hq * v.dv * 4, 'out');
    const scratch = rt.buffer(attnDecodeScratchBytes(v.hq, v.dv), 'scratch');
    const bufs = { q, k: cache, v: cache, out, scratch };
    const { name, rowElems: _r, ...shape } = v;
    if (v === variants[0] || onlyVariant !== undefined) {
      // Clock ramp: about a second of back-to-back attention at the largest context.
      const s: AttnDecodeShape = { ...shape, t: tMax, kv: 'f16' };
      const t0 = performance.now();
      while (performance.now() - t0 < 1500) {
        for (let i = 0; i < 200; i++) recordAttnDecode(rt, bufs, s);
        await rt.sync();
      }
    }
    // With subgroup matrices: the default (attn_decode_mla_mma where it applies) and the kernels without.
    const mmaModes = rt.subgroupMatrix && attnDecodeUsesMma(rt, { ...shape, t: tMax, kv: 'f16', mma: true }) ? [true, false] : [undefined];
    for (const mma of mmaModes) {
      const row: string[] = [];
      for (const t of contexts) {
        const s: AttnDecodeShape = { ...shape, t, kv: 'f16', mma };
        row.push(`t=${t}: ${(await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s))).toFixed(1)}`);
      }
      const tag = mmaModes.length > 1 ? (mma ? ' [mma]' : ' [no mma]') : '';
      console.log(`${(name + tag).padEnd(48)} ${row.join('  ')}`);
    }
    if (mmaModes.length > 1 && process.argv.includes('--mma')) await mmaSweep(rt, timer, v, bufs, contexts);
    for (const mma of parts ? mmaModes : []) {
      // The split kernel alone, the combine alone (over the scratch the last full call left), the read floor.
      const dispatch = rt.dispatch.bind(rt);
      const only = (keep: (label: string) => boolean) => {
        rt.dispatch = (p, b, g, label) => {
          if (keep(label ?? '')) dispatch(p, b, g, label);
        };
      };
      const split: string[] = [];
      for (const t of contexts) {
        const s: AttnDecodeShape = { ...shape, t, kv: 'f16', mma };
        only((l) => l !== 'attn_decode_combine');
        const a = await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s));
        only((l) => l === 'attn_decode_combine');
        const c = await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s));
        rt.dispatch = dispatch;
        const words = (t * v.rowElems) / 2;
        const u = new Uint32Array([Math.floor(words / 4), 0, 0, 0]);
        const pipe = rt.pipeline(readKernel);
        const r = await timeCalls(rt, timer, () => rt.dispatch(pipe, [rt.uniform(u), cache, sink], [1024], 'read'));
        split.push(`t=${t}: split ${a.toFixed(1)} combine ${c.toFixed(1)} read ${r.toFixed(1)}`);
      }
      console.log(`${(mmaModes.length > 1 ? (mma ? '  parts [mma]' : '  parts [no mma]') : '').padEnd(48)} ${split.join('  ')}`);
    }
    if (process.argv.includes('--sweep')) {
      const sweep: string[] = [];
      for (const splitRows of [32, 64, 128, 256]) {
        const s: AttnDecodeShape = { ...shape, t: tMax, kv: 'f16', splitRows };
        sweep.push(`rows/split ${splitRows}: ${(await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s))).toFixed(1)}`);
      }
      console.log(`${''.padEnd(40)} t=${tMax} ${sweep.join('  ')}`);
    }
    if (process.argv.includes('--wide') && v === variants[0]) {
      const tunings: NonNullable<AttnDecodeShape['wide']>[] = [
        { headSlots: 16 },
        { headSlots: 8 },
        { headSlots: 4 },
      ];
      for (const wide of tunings) {
        const row: string[] = [];
        for (const t of contexts) {
          const s: AttnDecodeShape = { ...shape, t, kv: 'f16', wide };
          row.push(`t=${t}: ${(await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s))).toFixed(1)}`);
        }
        for (const splitRows of [32, 64, 128]) {
          const s: AttnDecodeShape = { ...shape, t: tMax, kv: 'f16', wide, splitRows };
          row.push(`${splitRows}/split: ${(await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s))).toFixed(1)}`);
        }
        console.log(`  wide, ${wide.headSlots} head slots: ${row.join('  ')}`);
      }
    }
    for (const b of Object.values(bufs)) b.destroy();
  }
  if (process.argv.includes('--occupancy')) {
    const spin = new Uint32Array([rt.software ? 10 : 4000, 0, 0, 0]);
    const maxKib = rt.device.limits.maxComputeWorkgroupStorageSize / 1024;
    for (const threads of [128, 256]) {
      for (const kib of [0, 8, 18, 28, 40].filter((k) => k < maxKib)) {
        const pipe = rt.pipeline(spinKernel, { WORDS: Math.max(1, (kib * 1024) / 4), THREADS: threads });
        const row: string[] = [];
        for (const n of [132, 264, 528, 1056, 2112]) {
          const us = await timeCalls(rt, timer, () => rt.dispatch(pipe, [rt.uniform(spin), sink], [n], 'spin'), 5);
          row.push(`${n}: ${us.toFixed(1)}`);
        }
        console.log(`spin ${threads} threads, ${kib} KiB: ${row.join('  ')}`);
      }
    }
  }
  if (parts) {
    const pipe = rt.pipeline(emptyKernel);
    console.log(`empty dispatch: ${(await timeCalls(rt, timer, () => rt.dispatch(pipe, [sink], [1], 'empty'))).toFixed(2)} µs`);
  }
  timer.destroy();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

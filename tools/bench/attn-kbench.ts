// Decode-attention microbenchmark: recordAttnDecode (split kernel + combine) for the three attention
// variants of the benchmark models, f16 caches of random values, at several context lengths, timed
// by GPU timestamps (one stamped pass of CALLS back-to-back calls, median over REPEATS passes).
//   node tools/bundle.mjs tools/bench/attn-kbench.ts .device/kbench.mjs
//   source .device/enter.sh && node .device/kbench.mjs [--contexts 128,2048,8192] [--sweep]
// --sweep also times forced split sizes (splitRows) at the largest context; --wide times the MLA shape with
// each attn_decode_mqa_wide variant (head slots per workgroup) at every context and
// with forced split sizes at the largest; --only N times just variant N (0: MLA); --parts times the split kernel
// and the combine alone (the other dispatch skipped) and, for reference, a vec4<u32> read of the same cache
// bytes and an empty dispatch; --occupancy times N spinning workgroups with S bytes of workgroup memory
// each (the time steps up once N exceeds what the GPU runs at once). A second of GPU work first lets the
// clocks ramp up.
import { createDevice, describeAdapter, requestAdapter } from '../../src/main/engine/gpu/device';
import { GpuRuntime, type KernelSource } from '../../src/main/engine/gpu/runtime';
import { GpuTimer } from '../../src/main/engine/gpu/timing';
import { packKv } from '../../src/main/engine/ops/attn_common';
import { attnDecodeScratchBytes, recordAttnDecode, type AttnDecodeShape } from '../../src/main/engine/ops/attn_decode';

const CALLS = 50;
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

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

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
  for (let r = 0; r < REPEATS; r++) {
    timer.time('attn', () => {
      for (let c = 0; c < calls; c++) record();
    });
  }
  const us = (await timer.collect()).map((s) => (s.ms * 1000) / calls).sort((a, b) => a - b);
  return us[Math.floor(us.length / 2)];
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
    const row: string[] = [];
    for (const t of contexts) {
      const s: AttnDecodeShape = { ...shape, t, kv: 'f16' };
      row.push(`t=${t}: ${(await timeCalls(rt, timer, () => recordAttnDecode(rt, bufs, s))).toFixed(1)}`);
    }
    console.log(`${name.padEnd(40)} ${row.join('  ')}`);
    if (parts) {
      // The split kernel alone, the combine alone (over the scratch the last full call left), the read floor.
      const dispatch = rt.dispatch.bind(rt);
      const only = (keep: (label: string) => boolean) => {
        rt.dispatch = (p, b, g, label) => {
          if (keep(label ?? '')) dispatch(p, b, g, label);
        };
      };
      const split: string[] = [];
      for (const t of contexts) {
        const s: AttnDecodeShape = { ...shape, t, kv: 'f16' };
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
      console.log(`${''.padEnd(40)} ${split.join('  ')}`);
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

// attn_decode_mla_mma (absorbed-MLA decode attention on subgroup matrices) vs the float64 CPU reference.
// The kernel runs only where the adapter offers subgroup matrices (NVIDIA through Dawn); lavapipe has
// none, so there its cases are skipped with that reason and only the path choice is checked (a runtime
// stand-in that claims the feature). The kernel is the default for this shape where it runs (faster
// than the kernels without subgroup matrices on the H100, ops/attn_decode.ts); shape.mma: false turns it off. Inputs are random, outputs and scratch are NaN before the kernel
// runs, and the cache holds rows past t that are NaN: a load or a probability that reaches them shows.
import { mmaAvailable } from '../../../src/main/engine/ops/matmul';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupedAttention, keysValuesOfRows } from '../../../src/main/engine/cpu/attention';
import type { GpuRuntime } from '../../../src/main/engine/gpu/runtime';
import { packKv } from '../../../src/main/engine/ops/attn_common';
import { attnDecodeBytes, attnDecodePlanKey, attnDecodeScratchBytes, attnDecodeUsesMma, recordAttnDecode, type AttnDecodeShape } from '../../../src/main/engine/ops/attn_decode';
import { f16ToF32Array } from '../../../src/main/engine/ops/convert';
import { checked, gpuRuntime, maxAbsErr, poisonedF32, randomF32, relL2 } from '../../helpers/gpu';

// f16 queries (q·scale rounded), f16 probabilities and f16 partial outputs, f32 products and sums: about
// 2^-11 relative per term. Measured on an H200 (attn-kbench --check, commit 9661060, these shapes and
// PLM's up to 8192 rows): rel L2 ≤ 3.1e-4, max error ≤ 4.2e-4 of the largest output. A row counted twice or missed among
// 300 moves the output by about 1/300 of a value row: rel L2 ~ 5e-2.
const REL_L2 = 2e-3;
const MAX_REL = 4e-3; // max |error| over max |reference|

interface Case {
  name: string;
  t: number;
  hq: number;
  dk: number;
  dv: number;
  row: number; // cache row elements: keys are columns 0 .. dk, values vOff .. vOff + dv
  vOff: number;
  splitRows?: number;
  mma: boolean; // whether the case must take attn_decode_mla_mma
  tune?: AttnDecodeShape['mmaTune']; // subgroups per workgroup, target splits
}

const plm = { hq: 16, dk: 576, dv: 512, row: 576, vOff: 0 };
const cases: Case[] = [
  { name: 'PLM shape, t=8 (t ≤ 16 keeps the kernels without subgroup matrices)', t: 8, ...plm, mma: false },
  { name: 'PLM shape, t=17: one split, its second tile overlaps the first', t: 17, ...plm, mma: true },
  { name: 'PLM shape, t=100, default plan (16-row splits, last one 4 rows)', t: 100, ...plm, mma: true },
  { name: 'PLM shape, t=300 in splits of 64 (4 tiles; last split 44 rows)', t: 300, ...plm, splitRows: 64, mma: true },
  { name: 'PLM shape, t=611 in splits of 64 (last split 35 rows: 3 tiles of 4)', t: 611, ...plm, splitRows: 64, mma: true },
  { name: 'PLM shape, t=203 in splits of 48 (3 tiles)', t: 203, ...plm, splitRows: 48, mma: true },
  { name: '5 heads, dk 64, dv 48, t=45 in splits of 32 (staged: clamped column tiles)', t: 45, hq: 5, dk: 64, dv: 48, row: 64, vOff: 0, splitRows: 32, mma: true },
  { name: '16 heads, dk 96, values at columns 16 .. 80 of 112-wide rows, t=77 in splits of 48', t: 77, hq: 16, dk: 96, dv: 64, row: 112, vOff: 16, splitRows: 48, mma: true },
  { name: '8 subgroups: PLM shape, t=300 in splits of 64 (4 tiles, two subgroups per tile)', t: 300, ...plm, splitRows: 64, mma: true, tune: { nsg: 8 } },
  { name: '8 subgroups: PLM shape, t=100 in splits of 16 (eight subgroups per tile, padded k-steps)', t: 100, ...plm, splitRows: 16, mma: true, tune: { nsg: 8 } },
  { name: '8 subgroups, tiles from the cache (not staged): PLM shape, t=100 in splits of 32', t: 100, ...plm, splitRows: 32, mma: true, tune: { nsg: 8, staged: false } },
  { name: '8 subgroups, staged rows: PLM shape, t=203 in splits of 32 (last split 11 rows)', t: 203, ...plm, splitRows: 32, mma: true, tune: { nsg: 8, staged: true } },
  { name: 'PLM shape, t=4240, default plan: 133 splits of 32 rows, two a workgroup merged (the last workgroup one)', t: 4240, ...plm, mma: true },
  { name: 'GTA-1B shape (5 heads, keys 64, latent values 128 past them in 192-wide rows), t=100, staged rows asked for', t: 100, hq: 5, dk: 64, dv: 128, row: 192, vOff: 64, mma: true, tune: { staged: true } },
  { name: 'GTA-1B shape, t=100, default plan: the CUDA-core kernels (one-tile splits)', t: 100, hq: 5, dk: 64, dv: 128, row: 192, vOff: 64, mma: false },
  { name: 'GTA-1B shape, t=2500: splits of 32 rows', t: 2500, hq: 5, dk: 64, dv: 128, row: 192, vOff: 64, mma: true },
  { name: 'GTA-1B shape, t=8200: two splits a workgroup', t: 8200, hq: 5, dk: 64, dv: 128, row: 192, vOff: 64, mma: true },
  { name: '16 heads, keys 64, values 128 past them (rows of 200, values at 72), t=333 in splits of 32', t: 333, hq: 16, dk: 64, dv: 128, row: 200, vOff: 72, splitRows: 32, mma: true },
  { name: 'PLM shape, t=8200, default plan: 257 splits, two a workgroup (the last workgroup one)', t: 8200, ...plm, mma: true },
  { name: '2 subgroups: PLM shape, t=611 in splits of 64 (two tiles per subgroup)', t: 611, ...plm, splitRows: 64, mma: true, tune: { nsg: 2 } },
  { name: '4 subgroups: PLM shape, t=700 in splits of 128 (8 tiles, two per subgroup)', t: 700, ...plm, splitRows: 128, mma: true },
  { name: '4 subgroups, batches of 4 k-steps, 4 column tiles a step: PLM shape, t=300 in splits of 48', t: 300, ...plm, splitRows: 48, mma: true, tune: { nsg: 4, kb: 4, cw: 4 } },
  { name: '8 subgroups: 5 heads, dk 96, values at 16, t=77 in splits of 16', t: 77, hq: 5, dk: 96, dv: 64, row: 112, vOff: 16, splitRows: 16, mma: true, tune: { nsg: 8 } },
  { name: '16 subgroups, 2 column tiles a step: PLM shape, t=300 in splits of 64 (4 tiles, four subgroups per tile)', t: 300, ...plm, splitRows: 64, mma: true, tune: { nsg: 16 } },
  { name: '16 subgroups asked, one tile a split: PLM shape, t=100 in splits of 16 (8 subgroups run)', t: 100, ...plm, splitRows: 16, mma: true, tune: { nsg: 16 } },
  { name: '16 subgroups, 4 column tiles a step (clamped): 16 heads, dk 96, values at 16, t=77 in splits of 48', t: 77, hq: 16, dk: 96, dv: 64, row: 112, vOff: 16, splitRows: 48, mma: true, tune: { nsg: 16, cw: 4 } },
];

async function runCase(rt: GpuRuntime, c: Case): Promise<void> {
  const cap = c.t + 21; // rows allocated; those past t are NaN
  const seed = c.t * 13 + c.dk + c.hq;
  const q = randomF32(c.hq * c.dk, seed, -2, 2);
  const rows = randomF32(cap * c.row, seed + 1);
  rows.fill(NaN, c.t * c.row);
  const words = packKv(rows, 'f16');
  const f16rows = f16ToF32Array(new Uint16Array(words.buffer));
  const { k, v } = keysValuesOfRows(f16rows, c.t, c.row, c.dk, c.vOff, c.dv);
  const scale = 1 / Math.sqrt(c.dk);
  const shape: AttnDecodeShape = {
    t: c.t, hq: c.hq, hk: 1, hv: 1, dk: c.dk, dv: c.dv, scale, kv: 'f16', splitRows: c.splitRows,
    kView: { row: c.row }, vView: { row: c.row, off: c.vOff }, mma: true, mmaTune: c.tune,
  };
  const cache = rt.upload(words, 'cache');
  const bufs = {
    q: rt.upload(q, 'q'),
    k: cache,
    v: cache,
    out: poisonedF32(rt, c.hq * c.dv, 'out'),
    scratch: poisonedF32(rt, attnDecodeScratchBytes(c.hq, c.dv) / 4, 'scratch'),
  };
  expect(attnDecodeUsesMma(rt, shape, bufs)).toBe(c.mma);
  await checked(rt, () => recordAttnDecode(rt, bufs, shape));
  const got = await rt.readF32(bufs.out, c.hq * c.dv);
  const want = groupedAttention(q, k, v, { n: 1, t: c.t, hq: c.hq, hk: 1, hv: 1, dk: c.dk, dv: c.dv, scale, pos0: c.t - 1 });
  let peak = 0;
  for (const x of want) peak = Math.max(peak, Math.abs(x));
  expect(relL2(got, want)).toBeLessThan(REL_L2);
  expect(maxAbsErr(got, want) / peak).toBeLessThan(MAX_REL);
  for (const b of [cache, bufs.q, bufs.out, bufs.scratch]) b.destroy();
}

let rt: GpuRuntime;
beforeAll(async () => {
  rt = await gpuRuntime();
});

describe('attn_decode_mla_mma against the CPU reference', () => {
  for (const c of cases) {
    it(c.name, async (ctx) => {
      if (!mmaAvailable(rt)) {
        return ctx.skip('this adapter has no subgroup matrices with 32-lane subgroups (chromium-experimental-subgroup-matrix with shader-f16 and subgroups; lavapipe lacks them), so attn_decode_mla_mma cannot run here; tools/bench/attn-kbench.ts --check runs these cases on the GPU machine');
      }
      await runCase(rt, c);
    });
  }
});

// Where recordAttnDecode takes the kernel: a stand-in runtime that claims subgroup matrices and 32-lane
// subgroups (the choice reads only those and the workgroup-memory limit), so this runs on every adapter. The kernel is the
// default where it applies (ops/attn_decode.ts, MLA_MMA_ON); shape.mma: false turns it off.
describe('attn_decode_mla_mma path choice', () => {
  const device = (min?: number, max?: number) => ({ limits: { maxComputeWorkgroupStorageSize: 48 * 1024, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupSizeX: 1024 }, adapterInfo: { subgroupMinSize: min, subgroupMaxSize: max } });
  const fake = { subgroupMatrix: true, device: device(32, 32) } as unknown as GpuRuntime;
  const mla: AttnDecodeShape = { t: 100, hq: 16, hk: 1, hv: 1, dk: 576, dv: 512, scale: 0.1, kv: 'f16', kView: { row: 576 }, vView: { row: 576 }, mma: true };
  it('takes the absorbed-MLA shape from t = 17 on by default, with f16 caches only', () => {
    expect(attnDecodeUsesMma(fake, { ...mla, t: 16 })).toBe(false);
    expect(attnDecodeUsesMma(fake, { ...mla, t: 17 })).toBe(true);
    expect(attnDecodeUsesMma(fake, { ...mla, t: 8192 })).toBe(true);
    expect(attnDecodeUsesMma(fake, { ...mla, kv: 'f32' })).toBe(false);
    expect(attnDecodeUsesMma(fake, { ...mla, mma: false })).toBe(false);
    expect(attnDecodeUsesMma(fake, { ...mla, mma: undefined })).toBe(true); // on by default
    expect(attnDecodeUsesMma({ ...fake, subgroupMatrix: false } as GpuRuntime, mla)).toBe(false);
    // The kernels' lane arithmetic needs 32-lane subgroups: other or unreported sizes keep the other kernels.
    expect(attnDecodeUsesMma({ subgroupMatrix: true, device: device(64, 64) } as unknown as GpuRuntime, mla)).toBe(false);
    expect(attnDecodeUsesMma({ subgroupMatrix: true, device: device(16, 32) } as unknown as GpuRuntime, mla)).toBe(false);
    expect(attnDecodeUsesMma({ subgroupMatrix: true, device: device() } as unknown as GpuRuntime, mla)).toBe(false);
  });
  it('leaves other shapes to the other kernels', () => {
    expect(attnDecodeUsesMma(fake, { ...mla, hq: 20 })).toBe(false); // more heads than one 16-row tile
    expect(attnDecodeUsesMma(fake, { ...mla, hq: 4, hk: 2, hv: 2, kView: undefined, vView: undefined })).toBe(false); // two key heads
    expect(attnDecodeUsesMma(fake, { ...mla, dk: 584, kView: { row: 584 }, vView: { row: 584 } })).toBe(false); // dk not a multiple of 16
    expect(attnDecodeUsesMma(fake, { ...mla, vView: { row: 576, off: 72 } })).toBe(false); // values past the row's end
    const gta = { ...mla, hq: 5, dk: 64, dv: 128, kView: { row: 192 }, vView: { row: 192, off: 64 } };
    expect(attnDecodeUsesMma(fake, { ...gta, t: 8192 })).toBe(true); // GTA: values past the keys, staged rows, two-tile splits
    expect(attnDecodeUsesMma(fake, gta)).toBe(false); // one-tile splits: the CUDA-core kernels were faster
    expect(attnDecodeUsesMma(fake, { ...gta, mmaTune: { staged: true } })).toBe(true);
    expect(attnDecodeUsesMma(fake, { ...gta, t: 8192, mmaTune: { staged: false } })).toBe(false); // tiles from the cache: values within the keys only
    expect(attnDecodeUsesMma(fake, { ...gta, t: 8192, vView: { row: 192, off: 0 }, kView: { row: 192, off: 64 } })).toBe(false); // values before the keys
    // The same plan for every t of a 16-row bucket (replay), across the switch at 2112 / 2113 rows, and
    // the bytes of whole key ‖ latent rows.
    for (const t of [2097, 2100, 2112, 2113, 2120, 2128, 8193, 8200, 8208]) {
      expect(attnDecodePlanKey(fake, { ...gta, t }), `t = ${t}`).toBe(attnDecodePlanKey(fake, { ...gta, t: Math.ceil(t / 16) * 16 }));
    }
    expect(attnDecodeUsesMma(fake, { ...gta, t: 2112 })).toBe(false);
    expect(attnDecodeUsesMma(fake, { ...gta, t: 2113 })).toBe(true);
    expect(attnDecodeBytes({ ...gta, t: 8195 }, fake)).toBe(8195 * 192 * 2 + 4 * 5 * 64 + 2 * 129 * 5 * (2 * 128 + 16) + 4 * 5 * 128);
    expect(attnDecodeUsesMma(fake, { ...mla, t: 1000, splitRows: 80 })).toBe(true); // 5 tiles: a kernel of 8, 3 masked
    expect(attnDecodeUsesMma(fake, { ...mla, t: 1000, splitRows: 144 })).toBe(false); // 9 tiles: a kernel of 16, over the cap of 8
    expect(attnDecodeUsesMma(fake, { ...mla, t: 32769 })).toBe(true); // staged: any length, several splits a workgroup
    const off = { staged: false } as const;
    expect(attnDecodeUsesMma(fake, { ...mla, t: 32768, mmaTune: off })).toBe(true); // 256 splits of 8 tiles
    expect(attnDecodeUsesMma(fake, { ...mla, t: 32769, mmaTune: off })).toBe(false); // 256 splits would take 9 tiles each
  });
  it('stages the rows in workgroup memory: splits of one tile up to 132, then of two, at most 132 workgroups', () => {
    const key = (x: Partial<AttnDecodeShape>) => JSON.parse(attnDecodePlanKey(fake, { ...mla, mma: undefined, ...x })) as { cfg: { staged: boolean; g: number; spw: number }; splits: number };
    expect(key({ t: 128 })).toMatchObject({ cfg: { staged: true, g: 1, spw: 1 }, splits: 8 });
    expect(key({ t: 2112 })).toMatchObject({ cfg: { staged: true, g: 1 }, splits: 132 });
    expect(key({ t: 2113 })).toMatchObject({ cfg: { staged: true, g: 2 }, splits: 67 });
    expect(key({ t: 4240 })).toMatchObject({ cfg: { staged: true, g: 2, spw: 2 }, splits: 133 }); // 67 workgroups
    expect(key({ t: 8195 })).toMatchObject({ cfg: { staged: true, g: 2, spw: 2 }, splits: 257 }); // 129 workgroups
    expect(key({ t: 40000 }).cfg).toMatchObject({ staged: true, g: 2, spw: 10 });
    expect(key({ t: 8192, mmaTune: { staged: false } }).cfg).toMatchObject({ staged: false, g: 2, spw: 1 });
    expect(key({ t: 8192, mmaTune: { nsg: 4 } }).cfg.staged).toBe(false); // 128 threads
    expect(key({ t: 300, splitRows: 64 }).cfg.staged).toBe(false); // four tiles
    expect(() => key({ t: 300, mmaTune: { staged: true, nsg: 4 } })).toThrow(/staged rows with 8 subgroups/);
    expect(() => key({ t: 300, splitRows: 64, mmaTune: { staged: true } })).toThrow(/staged rows were asked for a plan they do not take/);
    // Bytes: the partials of the workgroups, not of the splits.
    expect(attnDecodeBytes({ ...mla, t: 8195 }, fake)).toBe(8195 * 576 * 2 + 4 * 16 * 576 + 2 * 129 * 16 * (2 * 512 + 16) + 4 * 16 * 512);
  });
  it('depends on t only through ceil(t / 16) (replay), and the byte count follows the path', () => {
    // The whole plan (kernel, variant, rows per split, split count), not just the choice of kernel.
    for (const t of [...Array.from({ length: 384 }, (_, i) => 17 + i), ...Array.from({ length: 100 }, (_, i) => 8100 + i), 32767]) {
      expect(attnDecodePlanKey(fake, { ...mla, t, mma: undefined }), `t = ${t}`).toBe(attnDecodePlanKey(fake, { ...mla, t: Math.ceil(t / 16) * 16, mma: undefined }));
    }
    expect(attnDecodePlanKey(fake, { ...mla, t: 8192, mma: undefined })).toContain('"kind":"mla_mma"');
    // The subgroup-matrix kernel reads each latent row once (values are its columns): 64 splits here.
    const s = { ...mla, t: 4096, splitRows: 64 };
    expect(attnDecodeBytes(s, fake)).toBe(4096 * 576 * 2 + 4 * 16 * 576 + 2 * 64 * 16 * (2 * 512 + 16) + 4 * 16 * 512); // f16 partials
    expect(attnDecodeBytes(s)).toBe(attnDecodeBytes({ ...s, mma: false }, fake)); // no runtime: the other kernels
    expect(attnDecodeBytes({ ...mla, t: 8 }, fake)).toBe(attnDecodeBytes({ ...mla, t: 8 }));
  });
});

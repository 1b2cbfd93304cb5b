// Op: one-token attention over a long cache, flash-decoding with split-K (kernels/attn_decode.wgsl) and
// the merge of the splits (kernels/attn_decode_combine.wgsl); one key/value head with keys and values in
// the same rows (absorbed MLA; GTA and other one-KV-head models past 2112 rows) takes
// kernels/attn_decode_mla_mma.wgsl (tensor cores) where the device has subgroup matrices and the cache is
// f16 (see MLA_MMA_ON), else kernels/attn_decode_mqa_wide.wgsl or attn_decode.wgsl; same merge. Same shapes and
// cache views as prefill with n = 1 and pos0 = t − 1: the new token's K/V must already be appended at row t − 1.
import code from '../../../../kernels/attn_decode.wgsl?raw';
import combineCode from '../../../../kernels/attn_decode_combine.wgsl?raw';
import mmaCode from '../../../../kernels/attn_decode_mla_mma.wgsl?raw';
import wideCode from '../../../../kernels/attn_decode_mqa_wide.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { kvBytesPerElement, packUniform, shapeError } from './attn_common';
import { attnParams, type AttnShape } from './attn_prefill';
import { mmaAvailable } from './matmul';

const kernel: KernelSource = { name: 'attn_decode', code };
const combine: KernelSource = { name: 'attn_decode_combine', code: combineCode };
const wideKernel: KernelSource = { name: 'attn_decode_mqa_wide', code: wideCode };
/** attn_decode_mla_mma.wgsl (exported for attn-kbench's builtin-spelling probe). */
export const mmaKernel: KernelSource = { name: 'attn_decode_mla_mma', code: mmaCode };
/** Upper bound on splits; the scratch buffer is sized for it (and the combine's weight table). */
export const MAX_SPLITS = 256;
// Splits are whole multiples of 16 rows: with tiles of 32 rows that would break replay (the plan may
// depend on t only through ceil(t / 16)), a split of 16 rows runs a half-empty tile instead; longer
// splits are rounded to whole tiles.
const SPLIT_ROWS = 16;
const COMBINE_COLS = 64; // value columns per combine workgroup (32 pairs)
// Workgroup memory a kernel variant may take: lavapipe offers 32 KiB, NVIDIA 48 KiB; leaving room keeps
// several workgroups resident per SM.
const SMEM_BUDGET = 28 * 1024;

// attn_decode.wgsl: 128 threads; its named per-thread registers: 12 key and 8 value words of a tile,
// two score slots, four P·V sums.
const WG = 128;
const MAX_WK = 12;
const MAX_WV = 8;
const MAX_SLOTS = 2;
const MAX_SUMS = 4;
const MAX_GB = 16;
// Workgroups to aim for (split × unit × block), capped by MAX_SPLITS and one 16-row unit per split. On
// the H200 at 8192 rows GQA-1B (5 units) ran 32.8 µs with 256 splits of 32 rows against 34.1 with 128 of
// 64 and 39 with 64 of 128 (attn-kbench --sweep, split kernel + combine, two runs alike): short splits,
// many workgroups. Workgroup memory, not registers, caps how many run at once per SM there (see
// WIDE_TARGET_SPLITS), so many small workgroups beat a few long ones.
const TARGET_WORKGROUPS = 1280;

// attn_decode_mqa_wide.wgsl: one key/value head for all (≤ 16) query heads, 256 threads (16 lanes per
// head for the scores, one value column pair per thread for P·V). It takes value widths from
// WIDE_MIN_DV up, where attn_decode would re-read the rows per head block with few heads per block.
const WIDE_WG = 256;
const WIDE_LANES = 16;
const WIDE_MAX_HEADS = 16;
const WIDE_MAX_DK = 4 * 9 * WIDE_LANES; // 9 query slots of 4 elements per lane and head in registers
const WIDE_MAX_DV = 2 * WIDE_WG;
const WIDE_MIN_DV = 256;
// Splits for the wide kernel. Dawn's Vulkan pipelines on the H200 get about 48 KiB of workgroup memory
// per SM (attn-kbench --occupancy: 128- or 256-thread workgroups holding 28 KiB run one per SM, 18 KiB
// two, 8 KiB about four), so the kernel (28 KiB for PLM-1.8B) runs one workgroup per SM; each split also
// writes H·DV·4 bytes of partials (32 KiB for PLM-1.8B) that the combine reads back. H200, 8192 rows,
// split kernel + combine: 128 splits of 64 rows 36.7 µs, 256 of 32 40.6, 64 of 128 60.3.
const WIDE_TARGET_SPLITS = 160;
// Head slots per workgroup (16, 8 or 4; a split runs ceil(hq / slots) workgroups, each staging the
// rows). PLM-1.8B at 8192 rows: 16 slots 36.7 µs, 8 slots 53.7, 4 slots 85.2 (the same H200 run).
const WIDE_HEAD_SLOTS = 16;

export interface AttnDecodeShape extends Omit<AttnShape, 'n' | 'pos0'> {
  t: number; // cache rows attended, including the new token's own (= its position + 1)
  /** Rows per split (rounded up to 16, and to whole tiles above one tile); by default chosen to fill the GPU. Tests use it to force splits. */
  splitRows?: number;
  /** attn_decode_mqa_wide's head slots per workgroup, forced (tests, attn-kbench). */
  wide?: { headSlots?: 4 | 8 | 16 };
  /** attn_decode_mla_mma where it applies (true, the default: MLA_MMA_ON), or never (false). Tests and attn-kbench. */
  mma?: boolean;
  /** attn_decode_mla_mma's subgroups per workgroup, target splits, most k-steps per load batch, column tiles per P·V step, forced (tests, attn-kbench). */
  mmaTune?: { nsg?: 2 | 4 | 8 | 16; splits?: number; kb?: number; cw?: 2 | 4 | 8; staged?: boolean };
}

export interface AttnDecodeBuffers {
  q: GPUBuffer; // [hq, dk] f32
  k: GPUBuffer; // key cache, array<u32> in `kv` format
  v: GPUBuffer; // value cache (may be k's buffer: MLA latent)
  out: GPUBuffer; // [hq, dv] f32
  scratch: GPUBuffer; // attnDecodeScratchBytes(hq, dv) bytes, reused across calls and layers
}

/** Bytes of the split partials for `hq` heads of width `dv`. */
export function attnDecodeScratchBytes(hq: number, dv: number): number {
  return MAX_SPLITS * hq * (dv + 2) * 4;
}

interface DeviceLimits {
  smem: number; // workgroup memory, bytes
  threads: number; // invocations per workgroup
}
const deviceLimits = new WeakMap<GpuRuntime, DeviceLimits>();

/** The device's workgroup limits (device.limits is rebuilt on every read through the binding: cached). */
function limitsOf(rt: GpuRuntime): DeviceLimits {
  let d = deviceLimits.get(rt);
  if (d === undefined) {
    const l = rt.device.limits;
    d = { smem: l.maxComputeWorkgroupStorageSize, threads: Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX) };
    deviceLimits.set(rt, d);
  }
  return d;
}

/** Workgroup bytes a variant of the CUDA-core kernels may use on this device. */
function smemBudget(rt: GpuRuntime): number {
  return Math.min(SMEM_BUDGET, limitsOf(rt).smem);
}

/** Rows per split, a multiple of 16 (of `bk` too from one tile up), from ceil(t/16) only (replay). */
function splitChunk(s: AttnDecodeShape, bk: number, parallel: number, target: number): number {
  const t16 = Math.ceil(s.t / SPLIT_ROWS);
  let units: number;
  if (s.splitRows !== undefined) units = Math.ceil(s.splitRows / SPLIT_ROWS);
  else units = Math.ceil(t16 / Math.max(1, Math.min(t16, Math.ceil(target / parallel))));
  units = Math.max(units, Math.ceil(t16 / MAX_SPLITS));
  let chunk = units * SPLIT_ROWS;
  if (chunk > bk) chunk = Math.ceil(chunk / bk) * bk;
  return chunk;
}

interface Config {
  gb: number; // heads per workgroup
  blocks: number; // head blocks per unit
  bk: number;
  ks2: number;
  slots: number;
  cw: number;
  hs: number;
  gpt: number;
  cpt: number;
  nwk: number; // cache words per thread per tile
  nwv: number;
}

const oddUp = (x: number): number => (x % 2 === 1 ? x : x + 1);

/** attn_decode.wgsl's variant for a shape: the most heads per workgroup, then the largest tile, that fit. */
function config(s: AttnDecodeShape, gu: number, budget: number): Config {
  const dv2 = s.dv / 2;
  const ks2 = oddUp(s.dk / 2);
  const wordElems = s.kv === 'f16' ? 2 : 1;
  for (let blocks = Math.ceil(gu / MAX_GB); blocks <= gu; blocks++) {
    const gb = Math.ceil(gu / blocks);
    for (const bk of [32, 16, 8, 4]) {
      const smem = (gb * ks2 + bk * ks2 + bk * dv2) * 8 + (2 * gb * bk + gb) * 4;
      const slots = Math.ceil((gb * bk) / WG);
      const nwk = Math.ceil((bk * s.dk) / wordElems / WG);
      const nwv = Math.ceil((bk * s.dv) / wordElems / WG);
      const cw = Math.min(dv2, WG);
      const hs = Math.floor(WG / cw);
      const gpt = Math.ceil(gb / hs);
      const cpt = Math.ceil(dv2 / cw);
      if (smem <= budget && slots <= MAX_SLOTS && nwk <= MAX_WK && nwv <= MAX_WV && gpt * cpt <= MAX_SUMS) {
        return { gb, blocks: Math.ceil(gu / gb), bk, ks2, slots, cw, hs, gpt, cpt, nwk, nwv };
      }
    }
  }
  throw shapeError('attn_decode', `no kernel variant fits keys ${s.dk} wide and values ${s.dv} wide in ${budget} bytes of workgroup memory`);
}

interface WideConfig {
  bk: number;
  sharedV: boolean;
  vo: number; // value offset within the key row (elements), when sharedV
  nwk: number; // cache words per thread per tile
  nwv: number;
  hsl: number; // head slots per workgroup
  nhb: number; // workgroups per split
}

/** Workgroup bytes of an attn_decode_mqa_wide variant. */
function wideSmem(s: AttnDecodeShape, bk: number, hsl: number, sharedV: boolean): number {
  const ks = bk * Math.ceil(s.dk / 4) * 16;
  const vs = (sharedV ? 1 : (bk * s.dv) / 2) * 8;
  return ks + vs + (hsl * bk * (WIDE_LANES + 1) + 2 * hsl * bk + hsl) * 4;
}

/** The wide kernel's variant, or null when the shape is not one it takes or does not fit the device. */
function wideConfig(s: AttnDecodeShape, b: AttnDecodeBuffers | null, a: ReturnType<typeof attnParams>, budget: number): WideConfig | null {
  if (a.units !== 1 || s.hq > WIDE_MAX_HEADS || s.dv < WIDE_MIN_DV || s.dv > WIDE_MAX_DV || s.dk > WIDE_MAX_DK) return null;
  // Values that are columns of the key rows (same buffer, row stride, within the key's columns) are
  // staged once, with the keys. Without buffers (byte counts) the views alone decide.
  const sharedV = (b === null || b.k === b.v) && a.vRow === a.kRow && a.vOff >= a.kOff && a.vOff + s.dv <= a.kOff + s.dk;
  const wordElems = s.kv === 'f16' ? 2 : 1;
  // Head slots: as asked, but no more than the heads need (3 heads take 4 slots); more where the tile
  // that the asked number's row groups need (8 rows for 4 slots) does not fit.
  const first = Math.min(s.wide?.headSlots ?? WIDE_HEAD_SLOTS, s.hq <= 4 ? 4 : s.hq <= 8 ? 8 : 16);
  for (const hsl of [4, 8, 16].filter((x) => x >= first)) {
    for (const bk of [8, 4]) {
      if (bk % (32 / hsl) !== 0) continue; // row groups of the scores: 2, 4 or 8
      const nwk = Math.ceil((bk * s.dk) / wordElems / WIDE_WG);
      const nwv = sharedV ? 0 : Math.ceil((bk * s.dv) / wordElems / WIDE_WG);
      if (wideSmem(s, bk, hsl, sharedV) <= budget && nwk <= MAX_WK && nwv <= MAX_WV) {
        return { bk, sharedV, vo: sharedV ? a.vOff - a.kOff : 0, nwk, nwv, hsl, nhb: Math.ceil(s.hq / hsl) };
      }
    }
  }
  return null;
}

function recordWide(rt: GpuRuntime, b: AttnDecodeBuffers, s: AttnDecodeShape, a: ReturnType<typeof attnParams>, w: WideConfig, chunk: number): number {
  const splits = Math.ceil(s.t / chunk);
  const u = rt.uniform(
    packUniform(
      { t: s.t, chunk, hq: s.hq, kRow: a.kRow, kOff: a.kOff, vRow: a.vRow, vOff: a.vOff, scale: s.scale, nSplits: splits, bk: w.bk },
      ['scale'],
    ),
  );
  const pipe = rt.pipeline(wideKernel, {
    KV_F16: s.kv === 'f16' ? 1 : 0, H: s.hq, HSL: w.hsl, DK: s.dk, DV: s.dv, BK: w.bk,
    SHARED_V: w.sharedV ? 1 : 0, VO: w.vo, VS_LEN: w.sharedV ? 1 : (w.bk * s.dv) / 2, NWK: w.nwk, NWV: w.nwv,
    UNROLL: rt.software ? 0 : 1,
  });
  rt.dispatch(pipe, [u, b.q, b.k, b.v, b.scratch], [splits * w.nhb], 'attn_decode_mqa_wide');
  return splits;
}

// attn_decode_mla_mma.wgsl: tensor cores through WGSL subgroup matrices (f16 × f16 → f32, 16×16×16),
// NSG subgroups of 32 lanes per workgroup, splits of G tiles of 16 rows. Two plans:
// - staged (stagedPlan; the default where it applies, which is every context for PLM-1.8B): 8
//   subgroups, splits of one tile while there are at most MMA_WGS of them, else of two tiles,
//   ceil(splits / MMA_WGS) consecutive ones a workgroup merged into one partial: one wave of
//   workgroups at any context length;
// - otherwise one workgroup per split of G tiles (G a power of two ≤ min(2·NSG, MMA_MAX_G = 8); with
//   MMA_TARGET_SPLITS = 256 that is t ≤ 32768, longer contexts keep the other kernels), tiles loaded
//   straight from the cache.
// It takes one key/value head for ≤ 16 query heads with keys and values in the same rows of an f16
// cache: absorbed MLA (values a column range of the key) and, staged from two-tile splits on, GTA (values
// past the key: GTA-1B's key ‖ latent rows); key and value widths multiples of 16, 16-byte aligned rows and offsets,
// and t > 16: a tile starts at min(its first row, t − 16) so that no load passes row t − 1 (no cache
// padding needed); t ≤ 16 is ceil(t / 16) = 1, one replay bucket, and keeps the other kernels.
//
// The default where it applies (shape.mma = false turns it off): faster than attn_decode_mqa_wide at
// every context measured (H100, attn-kbench --mma, split kernel + combine, PLM-1.8B: 10.8 / 12.1 / 14.7 /
// 20.3 µs at 128 / 2048 / 4096 / 8192 rows against 12.8 / 14.7 / 19.0 / 27.5, first version).
// Plans were chosen in the whole model, not in attn-kbench, which replays one layer's cache from L2.
// PLM-1.8B, bench --ablate, H100, GPU ms of decode attention + combine per token (32 layers) at 128 /
// 8192 context, each variant a bundle of its own, timed one after the other on the same machine
// (docs/benchmarks.md has the tables, docs/bench-logs/ the runs). Note: bench's timed steps at context
// C run at t = C + 3 .. C + 66, so "8192" is t = 8195-8258: ceil(t / 16) = 513-517, which the
// unstaged plan with 256 target splits serves with 171-173 splits of 48 rows (kernels of 4 tiles),
// not 256 of 32 — true of every unstaged figure below.
//   2026-11-26 morning: 256 target splits 0.373 / 0.803 against 128 splits 0.381 / 1.050 and
//   attn_decode_mqa_wide 0.439 / 1.044; 8 subgroups 0.386 / 0.731 against 0.388 / 0.80 for 4.
//   2026-11-26 afternoon, from 0.38 / 0.719-0.732 (f32 partials, K as the right operand loaded
//   column-major, V prefetched a row tile ahead): f16 partials 0.387 / 0.703-0.721; K as the left operand
//   loaded row-major 0.386 / 0.705-0.711; no second key batch when one batch holds all k-steps 0.383 /
//   0.698; no V prefetch during the products 0.379-0.393 / 0.676-0.694 (all four kept).
//   Measured and left out: 512 target splits 0.389 / 0.841 (partials outgrow the saving); 16 subgroups
//   (CW 2) 0.375 / 0.690; 4 subgroups 0.398 / 0.792; two splits a workgroup one after another, the next
//   split's keys loading during this one's softmax 0.386 / 0.691 (four: 1.18); queries read as fragments
//   from an f16 copy in global memory instead of staged (workgroup memory 29 → 10.5 KiB) 0.382 / 0.855;
//   the staged queries' memory reused for the scores (20 KiB) 0.411 / 0.723 (4 subgroups 0.423 / 0.830,
//   2 subgroups 0.504 / 0.953); P·V accumulated in f16 straight into the partials 0.361-0.366 /
//   0.674-0.682; load batches of at most 3 or 5 k-steps 0.408 / 0.726, 0.392 / 0.777; eight loads in
//   flight in the combine: no change; the combine reading eight f16 columns a split per thread
//   0.400-0.412 / 0.677-0.694.
//   2026-11-26 evening, from 0.376-0.401 / 0.680-0.696 (the unstaged kernel): the staged plan 0.342-0.350 /
//   0.542-0.555 (2048: 0.440-0.452 against 0.478; 4096: 0.472-0.474 against 0.545). Within it: at most 66
//   workgroups 0.340 / 0.617; the splits spread evenly over 132 workgroups (at 4224: 133-135 splits,
//   one or two a workgroup, against two each in 67-68) 0.541 against 0.480 at 4224, 0.545 against
//   0.532 at 6400, the same at 8192. Left out along the way (unstaged
//   plan at 8192): f32 partials stored straight from the accumulators 0.373 / 0.707-0.710; the cache
//   rows read into the L2 beforehand by extra workgroups of the layer's first GEMV (cost 0.083 ms) or
//   of the q absorption (0.11 ms): attention at best 0.646, a loss in the step.
// Accuracy against the float64 reference (attn-kbench --check, H100, 4f79ea9, 39 cases): rel L2 ≤ 3.3e-4
// (f16 queries, probabilities and partials), including t = 8191 (two splits a workgroup), 4240 and 8200
// (the last workgroup one split), 20000 (five) and GTA's shape; peaked softmax (|q| < 40) 8.7e-4.
const MLA_MMA_ON = true;
const MMA_MAX_HEADS = 16;
const MMA_NSG: 2 | 4 | 8 | 16 = 8;
/** Most tiles of 16 rows per split: G = 16 (8 subgroups past 32768 rows) was never checked on a GPU. */
const MMA_MAX_G = 8;
const MMA_TARGET_SPLITS = 256;
// Most k-steps per load batch (named fragments in the kernel: ≤ 9).
const MMA_KB = 9;
const MMA_CW = 4;
const MMA_STAGED = true;
// Staged: most workgroups, one wave on an H100 or H200 (132 SMs; workgroups holding 28 KiB or more of
// workgroup memory ran one a SM in attn-kbench --occupancy, see WIDE_TARGET_SPLITS; this kernel holds
// 31 KiB with one-tile splits, 47 KiB with two for PLM; 17 / 23 KiB for GTA-1B, where 132 was kept
// without trying more). 66 measured slower for PLM at 4096-8192 rows (above).
const MMA_WGS = 132;

interface MlaMmaPlan {
  g: number; // tiles of 16 rows per split (kernel), ≥ chunk / 16
  nsg: number;
  kb: number; // k-steps per load batch
  ksp: number; // k-steps per subgroup
  cw: number; // column tiles per P·V step (2, 4 or 8)
  staged: boolean; // the split's rows read into workgroup memory first (STAGED)
  spw: number; // splits a workgroup (staged: merged into one partial), else 1
  rw: number; // elements a row from the key's first column through the keys and values (staged: what is staged)
  chunk: number;
}


/** Workgroup bytes of attn_decode_mla_mma (qs, ss, ps, linv, mh, lh) with KP parts of the key width. */
function mmaSmem(c: Omit<MlaMmaPlan, 'chunk'>): number {
  const kp = c.nsg / Math.min(c.g, c.nsg);
  let qs = 16 * ((16 * kp * c.ksp) / 8 + 1); // 16-byte entries
  if (c.staged) qs = Math.max(qs, 16 * c.g * (c.rw / 8 + 1));
  return qs * 16 + kp * 16 * (16 * c.g + 4) * 4 + 16 * (16 * c.g + 8) * 2 + 3 * 16 * 4;
}

/**
 * Whether the shape (and buffers, when given) is one attn_decode_mla_mma takes, t aside: keys and
 * values in the same rows of one buffer, values from the key's first column on (a column range of the
 * key: MLA's latent; or past it: GTA's key ‖ latent rows, staged plan only).
 */
function mmaShapeOk(s: AttnDecodeShape, b: AttnDecodeBuffers | null, a: ReturnType<typeof attnParams>): boolean {
  if (s.kv !== 'f16' || !(s.mma ?? MLA_MMA_ON)) return false;
  if (a.units !== 1 || s.hq > MMA_MAX_HEADS || s.dk % 16 !== 0 || s.dv % 16 !== 0) return false;
  const sharedRows = (b === null || b.k === b.v) && a.vRow === a.kRow && a.vOff >= a.kOff && a.vOff + s.dv <= a.vRow && a.kOff + s.dk <= a.kRow;
  return sharedRows && a.kRow % 8 === 0 && a.kOff % 8 === 0 && a.vOff % 8 === 0;
}

/** Whether the forced options leave the staged plan possible: 8 subgroups, its own load batch, split count and 4 column tiles. */
function stageableTune(t: AttnDecodeShape['mmaTune']): boolean {
  return (t?.nsg ?? MMA_NSG) === 8 && t?.kb === undefined && (t?.cw ?? 4) === 4 && t?.splits === undefined;
}

/** The forced options the kernel has code for (tests and attn-kbench set them; the types alone do not stop a cast). */
function checkMmaTune(t: AttnDecodeShape['mmaTune']): void {
  if (!t) return;
  const bad = (what: string, v: unknown, ok: string): never => {
    throw shapeError('attn_decode_mla_mma', `mmaTune.${what} is ${String(v)}; the kernel has code for ${ok}`);
  };
  if (t.nsg !== undefined && ![2, 4, 8, 16].includes(t.nsg)) bad('nsg', t.nsg, '2, 4, 8 or 16 subgroups');
  if (t.cw !== undefined && ![2, 4, 8].includes(t.cw)) bad('cw', t.cw, '2, 4 or 8 column tiles a step');
  if (t.kb !== undefined && !(Number.isInteger(t.kb) && t.kb >= 1 && t.kb <= MMA_KB)) bad('kb', t.kb, `1 to ${MMA_KB} k-steps a load batch`);
  if (t.splits !== undefined && !(Number.isInteger(t.splits) && t.splits >= 1)) bad('splits', t.splits, 'a whole number of target splits ≥ 1');
  if (t.staged && !stageableTune(t)) {
    bad('staged', t.staged, 'staged rows with 8 subgroups, one load batch and 4 column tiles (no kb, cw 4, no splits)');
  }
}

/** attn_decode_mla_mma's plan, or null where it does not apply (depends on t only through ceil(t / 16)). */
function mlaMmaPlan(subgroupMatrix: boolean, s: AttnDecodeShape, b: AttnDecodeBuffers | null, a: ReturnType<typeof attnParams>, lim: DeviceLimits): MlaMmaPlan | null {
  if (!subgroupMatrix || s.t <= SPLIT_ROWS || !mmaShapeOk(s, b, a)) return null;
  checkMmaTune(s.mmaTune);
  // Elements a row from the key's first column to the end of the key or of the values.
  const rw = Math.max(s.dk, a.vOff - a.kOff + s.dv);
  if (s.mmaTune?.staged ?? MMA_STAGED) {
    const st = stagedPlan(s, lim, rw);
    if (st) return st;
    if (s.mmaTune?.staged) throw shapeError('attn_decode_mla_mma', 'staged rows were asked for a plan they do not take: splits of at most 2 tiles (splitRows ≤ 32), values ≤ 512 wide, rows of at most nine 16-byte loads a lane');
  }
  if (rw > s.dk) return null; // values past the key's columns: staged only
  let chunk = splitChunk(s, SPLIT_ROWS, 1, s.mmaTune?.splits ?? MMA_TARGET_SPLITS);
  let g = 1;
  while (g < chunk / SPLIT_ROWS) g *= 2;
  if (s.splitRows === undefined) chunk = g * SPLIT_ROWS; // whole kernel tiles (fewer splits, same bound)
  // Subgroups: as asked, but the softmax needs a row per lane pair at least (NSG ≤ 8·G) and the
  // workgroup must fit the device's invocation limit.
  let nsg = s.mmaTune?.nsg ?? MMA_NSG;
  while (nsg > 2 && (nsg > 8 * g || 32 * nsg > lim.threads)) nsg /= 2;
  if (g > Math.min(2 * nsg, MMA_MAX_G)) return null;
  // Column tiles per P·V step (8 measured ~0.5 µs slower at 2048-8192 rows); no more than the
  // subgroup's share of the value tiles (2 at 16 subgroups over 32 tiles).
  const share = Math.ceil(s.dv / 16 / nsg);
  const cw = s.mmaTune?.cw ?? (share >= MMA_CW ? MMA_CW : 2);
  // k-steps per subgroup: the key width's DK/16 steps over KP = NSG / min(G, NSG) parts, loaded in
  // batches of KB ≤ MMA_KB (the next batch's loads issued before this one's products): the fewest
  // batches, then the smallest KB for that count (fewest padded steps past DK: zero query columns).
  const ks = Math.ceil(s.dk / 16 / (nsg / Math.min(g, nsg)));
  const kb = Math.ceil(ks / Math.ceil(ks / (s.mmaTune?.kb ?? MMA_KB)));
  const ksp = Math.ceil(ks / kb) * kb;
  const c = { g, nsg, kb, ksp, cw, chunk, staged: false, spw: 1, rw };
  return mmaSmem(c) <= lim.smem ? c : null;
}

/**
 * The staged plan (STAGED), or null where it does not apply: 8 subgroups, splits of one tile while
 * there are at most MMA_WGS of them, else of two tiles, ceil(splits / MMA_WGS) a workgroup (merged into
 * one partial): one wave of workgroups at any context. Each subgroup takes its
 * k-steps in one batch (≤ MMA_KB) and four column tiles; a lane loads at most nine 16-byte entries.
 */
function stagedPlan(s: AttnDecodeShape, lim: DeviceLimits, rw: number): MlaMmaPlan | null {
  const t = s.mmaTune;
  const nsg = 8;
  if (!stageableTune(t) || 32 * nsg > lim.threads || s.dv > 512) return null;
  const t16 = Math.ceil(s.t / SPLIT_ROWS);
  const g = s.splitRows !== undefined ? Math.ceil(s.splitRows / SPLIT_ROWS) : t16 <= MMA_WGS ? 1 : 2;
  // Values past the keys (GTA) only from two-tile splits on (t > 2112), unless asked (tests): below
  // that the CUDA-core kernels were faster for GTA-1B's 5 heads (H100, attention + combine, GPU ms a
  // token: staged 0.508 against 0.486 at 128, 0.590 against 0.575 at 2048; from two-tile splits on
  // 0.561-0.562 against 0.575-0.579 at 2200, 0.620-0.623 against 0.644-0.647 at 4096, 0.699-0.708 against
  // 0.777-0.787 at 8192).
  if (rw > s.dk && g < 2 && !t?.staged) return null;
  if (g > 2 || (16 * g * rw) / 8 > 9 * 32 * nsg) return null;
  const ks = Math.ceil(s.dk / 16 / (nsg / g));
  if (ks > MMA_KB) return null;
  const chunk = g * SPLIT_ROWS;
  // ceil(splits / MMA_WGS) splits a workgroup: the fewest workgroups for that many splits each (the
  // splits spread evenly over MMA_WGS workgroups measured slower, as the combine then merges more
  // partials for the same longest chain); partials ≤ what the combine takes.
  const spw = Math.ceil(Math.ceil(s.t / chunk) / Math.min(MMA_WGS, MAX_SPLITS));
  const c = { g, nsg, kb: ks, ksp: ks, cw: 4, chunk, staged: true, spw, rw };
  return mmaSmem(c) <= lim.smem ? c : null;
}

/** Whether recordAttnDecode takes attn_decode_mla_mma for this shape on this device (tests, attn-kbench). */
export function attnDecodeUsesMma(rt: GpuRuntime, s: AttnDecodeShape, b: AttnDecodeBuffers | null = null): boolean {
  const a = attnParams('attn_decode', { ...s, n: 1, pos0: s.t - 1 });
  return mlaMmaPlan(mmaAvailable(rt), s, b, a, limitsOf(rt)) !== null;
}

/** Workgroups of attn_decode_mla_mma, one partial each, for `splits` splits. */
function mmaParts(c: MlaMmaPlan, splits: number): number {
  return Math.ceil(splits / c.spw);
}

function recordMma(rt: GpuRuntime, b: AttnDecodeBuffers, s: AttnDecodeShape, a: ReturnType<typeof attnParams>, c: MlaMmaPlan): number {
  const splits = Math.ceil(s.t / c.chunk);
  const parts = mmaParts(c, splits);
  const u = rt.uniform(
    packUniform(
      { t: s.t, chunk: c.chunk, hq: s.hq, kRow: a.kRow, kOff: a.kOff, vRow: a.vRow, vOff: a.vOff, scale: s.scale, nSplits: splits, spw: c.spw, parts, p2: 0 },
      ['scale'],
    ),
  );
  const pipe = rt.pipeline(mmaKernel, { H: s.hq, DK: s.dk, DV: s.dv, G: c.g, NSG: c.nsg, KB: c.kb, KSP: c.ksp, CW: c.cw, STAGED: c.staged ? 1 : 0, RW8: c.rw / 8 });
  rt.dispatch(pipe, [u, b.q, b.k, b.v, b.scratch], [parts], 'attn_decode_mla_mma');
  return parts;
}

// Several key/value head units (MHA/GQA): variants within 12 KiB of workgroup memory, so about four
// workgroups share an SM. H200, GQA-1B at 8192 rows: 26.2 µs a layer against 32.8 µs with the 28 KiB
// variant (attn-kbench); GTA-1B (one unit) got slower that way (17.0 against 14.4 µs), so it keeps the
// larger tiles.
const MULTI_UNIT_SMEM = 12 * 1024;

function splitKConfig(s: AttnDecodeShape, a: ReturnType<typeof attnParams>, budget: number): Config {
  if (a.units > 1) {
    try {
      return config(s, a.gu, Math.min(budget, MULTI_UNIT_SMEM));
    } catch {
      // Too wide for the small budget: the full one below.
    }
  }
  return config(s, a.gu, budget);
}

/** Which split kernel a call takes, its variant, and its rows per split. */
type Plan =
  | { kind: 'mla_mma'; cfg: MlaMmaPlan; chunk: number }
  | { kind: 'mqa_wide'; cfg: WideConfig; chunk: number }
  | { kind: 'split_k'; cfg: Config; chunk: number };

function plan(rt: GpuRuntime, s: AttnDecodeShape, b: AttnDecodeBuffers | null, a: ReturnType<typeof attnParams>): Plan {
  const mma = mlaMmaPlan(mmaAvailable(rt), s, b, a, limitsOf(rt));
  if (mma) return { kind: 'mla_mma', cfg: mma, chunk: mma.chunk };
  const budget = smemBudget(rt);
  const w = wideConfig(s, b, a, budget);
  if (w) return { kind: 'mqa_wide', cfg: w, chunk: splitChunk(s, w.bk, 1, WIDE_TARGET_SPLITS) };
  const c = splitKConfig(s, a, budget);
  return { kind: 'split_k', cfg: c, chunk: splitChunk(s, c.bk, a.units * c.blocks, TARGET_WORKGROUPS) };
}

/**
 * Everything about a call's dispatches but t itself: kernel, variant, rows per split and split count
 * (tests: replay needs it to depend on t only through ceil(t / 16)).
 */
export function attnDecodePlanKey(rt: GpuRuntime, s: AttnDecodeShape, b: AttnDecodeBuffers | null = null): string {
  const a = attnParams('attn_decode', { ...s, n: 1, pos0: s.t - 1 });
  const p = plan(rt, s, b, a);
  return JSON.stringify({ ...p, splits: Math.ceil(s.t / p.chunk) });
}

export function recordAttnDecode(rt: GpuRuntime, b: AttnDecodeBuffers, s: AttnDecodeShape): void {
  if (s.t < 1) throw shapeError('attn_decode', 'the cache is empty; append the new token before attending');
  const a = attnParams('attn_decode', { ...s, n: 1, pos0: s.t - 1 });
  if (b.scratch.size < attnDecodeScratchBytes(s.hq, s.dv)) {
    throw shapeError('attn_decode', `scratch buffer holds ${b.scratch.size} bytes; ${attnDecodeScratchBytes(s.hq, s.dv)} needed`);
  }
  const p = plan(rt, s, b, a);
  const splits =
    p.kind === 'mla_mma' ? recordMma(rt, b, s, a, p.cfg)
    : p.kind === 'mqa_wide' ? recordWide(rt, b, s, a, p.cfg, p.chunk)
    : recordSplitK(rt, b, s, a, p.cfg, p.chunk);
  // The tensor-core kernel leaves f16 partials, normalised (kernels/attn_decode_combine.wgsl O16).
  recordDecodeCombine(rt, b, { splits, hq: s.hq, dv: s.dv, o16: p.kind === 'mla_mma' });
}

/**
 * The merge of the split partials in `scratch` into `out` [hq, dv] f32 (kernels/attn_decode_combine.wgsl).
 * Partials as the split kernels leave them: f32 [splits, hq, dv] o, then [splits, hq] (m, l); o16: f16
 * [splits, hq, dv] o/l, then [splits, hq] (m, l, 0, 0) (attn_decode_mla_mma). Exported for its tests.
 */
export function recordDecodeCombine(rt: GpuRuntime, b: { scratch: GPUBuffer; out: GPUBuffer }, s: { splits: number; hq: number; dv: number; o16: boolean }): void {
  if (s.splits < 1 || s.splits > MAX_SPLITS || s.dv % (s.o16 ? 8 : 2) !== 0) {
    throw shapeError('attn_decode_combine', `${s.splits} splits of values ${s.dv} wide: want 1 to ${MAX_SPLITS} splits and a width divisible by ${s.o16 ? 8 : 2}`);
  }
  const uc = rt.uniform(packUniform({ nSplits: s.splits, hq: s.hq, dv: s.dv, pad: 0 }));
  rt.dispatch(rt.pipeline(combine, { O16: s.o16 ? 1 : 0 }), [uc, b.scratch, b.out], [Math.ceil(s.dv / COMBINE_COLS), s.hq], 'attn_decode_combine');
}

function recordSplitK(rt: GpuRuntime, b: AttnDecodeBuffers, s: AttnDecodeShape, a: ReturnType<typeof attnParams>, c: Config, chunk: number): number {
  const splits = Math.ceil(s.t / chunk);
  const u = rt.uniform(
    packUniform(
      {
        t: s.t, chunk, hq: s.hq, gu: a.gu, hpk: a.hpk, hpv: a.hpv,
        kRow: a.kRow, kHead: a.kHead, kOff: a.kOff, vRow: a.vRow, vHead: a.vHead, vOff: a.vOff,
        scale: s.scale, nSplits: splits, dk2: s.dk / 2, bk: c.bk,
      },
      ['scale'],
    ),
  );
  const pipe = rt.pipeline(kernel, {
    KV_F16: s.kv === 'f16' ? 1 : 0, DK: s.dk, DV: s.dv, G: c.gb, BK: c.bk, KS2: c.ks2, SLOTS: c.slots,
    CW: c.cw, HS: c.hs, GPT: c.gpt, CPT: c.cpt, NWK: c.nwk, NWV: c.nwv, UNROLL: rt.software ? 0 : 1,
  });
  rt.dispatch(pipe, [u, b.q, b.k, b.v, b.scratch], [splits, a.units, c.blocks], 'attn_decode');
  return splits;
}

/** Real multiply-adds ×2: every head scores and weights all t rows (decode has no masked half). */
export function attnDecodeFlops(s: AttnDecodeShape): number {
  return 2 * s.hq * s.t * (s.dk + s.dv);
}

/**
 * The cache rows read once per head unit and block, plus q, the partials and the output. Pass the
 * runtime to count the kernel recordAttnDecode takes on it: attn_decode_mla_mma reads each row once from
 * memory (keys, and values from the same rows: t·rw elements).
 */
export function attnDecodeBytes(s: AttnDecodeShape, rt?: GpuRuntime): number {
  const a = attnParams('attn_decode', { ...s, n: 1, pos0: s.t - 1 });
  const mma = rt ? mlaMmaPlan(mmaAvailable(rt), s, null, a, limitsOf(rt)) : null;
  if (mma) {
    const parts = mmaParts(mma, Math.ceil(s.t / mma.chunk));
    // Partials: o/l as f16 and a 16-byte (m, l) entry per partial and head, written then read.
    return s.t * mma.rw * kvBytesPerElement(s.kv) + 4 * s.hq * s.dk + 2 * parts * s.hq * (2 * s.dv + 16) + 4 * s.hq * s.dv;
  }
  // The 28 KiB budget every supported adapter offers (lavapipe 32 KiB, NVIDIA 48 KiB).
  const w = wideConfig(s, null, a, SMEM_BUDGET);
  let blocks = 1;
  let splits: number;
  if (w) {
    splits = Math.ceil(s.t / splitChunk(s, w.bk, 1, WIDE_TARGET_SPLITS));
  } else {
    const c = splitKConfig(s, a, SMEM_BUDGET);
    blocks = c.blocks;
    splits = Math.ceil(s.t / splitChunk(s, c.bk, a.units * c.blocks, TARGET_WORKGROUPS));
  }
  const cache = a.units * blocks * s.t * (s.dk + s.dv) * kvBytesPerElement(s.kv);
  return cache + 4 * s.hq * s.dk + 2 * 4 * splits * s.hq * (s.dv + 2) + 4 * s.hq * s.dv;
}

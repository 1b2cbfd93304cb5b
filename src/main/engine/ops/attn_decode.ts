// Op: one-token attention over a long cache, flash-decoding with split-K (kernels/attn_decode.wgsl) and
// the merge of the splits (kernels/attn_decode_combine.wgsl); one key/value head with wide values (absorbed
// MLA) takes kernels/attn_decode_mqa_wide.wgsl instead, same partials and merge. Same shapes and cache views as prefill
// with n = 1 and pos0 = t − 1: the new token's K/V must already be appended at row t − 1.
import code from '../../../../kernels/attn_decode.wgsl?raw';
import combineCode from '../../../../kernels/attn_decode_combine.wgsl?raw';
import wideCode from '../../../../kernels/attn_decode_mqa_wide.wgsl?raw';
import type { GpuRuntime, KernelSource } from '../gpu/runtime';
import { kvBytesPerElement, packUniform, shapeError } from './attn_common';
import { attnParams, type AttnShape } from './attn_prefill';

const kernel: KernelSource = { name: 'attn_decode', code };
const combine: KernelSource = { name: 'attn_decode_combine', code: combineCode };
const wideKernel: KernelSource = { name: 'attn_decode_mqa_wide', code: wideCode };
const WG = 128; // threads per workgroup, as in the kernel
const BK = 32; // keys per tile
const DC = 64; // columns per staged chunk
const ACC = 32; // accumulators per thread: ceil(dv / DC) · OPT ≤ 32
const MAX_GB = 16; // GB · BK ≤ 4 · WG score slots
/** Upper bound on splits; the scratch buffer is sized for it. */
export const MAX_SPLITS = 256;
// About eight workgroups per SM on an H100 (132 SMs): a bandwidth-bound pass needs many loads in flight.
const TARGET_WORKGROUPS = 1056;
// A workgroup walks its tiles one after another (two barriers per 64 columns of each): on an H200,
// one split of four tiles per head block left PLM-1.8B's decode at 128 context with two workgroups
// per layer (0.5 ms of attention a layer). So splits go down to one tile, and when the tiles still
// cannot fill the GPU, fewer heads share a workgroup (each block re-reads the unit's rows, from L2).
const MIN_TILES_PER_SPLIT = 1;
const MIN_WORKGROUPS = TARGET_WORKGROUPS / 4;

// attn_decode_mqa_wide: one key/value head for all (≤ 16) query heads, rows of 16, 16 lanes per head,
// at most 32 words (64 values) of key and of value per lane. It takes value widths from WIDE_MIN_DV up,
// where attn_decode's per-block staging re-read the rows per head block and ran serial 512-wide loops
// (PLM-1.8B at 8192 rows: 0.53 ms a layer on an H200).
const WIDE_BK = 16;
const WIDE_LANES = 16;
const WIDE_MAX_HEADS = 16;
const WIDE_MAX_WIDTH = 2 * 32 * WIDE_LANES;
const WIDE_MIN_DV = 256;
// Up to two splits per SM: on an H200 at 8192 rows (PLM-1.8B), 256 splits of 32 rows took 126 µs a layer,
// 128 splits of 64 rows 156 µs; the combine's extra partials cost less (19 µs vs 15 µs).
const WIDE_SPLITS = 256;

export interface AttnDecodeShape extends Omit<AttnShape, 'n' | 'pos0'> {
  t: number; // cache rows attended, including the new token's own (= its position + 1)
  /** Rows per split (rounded up to 32); by default chosen to fill the GPU. Tests use it to force splits. */
  splitRows?: number;
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

interface Plan {
  gb: number; // heads per workgroup
  blocks: number; // head blocks per unit
  opt: number; // outputs per thread per value chunk
  chunk: number;
  splits: number;
}

function outputsPerThread(gb: number): number {
  return Math.ceil((gb * DC) / WG);
}

function plan(s: AttnDecodeShape, gu: number, units: number): Plan {
  const chunks = Math.ceil(s.dv / DC);
  let maxGb = MAX_GB;
  while (maxGb > 1 && chunks * outputsPerThread(maxGb) > ACC) maxGb--;
  const tiles = Math.ceil(s.t / BK);
  let gb = Math.ceil(gu / Math.ceil(gu / maxGb));
  const splitCap = s.splitRows === undefined ? Math.min(tiles, MAX_SPLITS) : Math.ceil(s.t / (Math.ceil(s.splitRows / BK) * BK));
  while (gb > 1 && units * Math.ceil(gu / gb) * splitCap < MIN_WORKGROUPS) gb--;
  // Blocks of gb heads, the last one possibly short (never empty: the kernel's head count is gu − g0).
  const blocks = Math.ceil(gu / gb);
  let chunk: number;
  if (s.splitRows !== undefined) {
    chunk = Math.ceil(s.splitRows / BK) * BK;
  } else {
    const want = Math.max(1, Math.min(Math.ceil(tiles / MIN_TILES_PER_SPLIT), Math.ceil(TARGET_WORKGROUPS / (units * blocks))));
    chunk = Math.ceil(tiles / want) * BK;
  }
  chunk = Math.max(chunk, Math.ceil(s.t / MAX_SPLITS / BK) * BK);
  return { gb, blocks, opt: outputsPerThread(gb), chunk, splits: Math.ceil(s.t / chunk) };
}

function useWide(s: AttnDecodeShape, units: number): boolean {
  return units === 1 && s.hq <= WIDE_MAX_HEADS && s.dv >= WIDE_MIN_DV && s.dv <= WIDE_MAX_WIDTH && s.dk <= WIDE_MAX_WIDTH;
}

/** Splits of whole 16-row tiles for the wide kernel: every split gets at least one tile. */
function widePlan(s: AttnDecodeShape): { chunk: number; splits: number } {
  const tiles = Math.ceil(s.t / WIDE_BK);
  let chunk = s.splitRows === undefined ? Math.ceil(tiles / Math.min(tiles, WIDE_SPLITS)) * WIDE_BK : Math.ceil(s.splitRows / WIDE_BK) * WIDE_BK;
  chunk = Math.max(chunk, Math.ceil(s.t / MAX_SPLITS / WIDE_BK) * WIDE_BK);
  return { chunk, splits: Math.ceil(s.t / chunk) };
}

function recordWide(rt: GpuRuntime, b: AttnDecodeBuffers, s: AttnDecodeShape, a: ReturnType<typeof attnParams>): number {
  const pl = widePlan(s);
  const kw = Math.ceil(s.dk / 2 / WIDE_LANES);
  const vw = Math.ceil(s.dv / 2 / WIDE_LANES);
  const u = rt.uniform(
    packUniform(
      { t: s.t, chunk: pl.chunk, hq: s.hq, kRow: a.kRow, kOff: a.kOff, vRow: a.vRow, vOff: a.vOff, scale: s.scale, nSplits: pl.splits, kw, vw, bk: WIDE_BK },
      ['scale'],
    ),
  );
  const pipe = rt.pipeline(wideKernel, { KV_F16: s.kv === 'f16' ? 1 : 0, H: s.hq, DK: s.dk, DV: s.dv, KW: kw, VW: vw, UNROLL: rt.software ? 0 : 1 });
  rt.dispatch(pipe, [u, b.q, b.k, b.v, b.scratch], [pl.splits], 'attn_decode_mqa_wide');
  return pl.splits;
}

export function recordAttnDecode(rt: GpuRuntime, b: AttnDecodeBuffers, s: AttnDecodeShape): void {
  if (s.t < 1) throw shapeError('attn_decode', 'the cache is empty; append the new token before attending');
  const a = attnParams('attn_decode', { ...s, n: 1, pos0: s.t - 1 });
  if (b.scratch.size < attnDecodeScratchBytes(s.hq, s.dv)) {
    throw shapeError('attn_decode', `scratch buffer holds ${b.scratch.size} bytes; ${attnDecodeScratchBytes(s.hq, s.dv)} needed`);
  }
  const splits = useWide(s, a.units) ? recordWide(rt, b, s, a) : recordSplitK(rt, b, s, a);
  const uc = rt.uniform(packUniform({ nSplits: splits, hq: s.hq, dv: s.dv, pad: 0 }));
  rt.dispatch(rt.pipeline(combine), [uc, b.scratch, b.out], [Math.ceil(s.dv / DC), s.hq], 'attn_decode_combine');
}

function recordSplitK(rt: GpuRuntime, b: AttnDecodeBuffers, s: AttnDecodeShape, a: ReturnType<typeof attnParams>): number {
  const pl = plan(s, a.gu, a.units);
  const u = rt.uniform(
    packUniform(
      {
        t: s.t, chunk: pl.chunk, hq: s.hq, gu: a.gu, hpk: a.hpk, hpv: a.hpv,
        kRow: a.kRow, kHead: a.kHead, kOff: a.kOff, vRow: a.vRow, vHead: a.vHead, vOff: a.vOff,
        scale: s.scale, nSplits: pl.splits, dc: DC, bk: BK,
      },
      ['scale'],
    ),
  );
  const pipe = rt.pipeline(kernel, {
    KV_F16: s.kv === 'f16' ? 1 : 0, DK: s.dk, DV: s.dv, GB: pl.gb, OPT: pl.opt, QS_LEN: pl.gb * s.dk + DC, UNROLL: rt.software ? 0 : 1,
  });
  rt.dispatch(pipe, [u, b.q, b.k, b.v, b.scratch], [pl.splits, a.units, pl.blocks], 'attn_decode');
  return pl.splits;
}

/** Real multiply-adds ×2: every head scores and weights all t rows (decode has no masked half). */
export function attnDecodeFlops(s: AttnDecodeShape): number {
  return 2 * s.hq * s.t * (s.dk + s.dv);
}

/** The cache rows read once per head unit and block, plus q, the partials and the output. */
export function attnDecodeBytes(s: AttnDecodeShape): number {
  const a = attnParams('attn_decode', { ...s, n: 1, pos0: s.t - 1 });
  const pl = useWide(s, a.units) ? { blocks: 1, ...widePlan(s) } : plan(s, a.gu, a.units);
  const cache = a.units * pl.blocks * s.t * (s.dk + s.dv) * kvBytesPerElement(s.kv);
  return cache + 4 * s.hq * s.dk + 2 * 4 * pl.splits * s.hq * (s.dv + 2) + 4 * s.hq * s.dv;
}

// The shape, addressing and checks shared by the two linear-layer kernels (gemv for a few rows,
// matmul for prefill): y[r, o] = Σ_i W[o, i] · x[r, i] (+ bias[o]) (+ y[r, o] when accumulating).
import { opError, requireBytes, requirePositiveInts, weightBytes } from './uniforms';

export interface LinearShape {
  rows: number; // tokens
  inDim: number;
  outDim: number;
  wF16: boolean;
  bias?: boolean;
  accumulate?: boolean;
  /** RMSNorm applied to x on the fly (GEMV, one row). */
  norm?: boolean;
}

export interface LinearArgs {
  x: GPUBuffer; // [rows, xStride] f32
  w: GPUBuffer; // [outDim, inDim] f16 pairs or f32 (HF layout)
  y: GPUBuffer; // [rows, yStride] f32, distinct from x
  rows: number;
  inDim: number;
  outDim: number;
  wF16: boolean;
  bias?: GPUBuffer; // [outDim], same dtype as w
  /** y += x·Wᵀ instead of y = x·Wᵀ (fuses the residual add of an output projection). */
  accumulate?: boolean;
  /**
   * GEMV only: the MLP activation applied to x as it is read. 'swiglu' reads x[i] as the gate and
   * x[i + actOffset] (default inDim) as its up value; 'relu2' squares max(x[i], 0).
   */
  act?: 'swiglu' | 'relu2';
  actOffset?: number;
  /**
   * GEMV, one row only: x is RMS-normalised with weight `w` ([inDim], same dtype as W) and epsilon
   * `eps` as it is read, so y = RMSNorm(x)·Wᵀ without a separate normalisation pass.
   */
  norm?: { w: GPUBuffer; eps: number };
  /**
   * GEMV, one row only, weights in rotation-pair row order (weights/rope_pairs.ts): RoPE on output rows
   * [0, rotRows) in heads of rotDim rows, and rows [storeRow0, storeRow1) also stored into `cache` from
   * element cacheBase (kernels/gemv.wgsl, ROPE). Row counts and offsets even.
   */
  rope?: RopeEpilogue;
  /** Dispatch label suffix naming the layer's role (profiles and bench --ablate show e.g. "gemv:qkv"). */
  role?: string;
  xStride?: number; // elements between rows of x; default inDim
  xOffset?: number; // default 0
  yStride?: number; // elements between rows of y; default outDim
  yOffset?: number; // default 0
}

export interface RopeEpilogue {
  rotRows: number;
  rotDim: number;
  pos: number;
  theta: number;
  cache: GPUBuffer; // array<u32>, f16 pairs or f32
  kv: 'f16' | 'f32';
  cacheBase: number; // elements
  storeRow0: number;
  storeRow1: number;
}

export interface ResolvedLinear extends LinearArgs {
  xStride: number;
  xOffset: number;
  yStride: number;
  yOffset: number;
}

export function resolveLinear(op: string, a: LinearArgs): ResolvedLinear {
  const r: ResolvedLinear = { ...a, xStride: a.xStride ?? a.inDim, xOffset: a.xOffset ?? 0, yStride: a.yStride ?? a.outDim, yOffset: a.yOffset ?? 0 };
  requirePositiveInts(op, { rows: a.rows, inDim: a.inDim, outDim: a.outDim });
  if (a.x === a.y) throw opError(op, 'x and y are the same buffer');
  if (r.xOffset + a.inDim > r.xStride) throw opError(op, `x rows of ${a.inDim} at offset ${r.xOffset} exceed the stride ${r.xStride}`);
  if (r.yOffset + a.outDim > r.yStride) throw opError(op, `y rows of ${a.outDim} at offset ${r.yOffset} exceed the stride ${r.yStride}`);
  const actOffset = a.act === 'swiglu' ? (a.actOffset ?? a.inDim) : 0;
  if (a.act === 'swiglu' && r.xOffset + actOffset + a.inDim > r.xStride) throw opError(op, `x rows of ${a.inDim} gates and their up values at offset ${r.xOffset} + ${actOffset} exceed the stride ${r.xStride}`);
  if (a.norm) {
    if (a.rows !== 1) throw opError(op, `a fused RMSNorm takes one row; ${a.rows} given`);
    if (a.act) throw opError(op, 'a fused RMSNorm and a fused activation cannot be combined');
    requireBytes(op, 'norm weight', a.norm.w, weightBytes(a.inDim, a.wF16));
  }
  if (a.rope) {
    const r = a.rope;
    if (a.rows !== 1) throw opError(op, `a fused RoPE takes one row; ${a.rows} given`);
    if (a.accumulate || a.act) throw opError(op, 'a fused RoPE cannot be combined with accumulation or an activation');
    for (const [k, v] of Object.entries({ outDim: a.outDim, rotRows: r.rotRows, rotDim: r.rotDim, storeRow0: r.storeRow0, storeRow1: r.storeRow1, cacheBase: r.cacheBase, yOffset: a.yOffset ?? 0 })) {
      if (v % 2 !== 0) throw opError(op, `${k} = ${v} must be even for rotation pairs`);
    }
    if (r.rotRows > a.outDim || r.storeRow1 > a.outDim || r.storeRow0 > r.storeRow1) throw opError(op, 'rotated or stored rows exceed the output');
    requireBytes(op, 'cache', r.cache, (r.cacheBase + r.storeRow1 - r.storeRow0) * (r.kv === 'f16' ? 2 : 4));
  }
  requireBytes(op, 'x', a.x, ((a.rows - 1) * r.xStride + r.xOffset + actOffset + a.inDim) * 4);
  requireBytes(op, 'w', a.w, weightBytes(a.outDim * a.inDim, a.wF16));
  requireBytes(op, 'y', a.y, ((a.rows - 1) * r.yStride + r.yOffset + a.outDim) * 4);
  if (a.bias) requireBytes(op, 'bias', a.bias, weightBytes(a.outDim, a.wF16));
  return r;
}

/** The kernels' uniform flag bits: 1 = add bias, 2 = accumulate into y. */
export function linearFlags(a: LinearArgs): number {
  return (a.bias ? 1 : 0) | (a.accumulate ? 2 : 0);
}

export function flops(s: LinearShape): number {
  // The fused norm: x² summed and x·g per element, once per row of x (its lanes' repeats not counted).
  return 2 * s.rows * s.inDim * s.outDim + (s.bias ? s.rows * s.outDim : 0) + (s.accumulate ? s.rows * s.outDim : 0) + (s.norm ? 3 * s.rows * s.inDim : 0);
}

/** Bytes a kernel must move at least: W once, x once, y written (and read when accumulating). */
export function bytes(s: LinearShape): number {
  const w = s.inDim * s.outDim * (s.wF16 ? 2 : 4) + (s.bias ? s.outDim * (s.wF16 ? 2 : 4) : 0);
  const g = s.norm ? s.inDim * (s.wF16 ? 2 : 4) : 0;
  return w + g + s.rows * s.inDim * 4 + s.rows * s.outDim * 4 * (s.accumulate ? 2 : 1);
}

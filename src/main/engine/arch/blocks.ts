// Blocks every family shares: embedding, the RMSNorms that also add the residual, linear layers by
// weight name (bias found by name), the MLP (SwiGLU or ReLU²), RoPE with the K/V store, attention over the cache
// (prefill or split-K decode, with the probability tap), the head and the sampler.
import * as activationOp from '../ops/activation';
import * as appendOp from '../ops/attn_append';
import * as decodeOp from '../ops/attn_decode';
import * as prefillOp from '../ops/attn_prefill';
import type { CacheView } from '../ops/attn_common';
import * as embeddingOp from '../ops/embedding';
import * as linearOp from '../ops/linear';
import * as normOp from '../ops/rms_norm';
import * as ropeOp from '../ops/rope';
import * as ropeStoreOp from '../ops/rope_store';
import type { Pass } from './pass';

/** Rows of a [n, stride] f32 activation, from column `offset`. */
export interface Act {
  buf: GPUBuffer;
  stride?: number;
  offset?: number;
  /**
   * A fused step (Pass.fused): the RMSNorm with this weight is applied as the GEMV reads the row, so
   * `buf` holds the residual stream itself.
   */
  norm?: string;
}

export function embed(p: Pass, ids: GPUBuffer, out: GPUBuffer): void {
  const H = p.c.hiddenSize;
  embeddingOp.embedding(p.rt, { ids, table: p.weight('model.embed_tokens.weight'), out, nTokens: p.n, dim: H, vocab: p.c.vocabSize, wF16: p.wF16 });
  p.count('embed', embeddingOp.flops(), embeddingOp.bytes({ nTokens: p.n, dim: H, wF16: p.wF16 }));
  p.tap('embed', null, out, H);
}

/**
 * out = RMSNorm(x)·w over `rows` rows; with `delta`, x += delta first (the residual add of the block
 * before). `rowOffset` skips leading rows (the head only needs the last one).
 */
export function norm(
  p: Pass,
  role: string,
  wName: string,
  x: GPUBuffer,
  out: GPUBuffer,
  o: { dim?: number; delta?: GPUBuffer; rows?: number; rowOffset?: number; xStride?: number; xOffset?: number; outStride?: number; outOffset?: number } = {},
): void {
  const dim = o.dim ?? p.c.hiddenSize;
  const rows = o.rows ?? p.n;
  const skip = o.rowOffset ?? 0;
  let xStride = o.xStride ?? dim;
  let xOffset = o.xOffset ?? 0;
  if (skip > 0) {
    // One row further down: address it as row 0 of a view whose stride reaches it.
    if (rows !== 1) throw new RangeError('norm: rowOffset is for a single row');
    xOffset += skip * xStride;
    xStride = xOffset + dim;
  }
  const outStride = o.outStride ?? dim;
  normOp.rmsNorm(p.rt, {
    x, out, w: p.weight(wName), rows, dim, eps: p.c.rmsNormEps, wF16: p.wF16, delta: o.delta,
    xStride, xOffset, outStride, outOffset: o.outOffset ?? 0,
  });
  p.count(role, normOp.flops({ rows, dim, wF16: p.wF16, residual: !!o.delta }), normOp.bytes({ rows, dim, wF16: p.wF16, residual: !!o.delta }));
}

/** y = x·Wᵀ (+ b) with W = `${prefix}.weight` and the bias `${prefix}.bias` when the checkpoint has one. */
export function linear(
  p: Pass,
  role: string,
  prefix: string,
  x: Act,
  y: Act,
  inDim: number,
  outDim: number,
  o: { rows?: number; accumulate?: boolean; noBias?: boolean; act?: linearOp.LinearArgs['act']; rope?: linearOp.LinearArgs['rope'] } = {},
): void {
  const rows = o.rows ?? p.n;
  const bias = o.noBias ? undefined : p.w.tensors.get(`${prefix}.bias`);
  const norm = x.norm ? { w: p.weight(x.norm), eps: p.c.rmsNormEps } : undefined;
  linearOp.linear(p.rt, {
    x: x.buf, xStride: x.stride, xOffset: x.offset, y: y.buf, yStride: y.stride, yOffset: y.offset,
    w: p.weight(`${prefix}.weight`), bias, rows, inDim, outDim, wF16: p.wF16, accumulate: o.accumulate, act: o.act, norm, role, rope: o.rope,
  });
  const shape = { rows, inDim, outDim, wF16: p.wF16, bias: !!bias, accumulate: o.accumulate, norm: !!norm };
  p.count(role, linearOp.flops(shape), linearOp.bytes(shape));
}

/**
 * RoPE in place on `heads` heads of width `headStride` per row, dims [offset, offset + rotDim); with
 * `second`, more heads of the same row at their own base and offset, in the same dispatch.
 */
export function rope(p: Pass, x: Act, heads: number, headStride: number, rotDim: number, interleaved: boolean, offset = 0, second?: ropeOp.RopeArgs['second']): void {
  ropeOp.rope(p.rt, {
    x: x.buf, nTokens: p.n, nHeads: heads, headStride, rotDim, offset, tokenStride: x.stride, base: x.offset,
    pos0: p.pos0, theta: p.c.ropeTheta, interleaved, second,
  });
  const all = heads + (second?.nHeads ?? 0);
  p.count('rope', ropeOp.flops({ nTokens: p.n, nHeads: all, rotDim }), ropeOp.bytes({ nTokens: p.n, nHeads: all, rotDim }));
}

/**
 * After a fused projection: RoPE on its query heads and key heads in place, and the key and value
 * slices stored into cache row pos0 + t (with `vNorm`, the value slice RMS-normalised by that weight
 * first and its f32 copy left in `vOut`): one dispatch (ops/rope_store.ts).
 */
/** Where a fused projection row's q, k and v-like slices sit and where they go in the cache row. */
export type RopeStoreLayout = Pick<ropeStoreOp.RopeStoreShape, 'srcStride' | 'rotDim' | 'interleaved' | 'q' | 'k' | 'v' | 'dstStride'>;

/** The rope_store shape of this chunk for a layout (its value slice RMS-normalised when `normed`). */
export function ropeStoreShape(p: Pass, s: RopeStoreLayout, normed: boolean): ropeStoreOp.RopeStoreShape {
  return { ...s, n: p.n, pos0: p.pos0, theta: p.c.ropeTheta, kv: p.kvFormat, vNorm: normed ? { wF16: p.wF16, eps: p.c.rmsNormEps } : undefined };
}

export function ropeStore(p: Pass, src: GPUBuffer, cache: GPUBuffer, s: RopeStoreLayout, vNorm?: { weight: string; out: GPUBuffer }): void {
  const shape = ropeStoreShape(p, s, !!vNorm);
  ropeStoreOp.recordRopeStore(p.rt, { src, cache, normW: vNorm ? p.weight(vNorm.weight) : undefined, vout: vNorm?.out }, shape);
  p.count('rope_store', ropeStoreOp.ropeStoreFlops(shape), ropeStoreOp.ropeStoreBytes(shape));
}

/**
 * A rotate-half family's fused projection [q ‖ k ‖ v-like ‖ rest] of x into `out` [n, W], with RoPE on
 * its q and k heads and the k ‖ v-like slice stored into cache row pos0 + t. A fused decode step over
 * pair-ordered weights (rope_pairs.ts) does all of it in the GEMV's epilogue; otherwise a GEMV/matmul
 * and then rope_store, with GPT-J pairs when the weights are pair-ordered.
 */
export function projectRopeStore(
  p: Pass,
  prefix: string,
  x: Act,
  out: GPUBuffer,
  cache: GPUBuffer,
  s: { role: string; W: number; nq: number; nk: number; d: number; storeWidth: number },
): void {
  const H = p.c.hiddenSize;
  const shape: RopeStoreLayout = {
    srcStride: s.W, rotDim: s.d, interleaved: p.w.pairOrder, dstStride: s.storeWidth,
    q: { heads: s.nq, base: 0, headStride: s.d, rotOff: 0 },
    k: { heads: s.nk, base: s.nq * s.d, headStride: s.d, rotOff: 0, dst: 0 },
    v: { base: (s.nq + s.nk) * s.d, width: s.storeWidth - s.nk * s.d, dst: s.nk * s.d },
  };
  if (p.fused && p.w.pairOrder) {
    const k0 = s.nq * s.d;
    linear(p, s.role, prefix, x, { buf: out }, H, s.W, {
      rope: {
        rotRows: (s.nq + s.nk) * s.d, rotDim: s.d, pos: p.pos0, theta: p.c.ropeTheta, cache, kv: p.kvFormat,
        cacheBase: p.pos0 * s.storeWidth, storeRow0: k0, storeRow1: k0 + s.storeWidth,
      },
    });
    // The rotation and the store happen in the GEMV; counted as rope_store's work.
    p.count('rope_store', ropeStoreOp.ropeStoreFlops(ropeStoreShape(p, shape, false)), 0);
    return;
  }
  linear(p, s.role, prefix, x, { buf: out }, H, s.W);
  ropeStore(p, out, cache, shape);
}

/**
 * Copy `width` columns of the chunk's rows into a dense [n, width] f32 buffer (a query out of a fused
 * projection's output, for kernels that read it densely). The append kernel in f32 mode is exactly a
 * strided row copy.
 */
export function gatherRows(p: Pass, src: Act, dst: GPUBuffer, width: number): void {
  const shape = { n: p.n, width, pos0: 0, kv: 'f32' as const, srcStride: src.stride, srcOff: src.offset, dstStride: width, dstOff: 0 };
  appendOp.recordAttnAppend(p.rt, { src: src.buf, cache: dst }, shape);
  p.count('gather', appendOp.attnAppendFlops(shape), appendOp.attnAppendBytes(shape));
}

/**
 * Store `rows` rows of `width` f32 columns into a dense scratch in the KV cache's element format (keys
 * and values the attention kernels read like cache rows), at row 0, column dstOff of rows dstStride wide.
 */
export function stageRows(p: Pass, src: Act, dst: GPUBuffer, rows: number, width: number, dstStride: number, dstOff = 0): void {
  const shape = { n: rows, width, pos0: 0, kv: p.kvFormat, srcStride: src.stride, srcOff: src.offset, dstStride, dstOff };
  appendOp.recordAttnAppend(p.rt, { src: src.buf, cache: dst }, shape);
  p.count('kv_stage', appendOp.attnAppendFlops(shape), appendOp.attnAppendBytes(shape));
}

export interface AttendShape {
  hq: number;
  hk: number;
  hv: number;
  dk: number;
  dv: number;
  scale: number;
  kView?: CacheView;
  vView?: CacheView;
}

/** Attention of the chunk's queries q [n, hq, dk] over cache rows 0 .. pos0+n-1 → out [n, hq, dv]. */
export function attend(p: Pass, L: number, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, out: GPUBuffer, s: AttendShape): void {
  const common = { hq: s.hq, hk: s.hk, hv: s.hv, dk: s.dk, dv: s.dv, scale: s.scale, kv: p.kvFormat, kView: s.kView, vView: s.vView };
  const probs = p.probe?.probs(L, p);
  if (p.decode && !probs) {
    const shape = { ...common, t: p.pos0 + 1 };
    decodeOp.recordAttnDecode(p.rt, { q, k, v, out, scratch: p.act('attn_split') }, shape);
    p.count('attn', decodeOp.attnDecodeFlops(shape), decodeOp.attnDecodeBytes(shape, p.rt));
  } else {
    const shape = { ...common, n: p.n, pos0: p.pos0 };
    prefillOp.recordAttnPrefill(p.rt, { q, k, v, out, probs }, shape);
    p.count('attn', prefillOp.attnPrefillFlops(shape), prefillOp.attnPrefillBytes(shape, !!probs));
  }
  p.probe?.after?.(L, p, { probs, v, out, hq: s.hq, hv: s.hv, dv: s.dv, vView: s.vView, kv: p.kvFormat });
  p.tap('attn', L, out, s.hq * s.dv);
}

/** Bytes of the split-K partials of a decode step for hq heads of width dv. */
export function decodeScratchBytes(hq: number, dv: number): number {
  return decodeOp.attnDecodeScratchBytes(hq, dv);
}

/**
 * The MLP of layer L on x [n, H] → out [n, H] (out += … when `accumulate`): down(silu(gate(x))·up(x))
 * or down(relu(up(x))²); gate and up are one fused GEMV. A decode step without taps applies the
 * activation inside the down GEMV's reads of `up` (one dispatch less per layer); otherwise it is
 * materialised in `ff_act`. A fused step passes x as the residual stream with its norm (Act.norm).
 */
export function mlp(p: Pass, L: number, x: Act, out: GPUBuffer, accumulate = false): void {
  const { hiddenSize: H, intermediateSize: F } = p.c;
  const pre = `model.layers.${L}.mlp.`;
  const up = p.act('ff_up'); // [n, 2F] for SwiGLU (gate ‖ up, fused), [n, F] for ReLU²
  if (p.decode && !p.tapping) {
    const swiglu = p.c.mlp === 'swiglu';
    linear(p, 'mlp_up', `${pre}${swiglu ? 'gate_up_proj' : 'up_proj'}`, x, { buf: up }, H, swiglu ? 2 * F : F);
    const kind = swiglu ? 'swiglu' : 'relu2';
    // The activation's arithmetic still happens (in the GEMV); its only memory traffic is the up half.
    p.count('mlp_act', activationOp.flops({ rows: p.n, cols: F, kind }), swiglu ? p.n * F * 4 : 0);
    linear(p, 'mlp_out', `${pre}down_proj`, { buf: up, stride: swiglu ? 2 * F : F }, { buf: out }, F, H, { act: kind, accumulate });
    return;
  }
  if (x.norm || accumulate) throw new RangeError('mlp: a fused norm or residual add is for decode steps without taps');
  const xn = x.buf;
  const act = p.act('ff_act');
  if (p.c.mlp === 'swiglu') {
    linear(p, 'mlp_up', `${pre}gate_up_proj`, { buf: xn }, { buf: up }, H, 2 * F);
    activationOp.activation(p.rt, { kind: 'swiglu', a: { buf: up, stride: 2 * F }, b: { buf: up, stride: 2 * F, offset: F }, out: { buf: act }, rows: p.n, cols: F });
    p.count('mlp_act', activationOp.flops({ rows: p.n, cols: F, kind: 'swiglu' }), activationOp.bytes({ rows: p.n, cols: F, kind: 'swiglu' }));
  } else {
    linear(p, 'mlp_up', `${pre}up_proj`, { buf: xn }, { buf: up }, H, F);
    activationOp.activation(p.rt, { kind: 'relu2', a: { buf: up }, out: { buf: act }, rows: p.n, cols: F });
    p.count('mlp_act', activationOp.flops({ rows: p.n, cols: F, kind: 'relu2' }), activationOp.bytes({ rows: p.n, cols: F, kind: 'relu2' }));
  }
  p.tap('mlp_act', L, act, F);
  linear(p, 'mlp_out', `${pre}down_proj`, { buf: act }, { buf: out }, F, H);
  p.tap('mlp_out', L, out, H);
}

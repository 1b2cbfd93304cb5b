// Analytic KV-cache sizes and FLOP counts per attention variant (gta.md "KV cache and FLOPs", plm.md
// "The cache"). Two FLOP views are kept apart on purpose:
//  - paperFlops: the GTA paper's Table 4 "complexity" terms, verbatim (no factor 2, full N² maps);
//  - countedFlops / decodeStepFlops: real multiply-adds × 2 of this engine's forward pass, with the
//    causal half either counted (only the keys a query can see) or not.
import { variantOf, type ModelConfig } from './arch/config';

export type KvPartName = 'keys' | 'values' | 'latent' | 'ropeKey';

export interface KvPart {
  part: KvPartName;
  values: number; // cached values per token per layer
}

/** What the variant caches per token and layer, by part (GQA K/V; MLA latent + rope key; GTA keys + latent). */
export function kvParts(c: ModelConfig): KvPart[] {
  if (c.family === 'llama') {
    return [
      { part: 'keys', values: c.numKvHeads * c.headDim },
      { part: 'values', values: c.numKvHeads * c.headDim },
    ];
  }
  if (c.family === 'mla') {
    return [
      { part: 'latent', values: c.kvLoraRank },
      { part: 'ropeKey', values: c.qkRopeHeadDim },
    ];
  }
  return [
    { part: 'keys', values: c.numKeyHeads * c.keyDim },
    { part: 'latent', values: c.numValueHeads * c.valueDim },
  ];
}

/** Cached values per token per layer: MHA 2·n_h·d_h, GQA 2·n_k·d_h, MLA d_c + d_rope, GTA n_k·d_h + n_c·d_l. */
export function kvValuesPerTokenLayer(c: ModelConfig): number {
  return kvParts(c).reduce((a, p) => a + p.values, 0);
}

export interface KvBytes {
  bytesPerValue: number;
  perTokenLayer: number; // bytes
  perToken: number; // bytes, all layers
  total: number; // bytes for `tokens` tokens, all layers
  tokens: number;
  parts: { part: KvPartName; perToken: number; total: number }[]; // bytes, all layers
}

/** KV bytes; bytesPerValue 2 for f16/bf16, tokens defaults to the model's context. */
export function kvBytes(c: ModelConfig, opts: { bytesPerValue?: number; tokens?: number } = {}): KvBytes {
  const b = opts.bytesPerValue ?? 2;
  const tokens = opts.tokens ?? c.maxPositions;
  const perTokenLayer = kvValuesPerTokenLayer(c) * b;
  return {
    bytesPerValue: b,
    perTokenLayer,
    perToken: perTokenLayer * c.numLayers,
    total: perTokenLayer * c.numLayers * tokens,
    tokens,
    parts: kvParts(c).map((p) => ({ part: p.part, perToken: p.values * b * c.numLayers, total: p.values * b * c.numLayers * tokens })),
  };
}

/** The paper's Table 4 terms for one layer at sequence length N (complexity, not FLOPs). */
export interface PaperFlops {
  attention: number;
  linear: number;
}

export function paperFlops(c: ModelConfig, N: number): PaperFlops {
  const H = c.hiddenSize;
  if (c.family === 'llama') {
    const { numHeads: nh, numKvHeads: nk, headDim: dh } = c;
    const attention = 2 * nh * dh * N * N;
    if (variantOf(c) === 'MHA') return { attention, linear: 4 * N * H * H };
    return { attention, linear: 2 * N * H * H + 2 * nk * dh * N * H };
  }
  if (c.family === 'mla') {
    const { numHeads: nh, kvLoraRank: dc, qkRopeHeadDim: dr, qkNopeHeadDim: dn } = c;
    return {
      attention: nh * (dr + 2 * dn) * N * N,
      linear: ((dc + dr) * H + nh * (dr + dn) * H + 2 * nh * dc * dn + H * H) * N,
    };
  }
  const { numQueryHeads: nq, keyDim: dh, numKeyHeads: nk, numValueHeads: nc, valueDim: dl } = c;
  return {
    attention: nq * (dh + dl) * N * N,
    linear: 2 * N * H * H + (nq * dh + nk * dh + nc * dl + dl) * N * H,
  };
}

/** Real FLOPs (2 per multiply-add) of one layer or the model. Bias adds and norms are left out. */
export interface CountedFlops {
  causal: boolean; // true: only the N(N+1)/2 visible query-key pairs are counted
  attention: number; // per layer: scores + weighted sum of values
  projections: number; // per layer: every attention-block matmul (q, k, v / latent, gate, decoders, o)
  mlp: number; // per layer
  lmHead: number; // once per model
  total: number; // numLayers · (attention + projections + mlp) + lmHead
}

function mlpFlops(c: ModelConfig, rows: number): number {
  return 2 * rows * c.hiddenSize * c.intermediateSize * (c.mlp === 'swiglu' ? 3 : 2);
}

/** Attention-block matmul FLOPs for `rows` tokens (MLA in its expanded, per-head-K/V form). */
function projectionFlops(c: ModelConfig, rows: number): number {
  const H = c.hiddenSize;
  if (c.family === 'llama') {
    const q = c.numHeads * c.headDim;
    const kv = c.numKvHeads * c.headDim;
    return 2 * rows * (H * q + 2 * H * kv + q * H);
  }
  if (c.family === 'mla') {
    const dq = c.numHeads * (c.qkNopeHeadDim + c.qkRopeHeadDim);
    const q = c.qLoraRank === null ? H * dq : H * c.qLoraRank + c.qLoraRank * dq;
    const kvA = H * (c.kvLoraRank + c.qkRopeHeadDim);
    const kvB = c.kvLoraRank * c.numHeads * (c.qkNopeHeadDim + c.vHeadDim);
    return 2 * rows * (q + kvA + kvB + c.numHeads * c.vHeadDim * H);
  }
  const qkv = H * (c.numQueryHeads * c.queryDim + c.numKeyHeads * c.keyDim + c.numValueHeads * c.valueDim);
  const decoder = c.numQueryHeads * c.valueDim * c.valueExpand * c.valueDim;
  return 2 * rows * (qkv + H * H + decoder + H * H);
}

/** Query heads and the widths of one score and one value row, in the form the engine computes. */
function attnDims(c: ModelConfig): { heads: number; dk: number; dv: number } {
  if (c.family === 'llama') return { heads: c.numHeads, dk: c.headDim, dv: c.headDim };
  if (c.family === 'mla') return { heads: c.numHeads, dk: c.qkNopeHeadDim + c.qkRopeHeadDim, dv: c.vHeadDim };
  return { heads: c.numQueryHeads, dk: c.keyDim, dv: c.valueDim };
}

/** Prefill of N tokens from an empty cache. */
export function countedFlops(c: ModelConfig, N: number, opts: { causal: boolean }): CountedFlops {
  const pairs = opts.causal ? (N * (N + 1)) / 2 : N * N;
  const { heads, dk, dv } = attnDims(c);
  const attention = 2 * heads * (dk + dv) * pairs;
  const projections = projectionFlops(c, N);
  const mlp = mlpFlops(c, N);
  const lmHead = 2 * N * c.hiddenSize * c.vocabSize;
  return { causal: opts.causal, attention, projections, mlp, lmHead, total: c.numLayers * (attention + projections + mlp) + lmHead };
}

/**
 * One decode step with T tokens in the cache (the new one included). MLA is counted in its absorbed
 * form (the way it decodes from the 576-wide cache): q̃ = W_UKᵀ·q_nope, scores over d_c + d_rope,
 * values over d_c, then W_UV per head.
 */
export function decodeStepFlops(c: ModelConfig, T: number): CountedFlops {
  let attention: number;
  // For MLA, absorbing W_UK into q and applying W_UV after attention costs exactly what expanding the one
  // new token through kv_b_proj would (2·n_h·d_c·(d_nope + d_v)), so the projection count is shared.
  const projections = projectionFlops(c, 1);
  if (c.family === 'mla') {
    const { numHeads: nh, kvLoraRank: dc, qkRopeHeadDim: dr } = c;
    attention = 2 * nh * (dc + dr) * T + 2 * nh * dc * T;
  } else {
    const { heads, dk, dv } = attnDims(c);
    attention = 2 * heads * (dk + dv) * T;
  }
  const mlp = mlpFlops(c, 1);
  const lmHead = 2 * c.hiddenSize * c.vocabSize;
  return { causal: true, attention, projections, mlp, lmHead, total: c.numLayers * (attention + projections + mlp) + lmHead };
}

// Pieces every CPU forward pass shares: weight lookup, the growing per-layer cache, the MLP block,
// the residual stream, the final norm and head. Float64 throughout (architecture.md: the oracle).
import type { ModelConfig } from '../../../../shared/arch/config';
import { ContextLengthError } from '../../../../shared/errors';
import { add, embedding, linear, mul, relu2, rmsNorm, silu, type Vec } from '../ops';

/** Weights by HF name, as f32 (loadWeights with dtype 'f32'). */
export type WeightMap = ReadonlyMap<string, Float32Array>;

/**
 * Receives a named intermediate [n, width] of the current call: the tap names of the GPU passes
 * (arch/*.ts): embed, attn_norm, q, k, v, latent, gate, attn, attn_out, mlp_norm, mlp_act, mlp_out,
 * final_norm; layer null for the ones outside the layers. q and k are tapped after RoPE; MLA's latent is
 * the normalised c; 'attn' is the attention output before o_proj (GTA [n, n_q·d_l]; MLA, absorbed form
 * only, the attended latent [n, n_h·d_c]).
 */
export type TapFn = (name: string, layer: number | null, data: Float64Array, width: number) => void;

/** Receives layer L's softmax probabilities [heads, n, t] (0 beyond the causal limit). */
export type ProbsFn = (layer: number, probs: Float64Array, shape: { heads: number; n: number; t: number }) => void;

/**
 * Layer L's attention, right after it ran: out [n, hq, dv] (modifiable in place: the shared-map
 * override), probs [hq, n, t], the values v [t, hv, dv] query head h read (head h / (hq / hv)).
 */
export interface AttendIo {
  out: Float64Array;
  probs: Float64Array;
  v: ArrayLike<number>;
  n: number;
  t: number;
  hq: number;
  hv: number;
  dv: number;
}
export type AttendFn = (layer: number, io: AttendIo) => void;

export interface ForwardHooks {
  tap?: TapFn;
  probs?: ProbsFn;
  attend?: AttendFn;
}

export interface CpuModel {
  readonly config: ModelConfig;
  /** Tokens in the cache (the next token's position). */
  readonly length: number;
  /**
   * Run ids at positions pos0 .. pos0+n-1 and return logits [n, vocab]. pos0 must not exceed the cache
   * length; a smaller pos0 drops the cached tokens from pos0 on (re-prefill after an edit).
   */
  forward(ids: number[], pos0: number, hooks?: ForwardHooks): Float64Array;
  reset(): void;
  /** What the cache holds per layer: values per token, by part (the names of shared/formulas kvParts). */
  cacheLayout(): { part: string; valuesPerToken: number }[];
}

export class Weights {
  constructor(private readonly map: WeightMap) {}

  get(name: string): Float32Array {
    const w = this.map.get(name);
    if (!w) throw new RangeError(`weight ${name} is not loaded`);
    return w;
  }

  opt(name: string): Float32Array | undefined {
    return this.map.get(name);
  }

  layer(L: number, rest: string): Float32Array {
    return this.get(`model.layers.${L}.${rest}`);
  }

  layerOpt(L: number, rest: string): Float32Array | undefined {
    return this.opt(`model.layers.${L}.${rest}`);
  }
}

/** One cached part of one layer: rows of `width` values, grown by doubling. */
export class CacheRows {
  private data: Float64Array; // [capacity, width]
  rows = 0;

  constructor(readonly width: number) {
    this.data = new Float64Array(16 * width);
  }

  append(src: Vec, n: number): void {
    const need = (this.rows + n) * this.width;
    if (need > this.data.length) {
      const grown = new Float64Array(Math.max(need, this.data.length * 2));
      grown.set(this.data.subarray(0, this.rows * this.width));
      this.data = grown;
    }
    this.data.set(src.subarray(0, n * this.width), this.rows * this.width);
    this.rows += n;
  }

  truncate(rows: number): void {
    this.rows = Math.min(this.rows, rows);
  }

  /** [rows, width], a view valid until the next append. */
  view(): Float64Array {
    return this.data.subarray(0, this.rows * this.width);
  }
}

/** Columns [from, from+width) of x viewed [rows, stride]. */
export function columns(x: Vec, rows: number, stride: number, from: number, width: number): Vec {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(x.subarray(r * stride + from, r * stride + from + width), r * width);
  return out;
}

export function positions(pos0: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => pos0 + i);
}

export function mlpBlock(c: ModelConfig, w: Weights, L: number, x: Vec, n: number, tap?: TapFn): Vec {
  const H = c.hiddenSize;
  const F = c.intermediateSize;
  const up = linear(x, w.layer(L, 'mlp.up_proj.weight'), n, H, F, w.layerOpt(L, 'mlp.up_proj.bias'));
  const act =
    c.mlp === 'swiglu'
      ? mul(silu(linear(x, w.layer(L, 'mlp.gate_proj.weight'), n, H, F, w.layerOpt(L, 'mlp.gate_proj.bias'))), up)
      : relu2(up);
  tap?.('mlp_act', L, act, F);
  const out = linear(act, w.layer(L, 'mlp.down_proj.weight'), n, F, H, w.layerOpt(L, 'mlp.down_proj.bias'));
  tap?.('mlp_out', L, out, H);
  return out;
}

/** The pre-norm decoder stack around a family's attention block, then the final norm and head. */
export function runStack(
  c: ModelConfig,
  w: Weights,
  ids: number[],
  attentionBlock: (L: number, x: Vec, n: number) => Vec,
  tap?: TapFn,
): Float64Array {
  const n = ids.length;
  const H = c.hiddenSize;
  let h = embedding(ids, w.get('model.embed_tokens.weight'), H);
  tap?.('embed', null, h, H);
  for (let L = 0; L < c.numLayers; L++) {
    const a = rmsNorm(h, w.layer(L, 'input_layernorm.weight'), n, H, c.rmsNormEps);
    tap?.('attn_norm', L, a, H);
    const o = attentionBlock(L, a, n);
    tap?.('attn_out', L, o, H);
    h = add(h, o);
    const m = rmsNorm(h, w.layer(L, 'post_attention_layernorm.weight'), n, H, c.rmsNormEps);
    tap?.('mlp_norm', L, m, H);
    h = add(h, mlpBlock(c, w, L, m, n, tap));
  }
  const f = rmsNorm(h, w.get('model.norm.weight'), n, H, c.rmsNormEps);
  tap?.('final_norm', null, f, H);
  const head = c.tieWordEmbeddings ? w.get('model.embed_tokens.weight') : w.get('lm_head.weight');
  return linear(f, head, n, H, c.vocabSize);
}

/** Shared cache bookkeeping of the three families. */
export function checkPos0(pos0: number, length: number, n: number, maxPositions: number): void {
  if (!Number.isInteger(pos0) || pos0 < 0 || pos0 > length) {
    throw new RangeError(`pos0 ${pos0} must be an integer in [0, ${length}] (the cache holds ${length} tokens)`);
  }
  if (n < 1) throw new RangeError('forward needs at least one token');
  if (pos0 + n > maxPositions) {
    throw new ContextLengthError(`${pos0 + n} tokens exceed the model's context of ${maxPositions}; shorten the prompt or the reply`);
  }
}

/** A family's attention block: layer L on the normed input x [n, H] at positions pos0.., returning [n, H]. */
export type AttentionBlock = (L: number, x: Vec, n: number, pos0: number, hooks: ForwardHooks) => Vec;

/**
 * The CpuModel every family returns: the residual stack around its attention block, with the family's
 * per-layer caches truncated on re-prefill and reset, and its cache layout by part.
 */
export function stackModel(
  c: ModelConfig,
  w: Weights,
  caches: readonly CacheRows[],
  layout: { part: string; valuesPerToken: number }[],
  block: AttentionBlock,
): CpuModel {
  let length = 0;
  return {
    config: c,
    get length() {
      return length;
    },
    forward(ids, pos0, hooks = {}) {
      checkPos0(pos0, length, ids.length, c.maxPositions);
      for (const r of caches) r.truncate(pos0);
      length = pos0;
      const logits = runStack(c, w, ids, (L, x, n) => block(L, x, n, pos0, hooks), hooks.tap);
      length = pos0 + ids.length;
      return logits;
    },
    reset() {
      for (const r of caches) r.truncate(0);
      length = 0;
    },
    cacheLayout: () => layout,
  };
}

// Pieces every CPU forward pass shares: weight lookup, the growing per-layer cache, the MLP block,
// the residual stream, the final norm and head. Float64 throughout (architecture.md: the oracle).
import type { ModelConfig } from '../../../../shared/arch/config';
import { ContextLengthError } from '../../../../shared/errors';
import { add, embedding, linear, mul, relu2, rmsNorm, silu, type Vec } from '../ops';

/** Weights by HF name, as f32 (loadWeights with dtype 'f32'). */
export type WeightMap = ReadonlyMap<string, Float32Array>;

export interface CpuModel {
  readonly config: ModelConfig;
  /** Tokens in the cache (the next token's position). */
  readonly length: number;
  /**
   * Run ids at positions pos0 .. pos0+n-1 and return logits [n, vocab]. pos0 must not exceed the cache
   * length; a smaller pos0 drops the cached tokens from pos0 on (re-prefill after an edit).
   */
  forward(ids: number[], pos0: number): Float64Array;
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

export function mlpBlock(c: ModelConfig, w: Weights, L: number, x: Vec, n: number): Vec {
  const H = c.hiddenSize;
  const F = c.intermediateSize;
  const up = linear(x, w.layer(L, 'mlp.up_proj.weight'), n, H, F, w.layerOpt(L, 'mlp.up_proj.bias'));
  const act =
    c.mlp === 'swiglu'
      ? mul(silu(linear(x, w.layer(L, 'mlp.gate_proj.weight'), n, H, F, w.layerOpt(L, 'mlp.gate_proj.bias'))), up)
      : relu2(up);
  return linear(act, w.layer(L, 'mlp.down_proj.weight'), n, F, H, w.layerOpt(L, 'mlp.down_proj.bias'));
}

/** The pre-norm decoder stack around a family's attention block, then the final norm and head. */
export function runStack(
  c: ModelConfig,
  w: Weights,
  ids: number[],
  attentionBlock: (L: number, x: Vec, n: number) => Vec,
): Float64Array {
  const n = ids.length;
  const H = c.hiddenSize;
  let h = embedding(ids, w.get('model.embed_tokens.weight'), H);
  for (let L = 0; L < c.numLayers; L++) {
    const a = rmsNorm(h, w.layer(L, 'input_layernorm.weight'), n, H, c.rmsNormEps);
    h = add(h, attentionBlock(L, a, n));
    const m = rmsNorm(h, w.layer(L, 'post_attention_layernorm.weight'), n, H, c.rmsNormEps);
    h = add(h, mlpBlock(c, w, L, m, n));
  }
  const f = rmsNorm(h, w.get('model.norm.weight'), n, H, c.rmsNormEps);
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

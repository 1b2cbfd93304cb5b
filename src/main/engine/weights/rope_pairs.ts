// Rotation-pair row order for the GPU weights of rotate-half families (Llama/Qwen2, GTA).
// Llama's RoPE turns dims (i, i + d/2) of each head together. The GPU copy of q_proj and k_proj (and
// their biases) keeps each head's rows in the order 0, d/2, 1, d/2 + 1, …, so the partners are adjacent
// rows (2i, 2i + 1): a decode step's fused projection GEMV then rotates and stores them in its own
// epilogue (kernels/gemv.wgsl, ROPE), and a prompt's rows rotate as GPT-J pairs with the same angles.
// Queries and keys are permuted alike, so every score q·k is unchanged; the KV cache holds keys in this
// order. Taps of q and k are put back into the checkpoint's order before they reach the caller.
import type { ModelConfig } from '../../../shared/arch/config';

/** Heads and rows per head of the tensors stored in pair order, by HF name, for layer L; {} for MLA. */
export function pairOrderTensors(c: ModelConfig, L: number): Record<string, { heads: number; dim: number }> {
  const a = `model.layers.${L}.self_attn.`;
  if (c.family === 'llama') {
    const q = { heads: c.numHeads, dim: c.headDim };
    const k = { heads: c.numKvHeads, dim: c.headDim };
    return { [`${a}q_proj.weight`]: q, [`${a}q_proj.bias`]: q, [`${a}k_proj.weight`]: k, [`${a}k_proj.bias`]: k };
  }
  if (c.family === 'gta') {
    const q = { heads: c.numQueryHeads, dim: c.queryDim };
    const k = { heads: c.numKeyHeads, dim: c.keyDim };
    return { [`${a}q_proj.weight`]: q, [`${a}q_proj.bias`]: q, [`${a}k_proj.weight`]: k, [`${a}k_proj.bias`]: k };
  }
  return {};
}

/** Whether the family's GPU weights use pair order (rotate-half RoPE over whole heads). */
export function usesPairOrder(c: ModelConfig): boolean {
  return c.family === 'llama' || c.family === 'gta';
}

/** Row r of a head in checkpoint order → its row in pair order. */
function pairRow(r: number, dim: number): number {
  const half = dim / 2;
  return r < half ? 2 * r : 2 * (r - half) + 1;
}

/**
 * A copy of `data` ([heads·dim rows, cols] row-major; cols = 1 for a bias) with each head's rows in pair
 * order.
 */
export function toPairOrder<T extends Uint16Array | Float32Array>(data: T, heads: number, dim: number, cols: number): T {
  if (dim % 2 !== 0) throw new RangeError(`rotary head of ${dim} rows is odd`);
  if (data.length !== heads * dim * cols) throw new RangeError(`tensor of ${data.length} elements is not [${heads}·${dim}, ${cols}]`);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < dim; r++) {
      const src = (h * dim + r) * cols;
      out.set(data.subarray(src, src + cols), (h * dim + pairRow(r, dim)) * cols);
    }
  }
  return out;
}

/**
 * Rows of values in pair order ([n, stride], heads of dim values from column `offset`) back into
 * checkpoint order: a tap of q or k.
 */
export function fromPairOrder(values: Float32Array, n: number, heads: number, dim: number): Float32Array {
  const width = heads * dim;
  const out = new Float32Array(values.length);
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < heads; h++) {
      const base = t * width + h * dim;
      for (let r = 0; r < dim; r++) out[base + r] = values[base + pairRow(r, dim)];
    }
  }
  return out;
}

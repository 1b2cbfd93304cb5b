// Llama / Qwen2 attention (MHA, GQA, MQA): rotate-half RoPE over the whole head, cache of K and V
// per key head. Qwen2's q/k/v biases and Llama's attention_bias come in through the optional biases.
import type { LlamaConfig } from '../../../../shared/arch/config';
import { attention } from '../attention';
import { linear, ropeRotateHalf, type Vec } from '../ops';
import { CacheRows, type CpuModel, type ForwardHooks, positions, stackModel, type WeightMap, Weights } from './common';

export function createLlamaModel(c: LlamaConfig, map: WeightMap): CpuModel {
  const w = new Weights(map);
  const { hiddenSize: H, numHeads: nh, numKvHeads: nk, headDim: d } = c;
  const keys = Array.from({ length: c.numLayers }, () => new CacheRows(nk * d)); // [t, nk, d] per layer
  const values = Array.from({ length: c.numLayers }, () => new CacheRows(nk * d)); // [t, nk, d]

  function block(L: number, x: Vec, n: number, pos0: number, hooks: ForwardHooks): Vec {
    const p = 'self_attn.';
    const q = linear(x, w.layer(L, `${p}q_proj.weight`), n, H, nh * d, w.layerOpt(L, `${p}q_proj.bias`));
    const k = linear(x, w.layer(L, `${p}k_proj.weight`), n, H, nk * d, w.layerOpt(L, `${p}k_proj.bias`));
    const v = linear(x, w.layer(L, `${p}v_proj.weight`), n, H, nk * d, w.layerOpt(L, `${p}v_proj.bias`));
    const pos = positions(pos0, n);
    ropeRotateHalf(q, n, nh, d, 0, d, pos, c.ropeTheta);
    ropeRotateHalf(k, n, nk, d, 0, d, pos, c.ropeTheta);
    hooks.tap?.('q', L, q, nh * d);
    hooks.tap?.('k', L, k, nk * d);
    hooks.tap?.('v', L, v, nk * d);
    keys[L].append(k, n);
    values[L].append(v, n);
    const t = pos0 + n;
    const probs = hooks.probs || hooks.attend ? new Float64Array(nh * n * t) : undefined;
    const o = attention(q, keys[L].view(), values[L].view(), { n, t, hq: nh, hk: nk, dk: d, dv: d, scale: 1 / Math.sqrt(d), pos0, probs });
    if (probs) hooks.attend?.(L, { out: o, probs, v: values[L].view(), n, t, hq: nh, hv: nk, dv: d });
    if (probs) hooks.probs?.(L, probs, { heads: nh, n, t });
    hooks.tap?.('attn', L, o, nh * d);
    return linear(o, w.layer(L, `${p}o_proj.weight`), n, nh * d, H, w.layerOpt(L, `${p}o_proj.bias`));
  }

  return stackModel(c, w, [...keys, ...values], [
    { part: 'keys', valuesPerToken: nk * d },
    { part: 'values', valuesPerToken: nk * d },
  ], block);
}

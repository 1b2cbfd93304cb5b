// GTA attention (gta.md "exact forward pass"): n_q query groups share maps over n_k key heads; the cache
// holds keys and the latent C (n_c groups × d_l), nothing else. Each group's attended latent is decoded
// to hidden/n_q values by tile + delta and gated by sigmoid(g_proj(x)) of the current token.
import type { GtaConfig } from '../../../../shared/arch/config';
import { groupedAttention, gtaDecodeValues } from '../attention';
import { linear, ropeRotateHalf, type Vec } from '../ops';
import { CacheRows, type CpuModel, type ForwardHooks, positions, stackModel, type WeightMap, Weights } from './common';

export function createGtaModel(c: GtaConfig, map: WeightMap): CpuModel {
  const w = new Weights(map);
  const { hiddenSize: H, numQueryHeads: nq, queryDim: dq, numKeyHeads: nk, keyDim: dk, numValueHeads: nc, valueDim: dl } = c;
  const keys = Array.from({ length: c.numLayers }, () => new CacheRows(nk * dk)); // [t, n_k, d_k] roped
  const latent = Array.from({ length: c.numLayers }, () => new CacheRows(nc * dl)); // [t, n_c, d_l]

  function block(L: number, x: Vec, n: number, pos0: number, hooks: ForwardHooks): Vec {
    const p = 'self_attn.';
    const q = linear(x, w.layer(L, `${p}q_proj.weight`), n, H, nq * dq, w.layerOpt(L, `${p}q_proj.bias`));
    const k = linear(x, w.layer(L, `${p}k_proj.weight`), n, H, nk * dk, w.layerOpt(L, `${p}k_proj.bias`));
    const cv = linear(x, w.layer(L, `${p}v_proj.weight`), n, H, nc * dl, w.layerOpt(L, `${p}v_proj.bias`));
    const gate = linear(x, w.layer(L, `${p}g_proj.weight`), n, H, H, w.layerOpt(L, `${p}g_proj.bias`)); // logits [n, H]
    const pos = positions(pos0, n);
    ropeRotateHalf(q, n, nq, dq, 0, dq, pos, c.ropeTheta);
    ropeRotateHalf(k, n, nk, dk, 0, dk, pos, c.ropeTheta);
    hooks.tap?.('q', L, q, nq * dq);
    hooks.tap?.('k', L, k, nk * dk);
    hooks.tap?.('latent', L, cv, nc * dl);
    hooks.tap?.('gate', L, gate, H);
    keys[L].append(k, n);
    latent[L].append(cv, n);
    const t = pos0 + n;
    // the scale is 1/sqrt(head_dim), not 1/sqrt(query_dim) (gta.md step 4)
    const probs = hooks.probs || hooks.attend ? new Float64Array(nq * n * t) : undefined;
    const a = groupedAttention(q, keys[L].view(), latent[L].view(), {
      n, t, hq: nq, hk: nk, hv: nc, dk, dv: dl, scale: 1 / Math.sqrt(c.headDim), pos0, probs,
    }); // [n, n_q, d_l]
    if (probs) hooks.attend?.(L, { out: a, probs, v: latent[L].view(), n, t, hq: nq, hv: nc, dv: dl });
    if (probs) hooks.probs?.(L, probs, { heads: nq, n, t });
    hooks.tap?.('attn', L, a, nq * dl);
    const out = gtaDecodeValues(a, w.layer(L, `${p}v_b_proj.weight`), gate, { n, nq, dl, e: c.valueExpand }); // [n, H] gated
    return linear(out, w.layer(L, `${p}o_proj.weight`), n, H, H);
  }

  return stackModel(c, w, [...keys, ...latent], [
    { part: 'keys', valuesPerToken: nk * dk },
    { part: 'latent', valuesPerToken: nc * dl },
  ], block);
}

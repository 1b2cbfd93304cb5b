// MLA attention (plm.md; dense DeepSeek-V2 alike): the cache holds the normalised latent c (d_c) and
// the one roped key k_rope (d_rope) shared by all heads, 576 values per token for PLM-1.8B. Attention
// runs from that cache in either form:
//   absorbed: q̃_h = W_UK_hᵀ·q_nope_h, multi-query attention over [c ‖ k_rope], then o_h = W_UV_h·a_h;
//   expanded: per-head K = [W_UK_h·c ‖ k_rope] and V = W_UV_h·c rebuilt from the cache, then plain MHA.
// RoPE is GPT-J style (adjacent pairs) on the rope dims only; the scale is 1/sqrt(d_nope + d_rope).
import type { MlaConfig } from '../../../../shared/arch/config';
import { attention, mlaAbsorbQ, mlaExpandKV, mlaUpV, type MlaShape } from '../attention';
import { linear, rmsNorm, ropeInterleaved, type Vec } from '../ops';
import { CacheRows, columns, type CpuModel, type ForwardHooks, positions, stackModel, type WeightMap, Weights } from './common';

export type MlaForm = 'absorbed' | 'expanded';

export function createMlaModel(c: MlaConfig, map: WeightMap, form: MlaForm = 'absorbed'): CpuModel {
  const w = new Weights(map);
  const { hiddenSize: H, numHeads: nh, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv } = c;
  const dq = dn + dr;
  const dl = dc + dr;
  const cache = Array.from({ length: c.numLayers }, () => new CacheRows(dl)); // [t, d_c + d_rope]: c normed ‖ k_rope roped
  const scale = 1 / Math.sqrt(dq);

  function query(L: number, x: Vec, n: number): Vec {
    const p = 'self_attn.';
    if (c.qLoraRank === null) return linear(x, w.layer(L, `${p}q_proj.weight`), n, H, nh * dq, w.layerOpt(L, `${p}q_proj.bias`));
    const r = c.qLoraRank;
    const qa = linear(x, w.layer(L, `${p}q_a_proj.weight`), n, H, r, w.layerOpt(L, `${p}q_a_proj.bias`));
    const qn = rmsNorm(qa, w.layer(L, `${p}q_a_layernorm.weight`), n, r, c.rmsNormEps);
    return linear(qn, w.layer(L, `${p}q_b_proj.weight`), n, r, nh * dq);
  }

  function block(L: number, x: Vec, n: number, pos0: number, hooks: ForwardHooks): Vec {
    const p = 'self_attn.';
    const pos = positions(pos0, n);
    const q = query(L, x, n); // [n, nh, d_nope + d_rope]
    ropeInterleaved(q, n, nh, dq, dn, dr, pos, c.ropeTheta);
    const kv = linear(x, w.layer(L, `${p}kv_a_proj_with_mqa.weight`), n, H, dl, w.layerOpt(L, `${p}kv_a_proj_with_mqa.bias`)); // [n, c ‖ k_rope]
    const cn = rmsNorm(columns(kv, n, dl, 0, dc), w.layer(L, `${p}kv_a_layernorm.weight`), n, dc, c.rmsNormEps);
    for (let i = 0; i < n; i++) kv.set(cn.subarray(i * dc, (i + 1) * dc), i * dl);
    ropeInterleaved(kv, n, 1, dl, dc, dr, pos, c.ropeTheta);
    hooks.tap?.('q', L, q, nh * dq);
    hooks.tap?.('latent', L, cn, dc);
    cache[L].append(kv, n);
    const t = pos0 + n;
    const wkvb = w.layer(L, `${p}kv_b_proj.weight`);
    let o: Vec; // [n, nh, d_v]
    const probs = hooks.probs || hooks.attend ? new Float64Array(nh * n * t) : undefined;
    if (form === 'absorbed') {
      const shape: MlaShape = { n, nh, dNope: dn, dRope: dr, dV: dv, dC: dc };
      const qt = mlaAbsorbQ(q, wkvb, shape); // [n, nh, d_c + d_rope]
      // values are the latent rows themselves; the trailing d_rope columns of the result are dropped
      const a = attention(qt, cache[L].view(), cache[L].view(), { n, t, hq: nh, hk: 1, dk: dl, dv: dl, scale, pos0, probs });
      if (probs) hooks.attend?.(L, { out: a, probs, v: cache[L].view(), n, t, hq: nh, hv: 1, dv: dl });
      const al = columns(a, n * nh, dl, 0, dc); // [n, nh, d_c]: the GPU's 'attn' tap, attention over the latent
      hooks.tap?.('attn', L, al, nh * dc);
      o = mlaUpV(al, wkvb, shape);
    } else {
      const { k, v } = mlaExpandKV(cache[L].view(), wkvb, { n: t, nh, dNope: dn, dRope: dr, dV: dv, dC: dc });
      o = attention(q, k, v, { n, t, hq: nh, hk: nh, dk: dq, dv, scale, pos0, probs });
      if (probs) hooks.attend?.(L, { out: o, probs, v, n, t, hq: nh, hv: nh, dv });
    }
    if (probs) hooks.probs?.(L, probs, { heads: nh, n, t });
    return linear(o, w.layer(L, `${p}o_proj.weight`), n, nh * dv, H, w.layerOpt(L, `${p}o_proj.bias`));
  }

  return stackModel(c, w, cache, [
    { part: 'latent', valuesPerToken: dc },
    { part: 'ropeKey', valuesPerToken: dr },
  ], block);
}

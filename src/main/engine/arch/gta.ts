// GTA (Grouped-head latenT Attention), gta.md's forward pass. Per layer:
//   q = q_proj(x) [n, n_q, d_q], k = k_proj(x) [n, n_k, d_k], c = v_proj(x) [n, n_c, d_l], g = g_proj(x) [n, H]
//   rotate-half RoPE on q and k; cache k and the latent c (n_k·d_k + n_c·d_l values per token)
//   query group j attends with key head j/(n_q/n_k) over latent group j/(n_q/n_c): a_j [d_l]
//   out_j = (tile(a_j, e) + a_j·W_vb[j]) ⊙ sigmoid(g) (fused kernel), then o_proj
// Maps are shared per query group, so the attention-probability tap has n_q maps per layer.
import type { GtaConfig } from '../../../shared/arch/config';
import * as decodeVOp from '../ops/attn_gta_decode_v';
import { append, attend, linear, rope } from './blocks';
import type { Family } from './family';

export const gta: Family<GtaConfig> = {
  rowBuffers: (c) => ({
    q: c.numQueryHeads * c.queryDim,
    k: c.numKeyHeads * c.keyDim,
    v: c.numValueHeads * c.valueDim,
    gate: c.hiddenSize,
    attn: c.numQueryHeads * c.valueDim,
    decoded: c.hiddenSize,
  }),
  maps: (c) => ({ heads: c.numQueryHeads, dv: c.valueDim }),
  attention(p, L, xn, out) {
    const c = p.c as GtaConfig;
    const { hiddenSize: H, numQueryHeads: nq, queryDim: dq, numKeyHeads: nk, keyDim: dk, numValueHeads: nc, valueDim: dl } = c;
    const pre = `model.layers.${L}.self_attn.`;
    const [q, k, lat, gate, attn, dec] = ['q', 'k', 'v', 'gate', 'attn', 'decoded'].map((n) => p.act(n));
    linear(p, 'q', `${pre}q_proj`, { buf: xn }, { buf: q }, H, nq * dq);
    linear(p, 'k', `${pre}k_proj`, { buf: xn }, { buf: k }, H, nk * dk);
    linear(p, 'latent', `${pre}v_proj`, { buf: xn }, { buf: lat }, H, nc * dl);
    linear(p, 'gate', `${pre}g_proj`, { buf: xn }, { buf: gate }, H, H);
    rope(p, { buf: q }, nq, dq, dq, false);
    rope(p, { buf: k }, nk, dk, dk, false);
    p.tap('q', L, q, nq * dq);
    p.tap('k', L, k, nk * dk);
    p.tap('latent', L, lat, nc * dl);
    p.tap('gate', L, gate, H);
    const cache = p.kv.buffers[L];
    append(p, { buf: k }, cache.k, nk * dk, nk * dk);
    append(p, { buf: lat }, cache.latent, nc * dl, nc * dl);
    attend(p, L, q, cache.k, cache.latent, attn, { hq: nq, hk: nk, hv: nc, dk, dv: dl, scale: 1 / Math.sqrt(c.headDim) });
    const s = { n: p.n, nq, dl, e: c.valueExpand, wF16: p.wF16 };
    decodeVOp.recordGtaDecodeV(p.rt, { a: attn, w: p.weight(`${pre}v_b_proj.weight`), gate, out: dec }, s);
    p.count('v_decode', decodeVOp.gtaDecodeVFlops(s), decodeVOp.gtaDecodeVBytes(s));
    p.tap('v_decode', L, dec, H);
    linear(p, 'attn_out', `${pre}o_proj`, { buf: dec }, { buf: out }, H, H);
    p.tap('attn_out', L, out, H);
  },
};

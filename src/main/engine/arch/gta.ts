// GTA (Grouped-head latenT Attention), gta.md's forward pass. Per layer:
//   [q ‖ k ‖ c] = one fused projection (q [n_q, d_q], k [n_k, d_k], the latent c [n_c, d_l]); g = g_proj(x) [n, H]
//   rotate-half RoPE on q and k; cache [k ‖ c] in one store (n_k·d_k + n_c·d_l values per token)
//   query group j attends with key head j/(n_q/n_k) over latent group j/(n_q/n_c): a_j [d_l]
//   out_j = (tile(a_j, e) + a_j·W_vb[j]) ⊙ sigmoid(g) (fused kernel), then o_proj
// Maps are shared per query group, so the attention-probability tap has n_q maps per layer.
import type { GtaConfig } from '../../../shared/arch/config';
import * as decodeVOp from '../ops/attn_gta_decode_v';
import { append, attend, gatherRows, linear, rope } from './blocks';
import type { Family } from './family';

export const gta: Family<GtaConfig> = {
  rowBuffers: (c) => ({
    qkc: c.numQueryHeads * c.queryDim + c.numKeyHeads * c.keyDim + c.numValueHeads * c.valueDim,
    q: c.numQueryHeads * c.queryDim,
    gate: c.hiddenSize,
    attn: c.numQueryHeads * c.valueDim,
    decoded: c.hiddenSize,
  }),
  maps: (c) => ({ heads: c.numQueryHeads, dv: c.valueDim }),
  attention(p, L, xn, out) {
    const c = p.c as GtaConfig;
    const { hiddenSize: H, numQueryHeads: nq, queryDim: dq, numKeyHeads: nk, keyDim: dk, numValueHeads: nc, valueDim: dl } = c;
    const pre = `model.layers.${L}.self_attn.`;
    const W = nq * dq + nk * dk + nc * dl; // [q ‖ k ‖ c] per row
    const [qkc, gate, attn, dec] = ['qkc', 'gate', 'attn', 'decoded'].map((n) => p.act(n));
    linear(p, 'qkc', `${pre}qkc_proj`, { buf: xn }, { buf: qkc }, H, W);
    linear(p, 'gate', `${pre}g_proj`, { buf: xn }, { buf: gate }, H, H);
    // query_dim = key_dim (config check): q's and k's heads rotate in one pass.
    rope(p, { buf: qkc, stride: W }, nq + nk, dq, dq, false);
    p.tap('q', L, qkc, nq * dq, W, 0);
    p.tap('k', L, qkc, nk * dk, W, nq * dq);
    p.tap('latent', L, qkc, nc * dl, W, nq * dq + nk * dk);
    p.tap('gate', L, gate, H);
    const cache = p.kv.buffers[L].kv; // [n_ctx, k ‖ c]
    const R = nk * dk + nc * dl;
    append(p, { buf: qkc, stride: W, offset: nq * dq }, cache, R, R);
    let q = qkc;
    if (!p.decode) {
      q = p.act('q');
      gatherRows(p, { buf: qkc, stride: W }, q, nq * dq);
    }
    attend(p, L, q, cache, cache, attn, { hq: nq, hk: nk, hv: nc, dk, dv: dl, scale: 1 / Math.sqrt(c.headDim), kView: { row: R }, vView: { row: R, off: nk * dk } });
    const s = { n: p.n, nq, dl, e: c.valueExpand, wF16: p.wF16 };
    decodeVOp.recordGtaDecodeV(p.rt, { a: attn, w: p.weight(`${pre}v_b_proj.weight`), gate, out: dec }, s);
    p.count('v_decode', decodeVOp.gtaDecodeVFlops(s), decodeVOp.gtaDecodeVBytes(s));
    p.tap('v_decode', L, dec, H);
    linear(p, 'attn_out', `${pre}o_proj`, { buf: dec }, { buf: out }, H, H);
    p.tap('attn_out', L, out, H);
  },
};

// GTA (Grouped-head latenT Attention), gta.md's forward pass. Per layer:
//   [q ‖ k ‖ c ‖ g] = one fused projection (q [n_q, d_q], k [n_k, d_k], the latent c [n_c, d_l], the gate g [H])
//   rotate-half RoPE on q and k and the store of [k ‖ c] into the cache in one dispatch (n_k·d_k + n_c·d_l
//   values per token)
//   query group j attends with key head j/(n_q/n_k) over latent group j/(n_q/n_c): a_j [d_l]
//   out_j = (tile(a_j, e) + a_j·W_vb[j]) ⊙ sigmoid(g) (fused kernel), then o_proj
// Maps are shared per query group, so the attention-probability tap has n_q maps per layer.
import type { GtaConfig } from '../../../shared/arch/config';
import * as decodeVOp from '../ops/attn_gta_decode_v';
import { attend, gatherRows, linear, projectRopeStore } from './blocks';
import type { Family } from './family';

export const gta: Family<GtaConfig> = {
  rowBuffers: (c) => ({
    qkcg: c.numQueryHeads * c.queryDim + c.numKeyHeads * c.keyDim + c.numValueHeads * c.valueDim + c.hiddenSize,
    q: c.numQueryHeads * c.queryDim,
    attn: c.numQueryHeads * c.valueDim,
    decoded: c.hiddenSize,
  }),
  maps: (c) => ({ heads: c.numQueryHeads, dv: c.valueDim }),
  attention(p, L, x, out, accumulate) {
    const c = p.c as GtaConfig;
    const { hiddenSize: H, numQueryHeads: nq, queryDim: dq, numKeyHeads: nk, keyDim: dk, numValueHeads: nc, valueDim: dl } = c;
    const pre = `model.layers.${L}.self_attn.`;
    const W = nq * dq + nk * dk + nc * dl; // [q ‖ k ‖ c] per row, then the gate's H values
    const WG = W + H;
    const [qkc, attn, dec] = ['qkcg', 'attn', 'decoded'].map((n) => p.act(n));
    const cache = p.kv.buffers[L].kv; // [n_ctx, k ‖ c]
    const R = nk * dk + nc * dl;
    // query_dim = key_dim (config check): q's and k's heads rotate alike.
    projectRopeStore(p, `${pre}qkcg_proj`, x, qkc, cache, { role: 'qkcg', W: WG, nq, nk, d: dq, storeWidth: R });
    p.tap('q', L, qkc, nq * dq, WG, 0);
    p.tap('k', L, qkc, nk * dk, WG, nq * dq);
    p.tap('latent', L, qkc, nc * dl, WG, nq * dq + nk * dk);
    p.tap('gate', L, qkc, H, WG, W);
    let q = qkc;
    if (!p.decode) {
      q = p.act('q');
      gatherRows(p, { buf: qkc, stride: WG }, q, nq * dq);
    }
    attend(p, L, q, cache, cache, attn, { hq: nq, hk: nk, hv: nc, dk, dv: dl, scale: 1 / Math.sqrt(c.headDim), kView: { row: R }, vView: { row: R, off: nk * dk } });
    const s = { n: p.n, nq, dl, e: c.valueExpand, wF16: p.wF16 };
    decodeVOp.recordGtaDecodeV(p.rt, { a: attn, w: p.weight(`${pre}v_b_proj.weight`), gate: qkc, out: dec }, s, { stride: WG, offset: W });
    p.count('v_decode', decodeVOp.gtaDecodeVFlops(s), decodeVOp.gtaDecodeVBytes(s));
    p.tap('v_decode', L, dec, H);
    linear(p, 'attn_out', `${pre}o_proj`, { buf: dec }, { buf: out }, H, H, { accumulate });
    p.tap('attn_out', L, out, H);
  },
};

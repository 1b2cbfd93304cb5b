// Llama / Qwen2 (MHA, GQA, MQA): one fused q‖k‖v projection (Qwen2's biases fused alike) with RoPE over
// q's and k's heads and k ‖ v stored into the cache (in the GEMV's epilogue on a decode step, else one
// rope_store dispatch after it), attention, o_proj.
import type { LlamaConfig } from '../../../shared/arch/config';
import { attend, gatherRows, linear, projectRopeStore } from './blocks';
import type { Family } from './family';

export const llama: Family<LlamaConfig> = {
  rowBuffers: (c) => ({ qkv: (c.numHeads + 2 * c.numKvHeads) * c.headDim, q: c.numHeads * c.headDim, attn: c.numHeads * c.headDim }),
  maps: (c) => ({ heads: c.numHeads, dv: c.headDim }),
  attention(p, L, x, out, accumulate) {
    const c = p.c as LlamaConfig;
    const { hiddenSize: H, numHeads: nh, numKvHeads: nk, headDim: d } = c;
    const pre = `model.layers.${L}.self_attn.`;
    const W = (nh + 2 * nk) * d; // [q ‖ k ‖ v] per row
    const [qkv, attn] = [p.act('qkv'), p.act('attn')];
    const cache = p.kv.buffers[L].kv; // [n_ctx, k ‖ v]
    const R = 2 * nk * d;
    projectRopeStore(p, `${pre}qkv_proj`, x, qkv, cache, { role: 'qkv', W, nq: nh, nk, d, storeWidth: R });
    p.tap('q', L, qkv, nh * d, W, 0);
    p.tap('k', L, qkv, nk * d, W, nh * d);
    p.tap('v', L, qkv, nk * d, W, (nh + nk) * d);
    // One token's query is already dense at the row's start; a prompt's rows need gathering.
    let q = qkv;
    if (!p.decode) {
      q = p.act('q');
      gatherRows(p, { buf: qkv, stride: W }, q, nh * d);
    }
    attend(p, L, q, cache, cache, attn, { hq: nh, hk: nk, hv: nk, dk: d, dv: d, scale: 1 / Math.sqrt(d), kView: { row: R }, vView: { row: R, off: nk * d } });
    linear(p, 'attn_out', `${pre}o_proj`, { buf: attn }, { buf: out }, nh * d, H, { accumulate });
    p.tap('attn_out', L, out, H);
  },
};

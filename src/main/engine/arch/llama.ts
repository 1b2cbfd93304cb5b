// Llama / Qwen2 (MHA, GQA, MQA): q, k, v projections (Qwen2's biases found by name), rotate-half RoPE
// over the whole head, K and V appended to the cache, attention, o_proj.
import type { LlamaConfig } from '../../../shared/arch/config';
import { append, attend, linear, rope } from './blocks';
import type { Family } from './family';

export const llama: Family<LlamaConfig> = {
  rowBuffers: (c) => ({ q: c.numHeads * c.headDim, k: c.numKvHeads * c.headDim, v: c.numKvHeads * c.headDim, attn: c.numHeads * c.headDim }),
  maps: (c) => ({ heads: c.numHeads, dv: c.headDim }),
  attention(p, L, xn, out) {
    const c = p.c as LlamaConfig;
    const { hiddenSize: H, numHeads: nh, numKvHeads: nk, headDim: d } = c;
    const pre = `model.layers.${L}.self_attn.`;
    const [q, k, v, attn] = [p.act('q'), p.act('k'), p.act('v'), p.act('attn')];
    linear(p, 'q', `${pre}q_proj`, { buf: xn }, { buf: q }, H, nh * d);
    linear(p, 'k', `${pre}k_proj`, { buf: xn }, { buf: k }, H, nk * d);
    linear(p, 'v', `${pre}v_proj`, { buf: xn }, { buf: v }, H, nk * d);
    rope(p, { buf: q }, nh, d, d, false);
    rope(p, { buf: k }, nk, d, d, false);
    p.tap('q', L, q, nh * d);
    p.tap('k', L, k, nk * d);
    p.tap('v', L, v, nk * d);
    const cache = p.kv.buffers[L];
    append(p, { buf: k }, cache.k, nk * d, nk * d);
    append(p, { buf: v }, cache.v, nk * d, nk * d);
    attend(p, L, q, cache.k, cache.v, attn, { hq: nh, hk: nk, hv: nk, dk: d, dv: d, scale: 1 / Math.sqrt(d) });
    linear(p, 'attn_out', `${pre}o_proj`, { buf: attn }, { buf: out }, nh * d, H);
    p.tap('attn_out', L, out, H);
  },
};

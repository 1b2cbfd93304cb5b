// MLA (PLM, dense DeepSeek-V2), decoded from the latent cache in absorbed form. Per layer:
//   [q (or q_a) ‖ c ‖ k_rope] = one fused projection of x; with q_lora_rank, q = q_b_proj(RMSNorm(q_a))
//   q: [n, nh, d_nope + d_rope], c: [n, d_c], k_rope: [n, d_rope]
//   interleaved RoPE on q's rope dims and on k_rope; c ← RMSNorm(c); cache row ← [c ‖ k_rope]
//   (576 values for PLM-1.8B): one dispatch (rope_store) for the three
//   q̃_h = [W_UK_hᵀ·q_nope_h ‖ q_rope_h]; attention over the cache rows as 576-wide keys and their
//   first 512 values as values (one shared head), scale 1/sqrt(d_nope + d_rope); o_h = W_UV_h·a_h
//   out = o_proj(o)
// A prompt's first chunk (pos0 = 0, no taps) instead expands K_nope and V per head from the chunk's
// latent rows (one matmul by kv_b_proj) and attends with 192-wide keys and 128-wide values per head:
// far less work than 16 heads over 576-wide keys. The expansion is scratch; the latent cache stays the
// only cache, and later chunks and decode steps take the absorbed path over it. An attention probe
// (analysis) does not change the path: the softmax probabilities are the same in both forms (same
// logits q·k, same scale), attend() taps them in the same [heads, n, pos0+n] layout, and the probe's
// `after` hook sees the buffers attend() actually used (expanded: V = v_exp [n, nh, dv] per head and the
// output [n, nh, dv] before o_proj; absorbed: the latent as one value head and [n, nh, d_c] before the
// up-projection; P·V then W_UV is W_UV applied to P·V either way). A layer the probe leaves alone is
// thus on exactly the path it takes with no probe.
import type { MlaConfig } from '../../../shared/arch/config';
import * as absorbOp from '../ops/attn_mla_absorb_q';
import * as upOp from '../ops/attn_mla_up_v';
import * as ropeStoreOp from '../ops/rope_store';
import { attend, gatherRows, linear, norm, rope, ropeStore, ropeStoreShape, stageRows, type Act, type RopeStoreLayout } from './blocks';
import type { Family } from './family';
import type { Pass } from './pass';

function shape(p: Pass, c: MlaConfig): absorbOp.MlaShape {
  return { n: p.n, nh: c.numHeads, dNope: c.qkNopeHeadDim, dRope: c.qkRopeHeadDim, dV: c.vHeadDim, dC: c.kvLoraRank, wF16: p.wF16 };
}

/** Width of the fused first projection: [q (or q_a) ‖ c ‖ k_rope]. */
function firstWidth(c: MlaConfig): number {
  return (c.qLoraRank ?? c.numHeads * (c.qkNopeHeadDim + c.qkRopeHeadDim)) + c.kvLoraRank + c.qkRopeHeadDim;
}

export const mla: Family<MlaConfig> = {
  rowBuffers: (c) => ({
    first: firstWidth(c),
    q: c.numHeads * (c.qkNopeHeadDim + c.qkRopeHeadDim),
    ...(c.qLoraRank === null ? {} : { q_a_norm: c.qLoraRank }),
    latent: c.kvLoraRank,
    q_absorbed: c.numHeads * (c.kvLoraRank + c.qkRopeHeadDim),
    kv_up: c.numHeads * (c.qkNopeHeadDim + c.vHeadDim),
    k_exp: c.numHeads * (c.qkNopeHeadDim + c.qkRopeHeadDim),
    v_exp: c.numHeads * c.vHeadDim,
    attn: c.numHeads * c.kvLoraRank,
    o: c.numHeads * c.vHeadDim,
  }),
  maps: (c) => ({ heads: c.numHeads, dv: c.kvLoraRank }),
  attention(p, L, x, out, accumulate) {
    const c = p.c as MlaConfig;
    const { hiddenSize: H, numHeads: nh, qkNopeHeadDim: dn, qkRopeHeadDim: dr, kvLoraRank: dc, vHeadDim: dv } = c;
    const pre = `model.layers.${L}.self_attn.`;
    const [first, lat, o] = ['first', 'latent', 'o'].map((n) => p.act(n));
    const W = firstWidth(c);
    const dq = nh * (dn + dr);
    const Q = W - dc - dr; // where [c ‖ k_rope] starts in the fused row
    const row = dc + dr;
    linear(p, 'q_kv_a', `${pre}q_kv_a_proj`, x, { buf: first }, H, W);
    const cache = p.kv.buffers[L].latent; // [n_ctx, d_c + d_rope]
    const lora = c.qLoraRank !== null;
    // The fused row's rope_store layout. Without q_lora_rank q's rope dims turn with k_rope (the row's
    // last dr values); the latent is normalised into the cache.
    const layout: RopeStoreLayout = {
      srcStride: W, rotDim: dr, interleaved: true, dstStride: row,
      q: { heads: lora ? 0 : nh, base: 0, headStride: dn + dr, rotOff: dn },
      k: { heads: 1, base: Q + dc, headStride: dr, rotOff: 0, dst: dc },
      v: { base: Q, width: dc, dst: 0 },
    };
    if (p.fused && !lora) {
      // A decode step: the q absorption's dispatch also does rope_store's work.
      absorbed(p, L, c, first, cache, layout);
    } else {
      // The normalised latent also lands in `lat` (f32, for the expanded prefill and taps).
      ropeStore(p, first, cache, layout, { weight: `${pre}kv_a_layernorm.weight`, out: lat });
      let q: GPUBuffer;
      if (!lora) {
        // One token's query is dense at the row's start; a prompt's rows are gathered.
        q = first;
        if (!p.decode) {
          q = p.act('q');
          gatherRows(p, { buf: first, stride: W }, q, dq);
        }
      } else {
        const qan = p.act('q_a_norm');
        q = p.act('q');
        norm(p, 'q_a_norm', `${pre}q_a_layernorm.weight`, first, qan, { dim: c.qLoraRank!, xStride: W });
        linear(p, 'q', `${pre}q_b_proj`, { buf: qan }, { buf: q }, c.qLoraRank!, dq);
        rope(p, { buf: q }, nh, dn + dr, dr, true, dn);
      }
      p.tap('q', L, q, dq, q === first ? W : dq, 0);
      p.tap('latent', L, lat, dc);
      if (!p.decode && p.pos0 === 0 && !p.tapping) {
        expanded(p, L, c, q, { buf: first, stride: W, offset: Q + dc });
      } else {
        absorbed(p, L, c, q, cache);
      }
    }
    linear(p, 'attn_out', `${pre}o_proj`, { buf: o }, { buf: out }, nh * dv, H, { accumulate });
    p.tap('attn_out', L, out, H);
  },
};

/**
 * Attention over the latent cache in absorbed form (decode, later chunks, taps) → act 'o'. With
 * `storeRow` (a fused decode step, no q_lora_rank: the fused row's rope_store layout), q is the raw fused
 * projection row and the absorption dispatch also does rope_store's work (ops/attn_mla_absorb_q.ts).
 */
function absorbed(p: Pass, L: number, c: MlaConfig, q: GPUBuffer, cache: GPUBuffer, storeRow?: RopeStoreLayout): void {
  const { numHeads: nh, qkNopeHeadDim: dn, qkRopeHeadDim: dr, kvLoraRank: dc, vHeadDim: dv } = c;
  const pre = `model.layers.${L}.self_attn.`;
  const [qt, attn, o] = ['q_absorbed', 'attn', 'o'].map((n) => p.act(n));
  const row = dc + dr;
  const s = shape(p, c);
  const wkvb = p.weight(`${pre}kv_b_proj.weight`);
  const fuse = storeRow
    ? { cache, kv: p.kvFormat, cacheBase: p.pos0 * row, normW: p.weight(`${pre}kv_a_layernorm.weight`), pos: p.pos0, theta: p.c.ropeTheta, eps: p.c.rmsNormEps }
    : undefined;
  absorbOp.recordMlaAbsorbQ(p.rt, { q, w: wkvb, out: qt }, s, fuse);
  p.count('q_absorb', absorbOp.mlaAbsorbQFlops(s), absorbOp.mlaAbsorbQBytes(s));
  if (storeRow) {
    // rope_store's work, done in the same dispatch: counted under its own name as before.
    const st = ropeStoreShape(p, storeRow, true);
    p.count('rope_store', ropeStoreOp.ropeStoreFlops(st), ropeStoreOp.ropeStoreBytes(st));
  }
  attend(p, L, qt, cache, cache, attn, { hq: nh, hk: 1, hv: 1, dk: row, dv: dc, scale: 1 / Math.sqrt(dn + dr), kView: { row }, vView: { row } });
  upOp.recordMlaUpV(p.rt, { a: attn, w: wkvb, out: o }, s);
  p.count('v_up', upOp.mlaUpVFlops(s), upOp.mlaUpVBytes(s));
  p.tap('v_up', L, o, nh * dv);
}

/**
 * A chunk starting at position 0: K_nope and V of every head from its latent rows, then plain causal
 * attention per head with keys [k_nope_h ‖ k_rope] (k_rope roped, shared by all heads) → act 'o'.
 */
function expanded(p: Pass, L: number, c: MlaConfig, q: GPUBuffer, kRope: Act): void {
  const { numHeads: nh, qkNopeHeadDim: dn, qkRopeHeadDim: dr, kvLoraRank: dc, vHeadDim: dv } = c;
  const [lat, up, k, v, o] = ['latent', 'kv_up', 'k_exp', 'v_exp', 'o'].map((n) => p.act(n));
  const dk = dn + dr;
  linear(p, 'kv_up', `model.layers.${L}.self_attn.kv_b_proj`, { buf: lat }, { buf: up }, dc, nh * (dn + dv), { noBias: true });
  // kv_up [n, nh, dn + dv] f32 → k_exp [n, nh, dk] and v_exp [n, nh, dv] in the cache's element format,
  // each (token, head) pair one row of the copy.
  stageRows(p, { buf: up, stride: dn + dv }, k, p.n * nh, dn, dk);
  stageRows(p, { buf: up, stride: dn + dv, offset: dn }, v, p.n * nh, dv, dv);
  for (let h = 0; h < nh; h++) stageRows(p, kRope, k, p.n, dr, nh * dk, h * dk + dn);
  attend(p, L, q, k, v, o, { hq: nh, hk: nh, hv: nh, dk, dv, scale: 1 / Math.sqrt(dk) });
}

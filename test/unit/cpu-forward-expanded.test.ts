// The GTA and MLA CPU forwards against independent, deliberately naive per-head formulations written
// here: every head gets its own expanded values (GTA: the decoder folded into per-token values; MLA:
// per-head K/V from kv_b_proj) and its own softmax, and MLA's RoPE is applied the way the HF code does
// it (de-interleave the rope dims, then rotate-half). Full recompute, no cache.
import { describe, expect, it } from 'vitest';
import { normalizeConfig, type GtaConfig, type MlaConfig, type ModelConfig } from '../../src/shared/arch/config';
import { createCpuModel, type WeightMap } from '../../src/main/engine/cpu/forward';
import { add, embedding, linear, mul, relu2, rmsNorm, ropeRotateHalf, silu, type Vec } from '../../src/main/engine/cpu/ops';
import { loadWeights } from '../../src/main/engine/model/loader';
import { TINY_DSV2, TINY_GTA, TINY_PLM, writeTinyCheckpoint } from '../helpers/checkpoint';

const IDS = [5, 1, 33, 20, 7, 7, 46];

function get(w: WeightMap, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`missing ${name}`);
  return t;
}

function softmax(s: number[]): number[] {
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

function stack(c: ModelConfig, w: WeightMap, ids: number[], attn: (L: number, x: Vec, n: number) => Vec): Float64Array {
  const n = ids.length;
  const { hiddenSize: H, intermediateSize: F } = c;
  let h = embedding(ids, get(w, 'model.embed_tokens.weight'), H);
  for (let L = 0; L < c.numLayers; L++) {
    const p = `model.layers.${L}.`;
    h = add(h, attn(L, rmsNorm(h, get(w, `${p}input_layernorm.weight`), n, H, c.rmsNormEps), n));
    const x = rmsNorm(h, get(w, `${p}post_attention_layernorm.weight`), n, H, c.rmsNormEps);
    const up = linear(x, get(w, `${p}mlp.up_proj.weight`), n, H, F);
    const act = c.mlp === 'relu2' ? relu2(up) : mul(silu(linear(x, get(w, `${p}mlp.gate_proj.weight`), n, H, F)), up);
    h = add(h, linear(act, get(w, `${p}mlp.down_proj.weight`), n, F, H));
  }
  const head = c.tieWordEmbeddings ? get(w, 'model.embed_tokens.weight') : get(w, 'lm_head.weight');
  return linear(rmsNorm(h, get(w, 'model.norm.weight'), n, H, c.rmsNormEps), head, n, H, c.vocabSize);
}

function gtaPerHead(c: GtaConfig, w: WeightMap, ids: number[]): Float64Array {
  const { hiddenSize: H, numHeads: nh, headDim: hd, numQueryHeads: nq, queryDim: dq, numKeyHeads: nk, numValueHeads: nc, valueDim: dl, valueExpand: e } = c;
  const perGroup = nh / nq; // heads sharing one attention map
  return stack(c, w, ids, (L, x, n) => {
    const p = `model.layers.${L}.self_attn.`;
    const q = linear(x, get(w, `${p}q_proj.weight`), n, H, nq * dq, get(w, `${p}q_proj.bias`));
    const k = linear(x, get(w, `${p}k_proj.weight`), n, H, nk * dq, get(w, `${p}k_proj.bias`));
    const lat = linear(x, get(w, `${p}v_proj.weight`), n, H, nc * dl, get(w, `${p}v_proj.bias`));
    const gate = linear(x, get(w, `${p}g_proj.weight`), n, H, H, get(w, `${p}g_proj.bias`));
    const pos = ids.map((_, i) => i);
    ropeRotateHalf(q, n, nq, dq, 0, dq, pos, c.ropeTheta);
    ropeRotateHalf(k, n, nk, dq, 0, dq, pos, c.ropeTheta);
    const wvb = get(w, `${p}v_b_proj.weight`); // raw memory read as [nq, dl, e·dl]
    const out = new Float64Array(n * H);
    for (let j = 0; j < nh; j++) {
      const g = Math.floor(j / perGroup);
      const kh = Math.floor(g / (nq / nk));
      const cg = Math.floor(g / (nq / nc));
      // this head's value at token t, column d: (tile + delta) applied to the latent before attention
      const value = (t: number, d: number): number => {
        const col = (j % perGroup) * hd + d;
        let v = lat[t * nc * dl + cg * dl + (col % dl)];
        for (let r = 0; r < dl; r++) v += lat[t * nc * dl + cg * dl + r] * wvb[(g * dl + r) * e * dl + col];
        return v;
      };
      for (let i = 0; i < n; i++) {
        const scores: number[] = [];
        for (let t = 0; t <= i; t++) {
          let s = 0;
          for (let d = 0; d < dq; d++) s += q[i * nq * dq + g * dq + d] * k[t * nk * dq + kh * dq + d];
          scores.push(s / Math.sqrt(hd));
        }
        const pr = softmax(scores);
        for (let d = 0; d < hd; d++) {
          let o = 0;
          for (let t = 0; t <= i; t++) o += pr[t] * value(t, d);
          const idx = i * H + j * hd + d;
          out[idx] = o / (1 + Math.exp(-gate[idx]));
        }
      }
    }
    return linear(out, get(w, `${p}o_proj.weight`), n, H, H);
  });
}

/** HF's way: gather even then odd rope dims, then rotate-half on the gathered block. */
function hfRope(src: Vec, rowStart: number, dr: number, pos: number, theta: number): number[] {
  const g = new Float64Array(dr);
  for (let i = 0; i < dr / 2; i++) {
    g[i] = src[rowStart + 2 * i];
    g[dr / 2 + i] = src[rowStart + 2 * i + 1];
  }
  ropeRotateHalf(g, 1, 1, dr, 0, dr, [pos], theta);
  return [...g];
}

function mlaPerHead(c: MlaConfig, w: WeightMap, ids: number[]): Float64Array {
  const { hiddenSize: H, numHeads: nh, kvLoraRank: dc, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv } = c;
  const dq = dn + dr;
  return stack(c, w, ids, (L, x, n) => {
    const p = `model.layers.${L}.self_attn.`;
    let q: Vec;
    if (c.qLoraRank === null) q = linear(x, get(w, `${p}q_proj.weight`), n, H, nh * dq);
    else {
      const a = rmsNorm(linear(x, get(w, `${p}q_a_proj.weight`), n, H, c.qLoraRank), get(w, `${p}q_a_layernorm.weight`), n, c.qLoraRank, c.rmsNormEps);
      q = linear(a, get(w, `${p}q_b_proj.weight`), n, c.qLoraRank, nh * dq);
    }
    const kv = linear(x, get(w, `${p}kv_a_proj_with_mqa.weight`), n, H, dc + dr);
    const lat: number[][] = [];
    const kRope: number[][] = [];
    for (let t = 0; t < n; t++) {
      lat.push([...rmsNorm(kv.slice(t * (dc + dr), t * (dc + dr) + dc), get(w, `${p}kv_a_layernorm.weight`), 1, dc, c.rmsNormEps)]);
      kRope.push(hfRope(kv, t * (dc + dr) + dc, dr, t, c.ropeTheta));
    }
    const wkvb = get(w, `${p}kv_b_proj.weight`); // [nh·(dn+dv), dc]
    const up = (h: number, r: number, t: number): number => {
      let s = 0;
      for (let m = 0; m < dc; m++) s += wkvb[(h * (dn + dv) + r) * dc + m] * lat[t][m];
      return s;
    };
    const out = new Float64Array(n * nh * dv);
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < n; i++) {
        const qr = hfRope(q, (i * nh + h) * dq + dn, dr, i, c.ropeTheta);
        const scores: number[] = [];
        for (let t = 0; t <= i; t++) {
          let s = 0;
          for (let r = 0; r < dn; r++) s += q[(i * nh + h) * dq + r] * up(h, r, t);
          for (let r = 0; r < dr; r++) s += qr[r] * kRope[t][r];
          scores.push(s / Math.sqrt(dq));
        }
        const pr = softmax(scores);
        for (let d = 0; d < dv; d++) {
          let o = 0;
          for (let t = 0; t <= i; t++) o += pr[t] * up(h, dn + d, t);
          out[(i * nh + h) * dv + d] = o;
        }
      }
    }
    return linear(out, get(w, `${p}o_proj.weight`), n, nh * dv, H);
  });
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function setup(raw: Record<string, unknown>) {
  const config = normalizeConfig(raw);
  const w = (await loadWeights(writeTinyCheckpoint(raw, { seed: 11, dtype: 'BF16' }), { dtype: 'f32' })).tensors;
  return { config, w };
}

describe('CPU forward vs per-head expanded formulations', () => {
  it.each([
    ['GTA n_q 3, n_k 1, n_c 1, e 2', TINY_GTA],
    ['GTA n_q 6, n_k 2, n_c 3, e 1', { ...TINY_GTA, num_query_heads: 6, num_key_heads: 2, num_value_heads: 3 }],
    ['GTA n_q 2, n_k 1, n_c 2, e 3, 3 heads per group', { ...TINY_GTA, num_query_heads: 2, num_value_heads: 2 }],
    ['GTA query_dim 4 ≠ head_dim 8 (scale uses head_dim)', { ...TINY_GTA, query_dim: 4, key_dim: 4 }],
  ])('%s', async (_n, raw) => {
    const { config, w } = await setup(raw);
    const ref = gtaPerHead(config as GtaConfig, w, IDS);
    expect(maxAbsDiff(createCpuModel(config, w).forward(IDS, 0), ref)).toBeLessThan(1e-10);
  });

  it.each([
    ['PLM (no q_lora, relu2)', TINY_PLM],
    ['DeepSeek-V2 dense (q_lora, SwiGLU, untied)', TINY_DSV2],
  ])('MLA %s, absorbed and expanded', async (_n, raw) => {
    const { config, w } = await setup(raw);
    const ref = mlaPerHead(config as MlaConfig, w, IDS);
    for (const mlaForm of ['absorbed', 'expanded'] as const) {
      expect(maxAbsDiff(createCpuModel(config, w, { mlaForm }).forward(IDS, 0), ref)).toBeLessThan(1e-10);
    }
  });
});

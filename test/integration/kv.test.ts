// KV caches as each variant means them: the bytes each reports (by layer and part, reserved and used)
// equal the analytic formulas, and decoding from the compressed caches (MLA latent + rope key, GTA keys +
// latent) equals decoding with the per-head K/V expanded from them, run through the same GPU kernel.
import { describe, expect, it } from 'vitest';
import { normalizeConfig, type GtaConfig, type MlaConfig, type ModelConfig } from '../../src/shared/arch/config';
import { zooConfig } from '../../src/shared/arch/zoo';
import { kvBytes } from '../../src/shared/formulas';
import { GpuBackend } from '../../src/main/engine/arch/gpu';
import { openBackend } from '../../src/main/engine/backend';
import { mlaExpandKV } from '../../src/main/engine/cpu/attention';
import { GpuKvCache } from '../../src/main/engine/kv/cache';
import { kvShapeOf } from '../../src/main/engine/kv/layout';
import { loadWeights } from '../../src/main/engine/model/loader';
import { fromPairOrder } from '../../src/main/engine/weights/rope_pairs';
import { attnDecodeScratchBytes, recordAttnDecode } from '../../src/main/engine/ops/attn_decode';
import type { GpuRuntime } from '../../src/main/engine/gpu/runtime';
import { gpuRuntime, relL2 } from '../helpers/gpu';
import { TINY_GTA, TINY_LLAMA, TINY_PLM, writeTinyCheckpoint } from '../helpers/checkpoint';

const SHAPES: [string, ModelConfig, number][] = [
  ['GQA-1B', zooConfig('GQA-1B'), 640],
  ['GTA-1B', zooConfig('GTA-1B'), 192],
  ['PLM-1.8B', zooConfig('PLM-1.8B'), 576],
  ['MHA-160M', zooConfig('MHA-160M'), 1536],
  ['MLA-160M', zooConfig('MLA-160M'), 288],
  ['tiny llama', normalizeConfig(TINY_LLAMA), 32],
];

describe('KV cache bytes', () => {
  it.each(SHAPES)('%s reports the formula bytes, by layer and part', async (_name, c, perTokenLayer) => {
    const rt = await gpuRuntime();
    for (const [dtype, b] of [['f16', 2], ['f32', 4]] as const) {
      const nCtx = 48;
      const kv = new GpuKvCache(rt, kvShapeOf(c), dtype, nCtx);
      try {
        expect(kv.layout.elemsPerToken).toBe(perTokenLayer);
        kv.length = 17;
        const r = kv.report();
        const full = kvBytes(c, { bytesPerValue: b, tokens: nCtx });
        const used = kvBytes(c, { bytesPerValue: b, tokens: 17 });
        expect(r.reservedBytes).toBe(full.total);
        expect(r.usedBytes).toBe(used.total);
        expect(r.bytesPerToken).toBe(full.perToken);
        expect(r.byPart.length).toBe(c.numLayers * full.parts.length);
        for (const part of full.parts) {
          const mine = r.byPart.filter((p) => p.part === part.part);
          expect(mine.length, part.part).toBe(c.numLayers);
          expect(mine.reduce((a, p) => a + p.reservedBytes, 0), part.part).toBe(part.total);
          expect(mine.reduce((a, p) => a + p.usedBytes, 0), part.part).toBe(used.parts.find((q) => q.part === part.part)!.total);
        }
        // What the GPU allocated, buffer by buffer, is what the report says.
        const allocated = kv.buffers.reduce((a, l) => a + Object.values(l).reduce((s, buf) => s + buf.size, 0), 0);
        expect(allocated).toBe(full.total);
      } finally {
        kv.destroy();
      }
    }
  });

  it('an engine reports the bytes of the tokens it cached', async () => {
    const dir = writeTinyCheckpoint(TINY_GTA, { seed: 3 });
    const { backend } = await openBackend(dir, { backend: 'gpu', dtype: 'f16', nCtx: 32, runtime: await gpuRuntime() });
    await backend.forward({ ids: [1, 2, 3, 4, 5], logits: 'none' });
    await backend.forward({ ids: [6], logits: 'none' });
    const c = backend.config;
    expect(backend.kvReport().usedBytes).toBe(kvBytes(c, { bytesPerValue: 2, tokens: 6 }).total);
    expect(backend.kvReport().reservedBytes).toBe(kvBytes(c, { bytesPerValue: 2, tokens: 32 }).total);
    backend.dispose();
  });
});

/** f32 values as the bits of an f32 cache (array<u32>). */
function f32Cache(rt: GpuRuntime, x: ArrayLike<number>, label: string): GPUBuffer {
  return rt.upload(Float32Array.from(x), label);
}

/** Decode attention of one query row over expanded per-head caches [t, h, dk] / [t, h, dv]: [h, dv]. */
async function expandedDecode(rt: GpuRuntime, q: Float32Array, k: ArrayLike<number>, v: ArrayLike<number>, s: { t: number; h: number; dk: number; dv: number; scale: number }): Promise<Float32Array> {
  const [qb, kb, vb] = [f32Cache(rt, q, 'q'), f32Cache(rt, k, 'k-expanded'), f32Cache(rt, v, 'v-expanded')];
  const out = rt.buffer(s.h * s.dv * 4, 'out');
  const scratch = rt.buffer(attnDecodeScratchBytes(s.h, s.dv), 'split');
  recordAttnDecode(rt, { q: qb, k: kb, v: vb, out, scratch }, { t: s.t, hq: s.h, hk: s.h, hv: s.h, dk: s.dk, dv: s.dv, scale: s.scale, kv: 'f32' });
  const r = await rt.readF32(out, s.h * s.dv);
  for (const b of [qb, kb, vb, out, scratch]) b.destroy();
  return r;
}

const PROMPT = [5, 9, 2, 44, 17, 30, 8];
const NEXT = 21;

describe('decoding from the compressed caches equals decoding with expanded per-head K/V', () => {
  it('MLA: latent + shared rope key vs per-head K (nope ‖ rope) and V', async () => {
    const rt = await gpuRuntime();
    const dir = writeTinyCheckpoint(TINY_PLM, { seed: 5 });
    const { backend } = await openBackend(dir, { backend: 'gpu', dtype: 'f32', runtime: rt });
    const w = (await loadWeights(dir, { dtype: 'f32' })).tensors;
    const c = backend.config as MlaConfig;
    const { numHeads: nh, qkNopeHeadDim: dn, qkRopeHeadDim: dr, vHeadDim: dv, kvLoraRank: dc } = c;
    await backend.forward({ ids: PROMPT, logits: 'none' });
    const names = Array.from({ length: c.numLayers }, (_, L) => [`q.${L}`, `v_up.${L}`]).flat();
    const { taps } = await backend.forward({ ids: [NEXT], logits: 'none', taps: names });
    const t = PROMPT.length + 1;
    const cache = (backend as GpuBackend).cache;
    for (let L = 0; L < c.numLayers; L++) {
      const latent = await rt.readF32(cache.buffers[L].latent, t * (dc + dr)); // [t, 576-style rows]
      const { k, v } = mlaExpandKV(latent, w.get(`model.layers.${L}.self_attn.kv_b_proj.weight`)!, { n: t, nh, dNope: dn, dRope: dr, dV: dv, dC: dc });
      const o = await expandedDecode(rt, taps[`q.${L}`], k, v, { t, h: nh, dk: dn + dr, dv, scale: 1 / Math.sqrt(dn + dr) });
      expect(relL2(taps[`v_up.${L}`], o), `layer ${L}`).toBeLessThan(1e-5);
    }
    // Per token and layer the cache holds the latent row only, not the nh·(dk + dv) expanded values.
    expect(cache.layout.elemsPerToken).toBe(dc + dr);
    backend.dispose();
  });

  it.each([
    ['n_q 3, n_k 1, n_c 1, e 2', TINY_GTA],
    ['n_q 6, n_k 2, n_c 3, e 1', { ...TINY_GTA, num_query_heads: 6, num_key_heads: 2, num_value_heads: 3 }],
  ])('GTA (%s): keys + latent vs per-group K and decoded V', async (_n, raw) => {
    const rt = await gpuRuntime();
    const dir = writeTinyCheckpoint(raw, { seed: 6 });
    const { backend } = await openBackend(dir, { backend: 'gpu', dtype: 'f32', runtime: rt });
    const w = (await loadWeights(dir, { dtype: 'f32' })).tensors;
    const c = backend.config as GtaConfig;
    const { numQueryHeads: nq, numKeyHeads: nk, keyDim: dk, numValueHeads: nc, valueDim: dl, valueExpand: e, hiddenSize: H } = c;
    await backend.forward({ ids: PROMPT, logits: 'none' });
    const names = Array.from({ length: c.numLayers }, (_, L) => [`q.${L}`, `gate.${L}`, `v_decode.${L}`]).flat();
    const { taps } = await backend.forward({ ids: [NEXT], logits: 'none', taps: names });
    const t = PROMPT.length + 1;
    const cache = (backend as GpuBackend).cache;
    const wd = e * dl; // a group's decoded width
    for (let L = 0; L < c.numLayers; L++) {
      const R = nk * dk + nc * dl;
      const rows = await rt.readF32(cache.buffers[L].kv, t * R); // [t, k ‖ c]
      // The GPU caches keys with each head's dims in rotation-pair order (weights/rope_pairs.ts).
      const cached = Float32Array.from({ length: t * nk * dk }, (_, i) => rows[Math.floor(i / (nk * dk)) * R + (i % (nk * dk))]);
      const keys = fromPairOrder(cached, t, nk, dk);
      const lat = Float32Array.from({ length: t * nc * dl }, (_, i) => rows[Math.floor(i / (nc * dl)) * R + nk * dk + (i % (nc * dl))]);
      const wvb = w.get(`model.layers.${L}.self_attn.v_b_proj.weight`)!; // raw memory read as [nq, dl, e·dl]
      const kx = new Float64Array(t * nq * dk);
      const vx = new Float64Array(t * nq * wd);
      for (let j = 0; j < t; j++) {
        for (let g = 0; g < nq; g++) {
          const kh = Math.floor(g / (nq / nk));
          const vh = Math.floor(g / (nq / nc));
          for (let d = 0; d < dk; d++) kx[(j * nq + g) * dk + d] = keys[(j * nk + kh) * dk + d];
          const cv = lat.subarray((j * nc + vh) * dl, (j * nc + vh + 1) * dl);
          for (let col = 0; col < wd; col++) {
            let acc = cv[col % dl];
            for (let r = 0; r < dl; r++) acc += cv[r] * wvb[(g * dl + r) * wd + col];
            vx[(j * nq + g) * wd + col] = acc;
          }
        }
      }
      const o = await expandedDecode(rt, taps[`q.${L}`], kx, vx, { t, h: nq, dk, dv: wd, scale: 1 / Math.sqrt(c.headDim) });
      const gate = taps[`gate.${L}`];
      const gated = o.map((x, i) => x / (1 + Math.exp(-gate[i])));
      expect(gated.length).toBe(H);
      expect(relL2(taps[`v_decode.${L}`], gated), `layer ${L}`).toBeLessThan(1e-5);
    }
    backend.dispose();
  });
});

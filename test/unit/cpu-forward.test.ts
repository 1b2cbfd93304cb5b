// CPU reference forward passes: prefill then step-by-step decode must equal one full forward, on tiny
// seeded-random checkpoints of every family, loaded through the real safetensors loader.
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/shared/arch/config';
import { ContextLengthError } from '../../src/shared/errors';
import { kvParts } from '../../src/shared/formulas';
import { createCpuModel, type CpuModelOptions, type WeightMap } from '../../src/main/engine/cpu/forward';
import { loadWeights } from '../../src/main/engine/model/loader';
import { TINY_DSV2, TINY_GTA, TINY_LLAMA, TINY_PLM, TINY_QWEN2, writeTinyCheckpoint } from '../helpers/checkpoint';

const GTA_GROUPED = { ...TINY_GTA, num_query_heads: 6, num_key_heads: 2, num_value_heads: 3 }; // e = 1, 3 latent groups
const CASES: [string, Record<string, unknown>, CpuModelOptions?][] = [
  ['llama GQA', TINY_LLAMA],
  ['qwen2 (biases, tied head)', TINY_QWEN2],
  ['plm MLA absorbed', TINY_PLM, { mlaForm: 'absorbed' }],
  ['plm MLA expanded', TINY_PLM, { mlaForm: 'expanded' }],
  ['deepseek-v2 dense MLA with q_lora_rank', TINY_DSV2],
  ['gta (n_q 3, n_k 1, n_c 1, e 2)', TINY_GTA],
  ['gta grouped (n_q 6, n_k 2, n_c 3, e 1)', GTA_GROUPED],
];
const IDS = [3, 17, 0, 42, 8, 8, 25, 11, 39];

async function weightsOf(raw: Record<string, unknown>, seed = 7): Promise<WeightMap> {
  return (await loadWeights(writeTinyCheckpoint(raw, { seed, dtype: 'BF16' }), { dtype: 'f32' })).tensors;
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe.each(CASES)('CPU forward: %s', (_name, raw, opts) => {
  const config = normalizeConfig(raw);
  const V = config.vocabSize;

  it('prefill then step-by-step decode equals one full forward', async () => {
    const w = await weightsOf(raw);
    const full = createCpuModel(config, w, opts).forward(IDS, 0);
    expect(full.length).toBe(IDS.length * V);
    expect(full.every(Number.isFinite)).toBe(true);
    // logits must depend on the input: rows differ, and the spread is not degenerate
    expect(maxAbsDiff(full.subarray(0, V), full.subarray(V, 2 * V))).toBeGreaterThan(1e-3);

    const m = createCpuModel(config, w, opts);
    const k = 4;
    const pre = m.forward(IDS.slice(0, k), 0);
    expect(maxAbsDiff(pre, full.subarray(0, k * V))).toBeLessThan(1e-10);
    for (let i = k; i < IDS.length; i++) {
      const step = m.forward([IDS[i]], i);
      expect(maxAbsDiff(step, full.subarray(i * V, (i + 1) * V)), `token ${i}`).toBeLessThan(1e-10);
    }
    expect(m.length).toBe(IDS.length);
  });

  it('re-prefills from an earlier position and resets', async () => {
    const w = await weightsOf(raw);
    const m = createCpuModel(config, w, opts);
    m.forward([1, 2, 3, 4, 5], 0);
    const edited = m.forward([9, 10], 2); // drop tokens 2.. and continue with other ones
    const fresh = createCpuModel(config, w, opts).forward([1, 2, 9, 10], 0);
    expect(maxAbsDiff(edited, fresh.subarray(2 * V))).toBeLessThan(1e-10);
    m.reset();
    expect(m.length).toBe(0);
    expect(maxAbsDiff(m.forward([1, 2], 0), fresh.subarray(0, 2 * V))).toBeLessThan(1e-10);
  });

  it('caches exactly what the KV formula counts', async () => {
    const m = createCpuModel(config, await weightsOf(raw), opts);
    expect(m.cacheLayout().map((p) => ({ part: p.part, values: p.valuesPerToken }))).toEqual(kvParts(config));
  });

  it('rejects a gap in positions and a context overflow', async () => {
    const m = createCpuModel(config, await weightsOf(raw), opts);
    m.forward([1, 2], 0);
    expect(() => m.forward([3], 5)).toThrow(/pos0 5 must be an integer in \[0, 2\]/);
    expect(() => m.forward(new Array(config.maxPositions).fill(1), 1)).toThrow(ContextLengthError);
    expect(() => m.forward([V], 2)).toThrow(/outside the vocabulary/);
  });
});

describe('CPU forward details', () => {
  it('taps the GPU passes\' named intermediates and the attention maps', async () => {
    const widths: Record<string, Record<string, number>> = {
      llama: { q: 4 * 8, k: 2 * 8, v: 2 * 8, attn: 4 * 8 },
      mla: { q: 4 * 12, latent: 16, attn: 4 * 16 },
      gta: { q: 3 * 8, k: 8, latent: 8, gate: 48, attn: 3 * 8 },
    };
    for (const raw of [TINY_LLAMA, TINY_PLM, TINY_GTA]) {
      const c = normalizeConfig(raw);
      const m = createCpuModel(c, await weightsOf(raw));
      m.forward(IDS.slice(0, 3), 0);
      const seen = new Map<string, number>();
      const maps: { layer: number; probs: Float64Array; shape: { heads: number; n: number; t: number } }[] = [];
      const logits = m.forward(IDS.slice(3, 6), 3, {
        tap: (name, layer, data, width) => {
          expect(data.length).toBe(3 * width);
          seen.set(`${name}.${layer}`, width);
        },
        probs: (layer, probs, shape) => maps.push({ layer, probs, shape }),
      });
      const H = c.hiddenSize;
      for (const [name, width] of Object.entries({ ...widths[c.family], attn_norm: H, attn_out: H, mlp_norm: H, mlp_act: c.intermediateSize, mlp_out: H })) {
        for (let L = 0; L < c.numLayers; L++) expect(seen.get(`${name}.${L}`), `${c.family} ${name}.${L}`).toBe(width);
      }
      expect(seen.get('embed.null')).toBe(H);
      expect(seen.get('final_norm.null')).toBe(H);
      expect(maps.map((x) => x.layer)).toEqual([0, 1]);
      const { heads, n, t } = maps[0].shape;
      expect([n, t]).toEqual([3, 6]);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < n; i++) {
          const row = maps[0].probs.subarray((h * n + i) * t, (h * n + i + 1) * t);
          expect(row.slice(0, 3 + i + 1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
          expect(row.slice(3 + i + 1).every((p) => p === 0)).toBe(true);
        }
      }
      // hooks observe, they do not change the result
      const again = createCpuModel(c, await weightsOf(raw));
      again.forward(IDS.slice(0, 3), 0);
      expect(maxAbsDiff(again.forward(IDS.slice(3, 6), 3), logits)).toBe(0);
    }
  });

  it('MLA absorbed and expanded forms agree', async () => {
    for (const raw of [TINY_PLM, TINY_DSV2]) {
      const c = normalizeConfig(raw);
      const w = await weightsOf(raw, 3);
      const a = createCpuModel(c, w, { mlaForm: 'absorbed' }).forward(IDS, 0);
      const e = createCpuModel(c, w, { mlaForm: 'expanded' }).forward(IDS, 0);
      expect(maxAbsDiff(a, e)).toBeLessThan(1e-10);
    }
  });

  it('uses Qwen2 biases and the tied embedding as the head', async () => {
    const c = normalizeConfig(TINY_QWEN2);
    const w = new Map(await weightsOf(TINY_QWEN2));
    const base = createCpuModel(c, w).forward(IDS, 0);
    const noBias = new Map(w);
    noBias.set('model.layers.0.self_attn.k_proj.bias', new Float32Array(8));
    expect(maxAbsDiff(base, createCpuModel(c, noBias).forward(IDS, 0))).toBeGreaterThan(1e-6);
    const otherHead = new Map(w);
    otherHead.set('lm_head.weight', new Float32Array(c.vocabSize * c.hiddenSize).fill(1)); // ignored: the head is tied
    expect(maxAbsDiff(base, createCpuModel(c, otherHead).forward(IDS, 0))).toBe(0);
  });
});

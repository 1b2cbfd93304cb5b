// Instrumentation of a prompt's prefill: attention probabilities per layer (per head; per shared-map
// group for GTA) equal the CPU reference's softmax over the tapped queries and keys, rows sum to 1 and
// the causal half is zero; named taps come back with their shapes; op counters add up.
import { describe, expect, it } from 'vitest';
import { normalizeConfig, type GtaConfig, type LlamaConfig } from '../../src/shared/arch/config';
import { openBackend } from '../../src/main/engine/backend';
import { groupedAttention } from '../../src/main/engine/cpu/attention';
import { gpuRuntime, maxAbsErr } from '../helpers/gpu';
import { TINY_GTA, TINY_LLAMA, writeTinyCheckpoint } from '../helpers/checkpoint';

const IDS = [7, 1, 30, 12, 44, 3, 19];

function dims(raw: Record<string, unknown>): { hq: number; hk: number; dk: number; scale: number } {
  const c = normalizeConfig(raw);
  if (c.family === 'gta') {
    const g = c as GtaConfig;
    return { hq: g.numQueryHeads, hk: g.numKeyHeads, dk: g.keyDim, scale: 1 / Math.sqrt(g.headDim) };
  }
  const l = c as LlamaConfig;
  return { hq: l.numHeads, hk: l.numKvHeads, dk: l.headDim, scale: 1 / Math.sqrt(l.headDim) };
}

describe.each([
  ['llama GQA (per head)', TINY_LLAMA],
  ['gta (per shared-map group)', TINY_GTA],
])('attention maps: %s', (_name, raw) => {
  it('equal the reference softmax, are causal and normalised', async () => {
    const { backend } = await openBackend(writeTinyCheckpoint(raw, { seed: 4 }), { backend: 'gpu', dtype: 'f32', runtime: await gpuRuntime() });
    const { hq, hk, dk, scale } = dims(raw);
    const n = IDS.length;
    const maps = (await backend.forward({ ids: IDS, logits: 'none', attentionProbs: true })).attention;
    backend.reset();
    const { taps } = await backend.forward({ ids: IDS, logits: 'none', taps: ['q.1', 'k.1'] });
    expect(maps.length).toBe(backend.config.numLayers);
    for (const m of maps) {
      expect([m.heads, m.n, m.t, m.pos0]).toEqual([hq, n, n, 0]);
      for (let h = 0; h < hq; h++) {
        for (let i = 0; i < n; i++) {
          const row = m.probs.subarray((h * n + i) * n, (h * n + i + 1) * n);
          expect(row.slice(0, i + 1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
          expect([...row.slice(i + 1)].every((p) => p === 0)).toBe(true);
        }
      }
    }
    const probs = new Float64Array(hq * n * n);
    groupedAttention(taps['q.1'], taps['k.1'], new Float64Array(n * hk * 2), { n, t: n, hq, hk, hv: hk, dk, dv: 2, scale, pos0: 0, probs });
    expect(maxAbsErr(maps[1].probs, probs)).toBeLessThan(1e-5);
    backend.dispose();
  });
});

it('taps come back [tokens, width] and counters add up per op', async () => {
  const { backend } = await openBackend(writeTinyCheckpoint(TINY_GTA, { seed: 4 }), { backend: 'gpu', dtype: 'f16', runtime: await gpuRuntime() });
  const c = backend.config as GtaConfig;
  const before = backend.counters();
  const { taps } = await backend.forward({ ids: IDS, logits: 'none', taps: ['embed', 'attn_norm.0', 'attn_out.1', 'mlp_out.0', 'latent.0', 'final_norm'] });
  expect(taps['embed'].length).toBe(IDS.length * c.hiddenSize);
  expect(taps['latent.0'].length).toBe(IDS.length * c.numValueHeads * c.valueDim);
  expect(taps['final_norm'].every(Number.isFinite)).toBe(true);
  await expect(backend.forward({ ids: [1], logits: 'none', taps: ['nope.0'] })).rejects.toThrow(/no tap named "nope.0"/);
  const after = backend.counters();
  expect(after.total.calls).toBeGreaterThan(before.total.calls);
  const sum = Object.values(after.byOp).reduce((a, o) => a + o.flops, 0);
  expect(sum).toBe(after.total.flops);
  expect(Object.keys(after.byOp)).toEqual(expect.arrayContaining(['qkcg', 'rope_store', 'attn', 'v_decode', 'attn_out', 'mlp_up', 'mlp_out']));
  backend.dispose();
});

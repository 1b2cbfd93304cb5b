// The engine's attention maps against the PyTorch reference's attention weights on the v1 golden
// fixtures (attention.json, written by tools/reference/make_attention_golden.py): one prefill of the
// prompt from an empty cache, GPU backend with f32 weights, every layer and every map (a head; a query
// group for GTA) within 1e-4 max abs of the reference.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBackend } from '../../src/main/engine/backend';
import { gpuRuntime, maxAbsErr } from '../helpers/gpu';

const ROOT = join(__dirname, '../fixtures/golden/v1');
const CASES = readdirSync(ROOT).filter((d) => !d.includes('.')).sort();
const TOL = 1e-4;

interface AttentionGolden {
  version: number;
  case: string;
  torch: string | null;
  transformers: string | null;
  weights_sha256: string;
  prompt_ids: number[];
  maps_per_layer: number;
  layers: number[][][][]; // [layer][map][query row][key column]
}

it('finds an attention golden for each of the seven cases', () => {
  expect(CASES).toEqual(['gta-mqa', 'gta-multi', 'llama-gqa', 'llama-mha', 'plm', 'plm-qlora', 'qwen2-bias']);
});

describe.each(CASES)('attention maps %s', (name) => {
  const dir = join(ROOT, name);

  it('GPU f32 maps equal the reference attention weights', async () => {
    const a = JSON.parse(readFileSync(join(dir, 'attention.json'), 'utf8')) as AttentionGolden;
    const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as { weights_sha256: string; prompt_ids: number[] };
    expect([a.version, a.case]).toEqual([1, name]);
    expect(a.torch, 'attention.json comes from a torch run, not a numpy dry run').toEqual(expect.any(String));
    // the maps belong to exactly these weights and this prompt
    const sha = createHash('sha256').update(readFileSync(join(dir, 'model.safetensors'))).digest('hex');
    expect(a.weights_sha256).toBe(sha);
    expect(golden.weights_sha256).toBe(sha);
    expect(a.prompt_ids).toEqual(golden.prompt_ids);

    const { backend } = await openBackend(dir, { backend: 'gpu', dtype: 'f32', runtime: await gpuRuntime() });
    try {
      const n = a.prompt_ids.length;
      const maps = (await backend.forward({ ids: a.prompt_ids, logits: 'none', attentionProbs: true })).attention;
      expect(maps.length).toBe(a.layers.length);
      expect(maps.length).toBe(backend.config.numLayers);
      let worst = 0;
      for (let l = 0; l < a.layers.length; l++) {
        const m = maps[l];
        expect([m.layer, m.heads, m.n, m.t, m.pos0]).toEqual([l, a.maps_per_layer, n, n, 0]);
        expect(a.layers[l].length).toBe(a.maps_per_layer);
        for (let h = 0; h < m.heads; h++) {
          const want = a.layers[l][h].flat();
          expect(want.length).toBe(n * n);
          const d = maxAbsErr(m.probs.subarray(h * n * n, (h + 1) * n * n), want);
          expect(d, `layer ${l} map ${h}`).toBeLessThanOrEqual(TOL);
          worst = Math.max(worst, d);
        }
      }
      console.log(`attention golden ${name}: ${a.layers.length} layers x ${a.maps_per_layer} maps, max abs diff ${worst.toExponential(2)}`);
    } finally {
      backend.dispose();
    }
  });
});

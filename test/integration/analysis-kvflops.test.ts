// The KV / FLOPs view of every family on the GPU backend: the cache's own report after the analysed
// prefill equals the analytic bytes (formulas.ts) exactly, part by part and layer by layer; the counted
// attention FLOPs equal the analytic ones (Llama/Qwen2, GTA) or differ by the ratio the note explains
// (MLA: the formula counts per-head K/V, the engine's prefill attends over the same per-head K/V when the
// prompt is one chunk, so they agree too); every flagged difference is written out.
import { describe, expect, it } from 'vitest';
import { kvBytes } from '../../src/shared/formulas';
import { openBackend } from '../../src/main/engine';
import { kvFlopsView } from '../../src/main/services/analysis/kv-flops';
import { gpuRuntime } from '../helpers/gpu';
import { TINY_DSV2, TINY_GTA, TINY_LLAMA, TINY_PLM, TINY_QWEN2, writeTinyCheckpoint } from '../helpers/checkpoint';

const IDS = [3, 9, 1, 44, 17, 5, 28, 11, 2, 40, 7, 13, 21];

describe.each([
  ['llama (GQA)', TINY_LLAMA],
  ['qwen2', TINY_QWEN2],
  ['plm (MLA)', TINY_PLM],
  ['deepseek-v2 style (MLA, q_lora)', TINY_DSV2],
  ['gta', TINY_GTA],
])('KV and FLOPs: %s', (_name, raw) => {
  it('measured KV bytes equal the formula; counted attention FLOPs equal the analytic ones', async () => {
    const { backend } = await openBackend(writeTinyCheckpoint(raw, { seed: 2 }), { backend: 'gpu', dtype: 'f16', runtime: await gpuRuntime() });
    try {
      const v = await kvFlopsView(backend, IDS);
      const c = backend.config;
      const analytic = kvBytes(c, { bytesPerValue: 2, tokens: IDS.length });
      expect(v.measured.tokens).toBe(IDS.length);
      expect(v.measured.kvBytes).toBe(analytic.total);
      for (const p of analytic.parts) {
        expect(v.measured.byPart.filter((b) => b.part === p.part).reduce((a, b) => a + b.bytes, 0), p.part).toBe(p.total);
      }
      expect(v.measured.byPart.map((b) => b.layer).filter((l, i, a) => a.indexOf(l) === i)).toEqual(Array.from({ length: c.numLayers }, (_, l) => l));
      expect(v.notes.filter((n) => n.includes('cache reports'))).toEqual([]);
      expect(v.counted.attention).toBeGreaterThan(0);
      expect(Math.abs(v.counted.attention / v.analytic.attention - 1)).toBeLessThan(0.01);
      expect(v.counted.linear).toBeGreaterThan(0);
      // The analytic curve reaches the model's context and holds the analysed length.
      expect(v.curve.at(-1)!.tokens).toBe(c.maxPositions);
      expect(v.curve.some((p) => p.tokens === IDS.length)).toBe(true);
      // Any linear difference over 1 % is written out with the ops it counted.
      const lin = Math.abs(v.counted.linear / v.analytic.linear - 1);
      expect(v.notes.some((n) => n.startsWith('Counted linear FLOPs'))).toBe(lin > 0.01);
    } finally {
      backend.dispose();
    }
  });
});

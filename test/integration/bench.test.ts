// The benchmark end to end on the test adapter (lavapipe in CI), tiny shapes and contexts: GPU-filled
// random weights of a config's shapes, prefill and decode figures, floors from the measured bandwidth,
// per-op timestamps where the adapter has them.
import { describe, expect, it } from 'vitest';
import { normalizeConfig, type GtaConfig } from '../../src/shared/arch/config';
import { weightSpec } from '../../src/shared/arch/spec';
import { GpuBackend } from '../../src/main/engine/arch/gpu';
import { runBench } from '../../src/main/engine/instrument/bench';
import { measureReadBandwidth } from '../../src/main/engine/instrument/bandwidth';
import { fusedGroups } from '../../src/main/engine/weights/fuse';
import { randomWeights } from '../../src/main/engine/weights/random';
import { gpuRuntime } from '../helpers/gpu';
import { TINY_GTA } from '../helpers/checkpoint';

describe('bench', () => {
  it('fills random weights on the GPU: every spec tensor, finite, spread, norms at 1', async () => {
    const rt = await gpuRuntime();
    const c = normalizeConfig(TINY_GTA);
    const w = await randomWeights(rt, c, 'f32', 3);
    // Every spec tensor is there, under its own name or inside its fused projection.
    const fused = fusedGroups(c, (n) => n.endsWith('.bias'));
    for (const s of weightSpec(c).filter((t) => t.required)) {
      const group = fused.find((g) => g.parts.includes(s.name));
      expect(w.tensors.has(group ? group.name : s.name), s.name).toBe(true);
    }
    expect(w.tensors.get('lm_head.weight')).toBe(w.tensors.get('model.embed_tokens.weight'));
    const q = await rt.readF32(w.tensors.get('model.layers.0.self_attn.qkcg_proj.weight')!);
    const bound = 1 / Math.sqrt(c.hiddenSize);
    expect(q.every((x) => Number.isFinite(x) && Math.abs(x) <= bound)).toBe(true);
    expect(new Set(q).size).toBeGreaterThan(q.length * 0.9);
    expect([...(await rt.readF32(w.tensors.get('model.norm.weight')!))].every((x) => x === 1)).toBe(true);
  });

  it('measures bandwidth, prefill, decode with floors, and per-op times on tiny shapes', async () => {
    const rt = await gpuRuntime();
    const bw = await measureReadBandwidth(rt, 16 << 20, 2, 1);
    expect(bw.gbPerS).toBeGreaterThan(0);
    const c = normalizeConfig(TINY_GTA) as GtaConfig;
    const w = await randomWeights(rt, c, 'f16');
    const b = new GpuBackend(rt, c, w, { nCtx: 64, device: 'test' });
    try {
      const r = await runBench(b, 'tiny', w.bytes, { prefill: [8], contexts: [4, 40], steps: 3, fill: 'fast', profile: true, bandwidthBytes: 16 << 20 });
      expect(r.prefill[0].tokPerS).toBeGreaterThan(0);
      expect(r.decode.map((d) => d.context)).toEqual([4, 40]);
      for (const d of r.decode) {
        expect(d.tokPerS).toBeGreaterThan(0);
        expect(d.floorMsPerToken).toBeCloseTo(d.minBytesPerToken / (r.readBandwidth.gbPerS * 1e6), 9);
        expect(d.countedBytesPerToken).toBeGreaterThan(w.bytes * 0.9);
      }
      // A longer context reads more cache per token.
      expect(r.decode[1].minBytesPerToken - r.decode[0].minBytesPerToken).toBe(36 * r.kv.bytesPerToken);
      expect(r.kv.valuesPerTokenLayer).toBe(c.numKeyHeads * c.keyDim + c.numValueHeads * c.valueDim);
      if (rt.device.features.has('timestamp-query')) {
        expect(Array.isArray(r.opTimes)).toBe(true);
        const ops = (r.opTimes as Exclude<typeof r.opTimes, string>)[0].ops.map((o) => o.op);
        expect(ops).toEqual(expect.arrayContaining(['attn_decode', 'attn_gta_decode_v']));
      } else {
        expect(typeof r.opTimes).toBe('string');
      }
    } finally {
      b.dispose();
    }
  });
});

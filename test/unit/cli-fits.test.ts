// The fit check bench and analysis-bench run before any GPU work: the largest buffer an arch needs
// (from its config's weight shapes) against the adapter's binding limits, with a message that names the
// limit and the way out.
import { describe, expect, it } from 'vitest';
import { ARCHS, tinyArchs } from '../../src/main/cli/bench';
import { assertFits, kvLayerBuffer, largestWeightBuffer, misfit } from '../../src/main/cli/fits';

const LAVAPIPE = { maxStorageBufferBindingSize: 134217728, maxBufferSize: 4294967295 };
const H100 = { maxStorageBufferBindingSize: 4294967292, maxBufferSize: 4294967296 };

describe('CLI fit check', () => {
  it("finds PLM-1.8B's embedding as its largest buffer: 151,936 × 2,048 f16", () => {
    const b = largestWeightBuffer(ARCHS['plm-1.8b'](), 'f16');
    expect(b).toEqual({ name: 'model.embed_tokens.weight', bytes: 151936 * 2048 * 2 });
    expect(largestWeightBuffer(ARCHS['plm-1.8b'](), 'f32').bytes).toBe(151936 * 2048 * 4);
  });

  it('counts fused projections whole', () => {
    const c = ARCHS['tiny-gqa']();
    // tiny: vocab 2048 × 256 embedding (1 MiB f16) beats gate_up 2 × 512 × 256; check the fused one is seen.
    const b = largestWeightBuffer({ ...c, vocabSize: 8 }, 'f16');
    expect(b.name).toBe('model.layers.0.mlp.gate_up_proj.weight');
    expect(b.bytes).toBe(2 * 512 * 256 * 2);
  });

  it('published shapes do not fit lavapipe; tiny ones do; all fit an H100', () => {
    for (const a of ['plm-1.8b', 'gta-1b', 'gqa-1b']) expect(misfit(ARCHS[a](), 'f16', 8226, LAVAPIPE)).toMatch(/maxStorageBufferBindingSize 128 MiB/);
    for (const t of tinyArchs()) expect(misfit(t.config, 'f16', 8226, LAVAPIPE)).toBeNull();
    for (const a of Object.keys(ARCHS)) expect(misfit(ARCHS[a](), 'f16', 8226, H100)).toBeNull();
  });

  it('the message names the tensor, the limit and the way out', () => {
    const run = () => assertFits([{ name: 'plm-1.8b', config: ARCHS['plm-1.8b']() }], 'f16', 8226, LAVAPIPE, 'mesa / llvmpipe (vulkan)', { alternatives: tinyArchs() });
    expect(run).toThrow(/plm-1\.8b: model\.embed_tokens\.weight needs 594 MiB \(622,329,856 bytes, f16\)/);
    expect(run).toThrow(/maxStorageBufferBindingSize 128 MiB/);
    expect(run).toThrow(/--arch tiny-gqa,tiny-gta,tiny-plm/);
    expect(run).toThrow(/a smaller model/);
    expect(run).not.toThrow(/workbench bug/);
  });

  it('a KV cache too long for one binding names the flag that shortens it', () => {
    const c = ARCHS['tiny-gqa']();
    const kv = kvLayerBuffer(c, 1 << 20, 'f16');
    expect(kv.bytes).toBeGreaterThan(LAVAPIPE.maxStorageBufferBindingSize);
    expect(() => assertFits([{ name: 'tiny-gqa', config: c }], 'f16', 1 << 20, LAVAPIPE, 'lavapipe', { kvFlag: 'smaller --contexts' })).toThrow(/KV cache .* use smaller --contexts/);
  });
});
